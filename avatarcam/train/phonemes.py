"""One project phoneme set (ARPAbet plus silence) and the maps into it from each
synthesizer's own phone names, so viseme targets never depend on which engine spoke."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from avatarcam.errors import AvatarcamError

SILENCE = "sil"

VOWELS = frozenset({
    "aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw",
})
CONSONANTS = frozenset({
    "b", "ch", "d", "dh", "f", "g", "hh", "jh", "k", "l", "m", "n", "ng", "p", "r", "s", "sh",
    "t", "th", "v", "w", "y", "z", "zh",
})
PHONEMES = VOWELS | CONSONANTS | {SILENCE}
BILABIALS = frozenset({"m", "b", "p"})

# CMU/radio phones (flite, festival) that are not already project phonemes.
_ARPABET_ALIASES = {
    "pau": SILENCE, "h#": SILENCE, "brth": SILENCE, "#": SILENCE, "_": SILENCE,
    "ax": "ah", "axr": "er", "ix": "ih", "dx": "d", "nx": "n", "el": "l", "em": "m",
    "en": "n", "hv": "hh", "h": "hh",
}

# espeak-ng's English phoneme mnemonics (phsource/ph_english and its accent variants).
_ESPEAK = {
    "_": SILENCE, "_:": SILENCE, "_!": SILENCE, "_|": SILENCE, "_^_": SILENCE, "": SILENCE,
    "a": "ae", "a#": "ah", "a2": "ae", "aa": "aa", "A:": "aa", "A@": "aa", "A": "aa",
    "0": "aa", "O": "ao", "O:": "ao", "O@": "ao", "o@": "ao", "o": "ow", "oU": "ow",
    "OI": "oy", "aI": "ay", "aI@": "ay", "aI3": "ay", "aU": "aw", "aU@": "aw",
    "@": "ah", "@2": "ah", "@5": "ah", "@L": "ah", "V": "ah", "3": "er", "3:": "er",
    "e": "eh", "E": "eh", "E2": "eh", "E#": "eh", "e@": "eh", "eI": "ey",
    "i": "iy", "i:": "iy", "i@": "iy", "i@3": "iy", "I": "ih", "I#": "ih", "I2": "ih",
    "I@": "ih", "U": "uh", "U@": "uh", "u": "uw", "u:": "uw",
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g", "f": "f", "v": "v",
    "s": "s", "z": "z", "h": "hh", "m": "m", "n": "n", "l": "l", "r": "r", "w": "w",
    "j": "y", "T": "th", "D": "dh", "S": "sh", "Z": "zh", "tS": "ch", "dZ": "jh", "N": "ng",
    "t#": "d", "t[": "t", "d[": "d", "n-": "n", "l/": "l", "l/2": "l", "L": "l", "r-": "r",
    "?": "t", "x": "k", "w#": "w", "hw": "w", "C": "hh",
}


# espeak marks that modify the phoneme before them (palatalised, syllabic, stress) rather
# than being sounds of their own; their time belongs to that phoneme.
ESPEAK_MODIFIERS = frozenset({";", "'", ",", "%", "=", "#", ":"})


class UnknownPhoneError(AvatarcamError, KeyError):
    """A synthesizer produced a phone name this module has no mapping for."""


@dataclass(frozen=True)
class Phone:
    """One project phoneme spoken from `start` to `end` seconds into its audio."""

    name: str
    start: float
    end: float

    @property
    def centre(self) -> float:
        """The middle of the phone, where its articulation is fullest."""
        return 0.5 * (self.start + self.end)


def from_arpabet(name: str) -> str:
    """The project phoneme for a flite/festival (CMU radio set) phone name."""
    key = name.strip().lower().rstrip("012")
    if key in PHONEMES:
        return key
    if key in _ARPABET_ALIASES:
        return _ARPABET_ALIASES[key]
    raise UnknownPhoneError(f"the CMU phone {name!r} has no project phoneme; add it to phonemes.py.")


def from_espeak(name: str) -> str:
    """The project phoneme for an espeak-ng English phoneme mnemonic.

    Accent variants add suffixes (digits, '#', '/', ';') to base phonemes, so an unknown
    name falls back to its longest known prefix.
    """
    for end in range(len(name), 0, -1):
        if name[:end] in _ESPEAK:
            return _ESPEAK[name[:end]]
    if not name or name.startswith("_"):
        return SILENCE
    raise UnknownPhoneError(f"the espeak phoneme {name!r} has no project phoneme; add it to phonemes.py.")


def from_end_times(names: Sequence[str], ends: Sequence[float], start: float = 0.0) -> list[Phone]:
    """Phones from names and end times (flite `-psdur`, festival Segment `end`), each
    starting where the previous one ends."""
    phones: list[Phone] = []
    previous = start
    for name, end in zip(names, ends):
        if end > previous:
            phones.append(Phone(name, previous, end))
            previous = end
    return phones


def merge_silences(phones: Iterable[Phone]) -> list[Phone]:
    """`phones` with adjacent silences joined, so a pause is one segment."""
    merged: list[Phone] = []
    for phone in phones:
        if merged and phone.name == SILENCE and merged[-1].name == SILENCE:
            merged[-1] = Phone(SILENCE, merged[-1].start, phone.end)
        else:
            merged.append(phone)
    return merged


def pad_to(phones: list[Phone], duration: float) -> list[Phone]:
    """`phones` covering exactly 0..`duration` s: gaps at either end filled with silence,
    the last phone clipped at `duration`."""
    covered = [p for p in phones if p.start < duration]
    if not covered or covered[0].start > 0.0:
        first_end = covered[0].start if covered else duration
        covered.insert(0, Phone(SILENCE, 0.0, first_end))
    last = covered[-1]
    if last.end > duration:
        covered[-1] = Phone(last.name, last.start, duration)
    elif last.end < duration:
        covered.append(Phone(SILENCE, last.end, duration))
    return merge_silences(covered)
