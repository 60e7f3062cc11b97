"""The three speech engines behind one call, their voices, and which of them are held
out of training so evaluation hears voices the model never learnt from."""

from __future__ import annotations

from collections.abc import Sequence

from avatarcam.train import espeak_synth, festival_synth, flite_synth
from avatarcam.train.speech import SpokenText, Style, require_program

VOICES: dict[str, tuple[str, ...]] = {
    "espeak": espeak_synth.VOICES,
    "flite": flite_synth.VOICES,
    "festival": festival_synth.VOICES,
}
SHARE = {"espeak": 0.55, "flite": 0.35, "festival": 0.1}  # of the corpus's items

HELD_OUT_SYNTH = "festival"
HELD_OUT_VOICES: dict[str, tuple[str, ...]] = {
    "espeak": ("en-gb-scotland", "en-gb-scotland+m3", "en-029+f3", "en-us+f4"),
    "flite": ("rms",),
}

assert set(SHARE) == set(VOICES) and HELD_OUT_SYNTH in VOICES
assert all(set(v) <= set(VOICES[s]) for s, v in HELD_OUT_VOICES.items()), "held-out voices exist"


def is_held_out(synth: str, voice: str) -> bool:
    """Whether speech from this synth and voice is for evaluation only."""
    return synth == HELD_OUT_SYNTH or voice in HELD_OUT_VOICES.get(synth, ())


def check_installed() -> None:
    """Raise `SynthesizerMissingError` naming the first engine that is not installed."""
    espeak_synth.engine()
    require_program("flite", "flite")
    require_program("festival", "festival festvox-kallpc16k")


def speak(synth: str, voice: str, texts: Sequence[str], styles: Sequence[Style]) -> list[SpokenText]:
    """Each of `texts` spoken by `synth`'s `voice` in the matching style."""
    if synth == "espeak":
        return [espeak_synth.engine().speak(t, voice, s) for t, s in zip(texts, styles)]
    if synth == "flite":
        return [flite_synth.speak(t, voice, s) for t, s in zip(texts, styles)]
    if synth == "festival":
        return festival_synth.speak_batch(texts, voice, styles)
    raise ValueError(f"unknown synthesizer {synth!r}; choose from {', '.join(VOICES)}")
