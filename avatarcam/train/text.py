"""Generated English sentences whose words between them cover every English phoneme,
so the motion model sees each mouth shape in many contexts; deterministic by seed."""

from __future__ import annotations

import numpy as np

# Words chosen so each phoneme (including rare ones: zh, oy, th, ng, uh) appears often.
NOUNS = (
    "baby", "book", "boat", "bubble", "mother", "father", "brother", "people", "paper", "apple",
    "morning", "moment", "music", "museum", "window", "water", "weather", "wood", "woman", "moon",
    "room", "school", "shoe", "juice", "cheese", "beach", "teacher", "machine", "garage", "vision",
    "measure", "treasure", "television", "boy", "voice", "choice", "toy", "coin", "noise", "house",
    "mouth", "cloud", "town", "flower", "thing", "thought", "theatre", "birthday", "bath", "feather",
    "king", "ring", "song", "morning", "evening", "garden", "kitchen", "chicken", "bridge", "judge",
    "yellow", "yard", "year", "question", "answer", "computer", "camera", "picture", "meeting",
    "team", "problem", "project", "number", "budget", "report", "office", "market", "money",
    "village", "island", "mountain", "river", "forest", "road", "car", "bus", "train", "plane",
    "phone", "letter", "story", "idea", "reason", "result", "office", "summer", "winter", "autumn",
    "hour", "minute", "week", "month", "family", "friend", "neighbour", "doctor", "lawyer",
    "pilot", "farmer", "player", "singer", "dog", "cat", "horse", "bird", "fish", "zebra",
)
VERBS_PAST = (
    "bought", "brought", "played", "pushed", "pulled", "moved", "made", "met", "missed",
    "watched", "washed", "wanted", "visited", "found", "thought", "took", "threw", "caught",
    "opened", "closed", "painted", "measured", "enjoyed", "joined", "changed", "checked",
    "carried", "cooked", "loved", "liked", "called", "heard", "saw", "knew", "used", "chose",
    "broke", "fixed", "sold", "showed", "shared", "learned", "remembered", "forgot", "booked",
)
VERBS_BASE = (
    "buy", "bring", "play", "push", "pull", "move", "make", "meet", "miss", "watch", "wash",
    "visit", "find", "think", "take", "throw", "catch", "open", "close", "paint", "measure",
    "enjoy", "join", "change", "check", "carry", "cook", "love", "call", "hear", "see", "use",
    "choose", "fix", "sell", "show", "share", "learn", "remember", "build", "borrow", "keep",
)
ADJECTIVES = (
    "big", "small", "blue", "brown", "purple", "pink", "beautiful", "boring", "busy", "cheap",
    "huge", "smooth", "rough", "quiet", "noisy", "happy", "hungry", "sleepy", "early", "usual",
    "unusual", "modern", "simple", "strange", "young", "old", "warm", "cool", "cold", "foolish",
    "clever", "polite", "proud", "loyal", "royal", "lazy", "easy", "heavy", "empty", "thirsty",
    "thick", "thin", "sharp", "bright", "dark", "golden", "wooden", "open", "lovely", "pleasant",
)
ADVERBS = (
    "quickly", "slowly", "really", "maybe", "probably", "usually", "always", "never", "often",
    "sometimes", "perhaps", "yesterday", "tomorrow", "today", "tonight", "finally", "honestly",
)
NAMES = (
    "Mary", "Bob", "Peter", "Emma", "Paul", "Judy", "George", "Joyce", "Martha", "Theo",
    "Ruth", "Zoe", "Yusuf", "Bill", "Mike", "Sophie", "Charlotte", "Hugh", "Oliver", "Maya",
)
PREPOSITIONS = ("in", "on", "under", "behind", "near", "beside", "above", "through", "by", "with")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")
PLACES = ("at home", "at work", "in the park", "by the sea", "in the city", "on the bus")

# `{x}` slots are filled from the word lists above; commas and full stops make pauses.
TEMPLATES = (
    "The {adj} {noun} {past} the {noun2} {prep} the {noun3}.",
    "{name} {past} a {adj} {noun} {place}.",
    "Did {name} {base} the {noun} {adv}?",
    "I think we should {base} the {adj} {noun} before the {noun2}.",
    "{adv}, my {noun} {past} {num} {adj} {noun2}s.",
    "Please {base} the {noun} and {base2} the {noun2}.",
    "Why would anyone {base} a {adj} {noun} {place}?",
    "{name} and {name2} {past} the {noun} {adv}.",
    "We {adv} {base} our {noun}s {prep} the {noun2}, but not today.",
    "Oh, what a {adj} {noun}!",
    "My {noun} was {adj}, and the {noun2} was even more {adj2}.",
    "You can {base} it, or you can {base2} the {adj} {noun} {place}.",
    "Yes, {name}, the {noun} is {adj}.",
    "There were {num} {noun}s and a {adj} {noun2} {prep} the {noun3}.",
    "How much would you pay for a {adj} {noun}?",
    "Honestly, I never {past} the {noun} {prep} your {noun2}.",
)


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    """One word drawn uniformly."""
    return words[int(rng.integers(len(words)))]


def sentence(rng: np.random.Generator) -> str:
    """One sentence from a random template with random words."""
    template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    return template.format(
        adj=_pick(rng, ADJECTIVES), adj2=_pick(rng, ADJECTIVES), noun=_pick(rng, NOUNS),
        noun2=_pick(rng, NOUNS), noun3=_pick(rng, NOUNS), past=_pick(rng, VERBS_PAST),
        base=_pick(rng, VERBS_BASE), base2=_pick(rng, VERBS_BASE), adv=_pick(rng, ADVERBS),
        name=_pick(rng, NAMES), name2=_pick(rng, NAMES), prep=_pick(rng, PREPOSITIONS),
        num=_pick(rng, NUMBERS), place=_pick(rng, PLACES),
    )


def utterance(rng: np.random.Generator, max_sentences: int = 2) -> str:
    """What one speaker says before pausing: one or a few sentences."""
    count = int(rng.integers(1, max_sentences + 1))
    return " ".join(sentence(rng) for _ in range(count))


def word_count(text: str) -> int:
    """Words in `text`, for estimating how long it takes to say."""
    return len(text.split())
