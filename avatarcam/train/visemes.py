"""Mouth-field targets from timed phones: a viseme per phoneme, blended over time with
Cohen–Massaro dominance functions so neighbouring sounds shape each other (coarticulation)
while bilabials still close the lips and pauses close the mouth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from avatarcam.train.phonemes import BILABIALS, PHONEMES, SILENCE, VOWELS, Phone

MOUTH_FIELDS = ("jaw_open", "lip_press", "mouth_wide", "mouth_round", "upper_lip_raise")

# Viseme per phoneme: jaw_open, lip_press, mouth_wide, mouth_round, upper_lip_raise.
# Every consonant's jaw sits below the narrowest vowel's (0.3), so each syllable shows a
# visible jaw cycle: with the jaw of t/d/n close to that of iy, a third of the syllables
# of the session-8 targets showed no opening at all.
VISEMES: dict[str, tuple[float, float, float, float, float]] = {
    SILENCE: (0.0, 0.0, 0.0, 0.0, 0.0),
    "aa": (0.75, 0.0, 0.15, 0.0, 0.1), "ae": (0.65, 0.0, 0.45, 0.0, 0.15),
    "ah": (0.5, 0.0, 0.2, 0.05, 0.05), "ao": (0.6, 0.0, 0.0, 0.5, 0.0),
    "aw": (0.6, 0.0, 0.1, 0.35, 0.05), "ay": (0.6, 0.0, 0.35, 0.0, 0.1),
    "eh": (0.5, 0.0, 0.45, 0.0, 0.1), "er": (0.38, 0.0, 0.1, 0.4, 0.1),
    "ey": (0.45, 0.0, 0.55, 0.0, 0.1), "ih": (0.38, 0.0, 0.5, 0.0, 0.05),
    "iy": (0.3, 0.0, 0.8, 0.0, 0.05), "ow": (0.45, 0.0, 0.0, 0.75, 0.0),
    "oy": (0.45, 0.0, 0.1, 0.6, 0.0), "uh": (0.38, 0.0, 0.05, 0.5, 0.0),
    "uw": (0.3, 0.0, 0.0, 0.9, 0.0),
    "m": (0.0, 0.9, 0.1, 0.0, 0.0), "b": (0.0, 1.0, 0.1, 0.0, 0.0), "p": (0.0, 1.0, 0.1, 0.0, 0.0),
    "f": (0.1, 0.3, 0.2, 0.0, 0.35), "v": (0.1, 0.3, 0.2, 0.0, 0.3),
    "th": (0.1, 0.0, 0.3, 0.0, 0.15), "dh": (0.1, 0.0, 0.3, 0.0, 0.15),
    "s": (0.04, 0.0, 0.4, 0.0, 0.1), "z": (0.04, 0.0, 0.4, 0.0, 0.1),
    "sh": (0.08, 0.0, 0.0, 0.55, 0.2), "zh": (0.08, 0.0, 0.0, 0.55, 0.2),
    "ch": (0.08, 0.0, 0.0, 0.5, 0.2), "jh": (0.08, 0.0, 0.0, 0.5, 0.2),
    "t": (0.08, 0.0, 0.3, 0.0, 0.05), "d": (0.08, 0.0, 0.3, 0.0, 0.05),
    "n": (0.08, 0.0, 0.3, 0.0, 0.05), "l": (0.12, 0.0, 0.25, 0.0, 0.05),
    "k": (0.14, 0.0, 0.2, 0.0, 0.05), "g": (0.14, 0.0, 0.2, 0.0, 0.05),
    "ng": (0.14, 0.0, 0.2, 0.0, 0.05), "hh": (0.3, 0.0, 0.2, 0.0, 0.05),
    "r": (0.1, 0.0, 0.0, 0.35, 0.1), "w": (0.06, 0.0, 0.0, 0.9, 0.0),
    "y": (0.08, 0.0, 0.6, 0.0, 0.05),
}

# Dominance: (strength, decay per second beyond the phone's edges). Bilabials and
# rounding must win at their centre; weak consonants take their neighbours' shape. Vowels
# and consonants fade within 17–25 ms of their edges (1/decay), so the jaw still reaches a
# consonant between two vowels at 120 ms syllables instead of hanging halfway.
DOMINANCE_BILABIAL = (20.0, 80.0)
DOMINANCE_LABIAL = (4.0, 40.0)  # f v w: the lips have to reach them
DOMINANCE_VOWEL = (1.0, 40.0)
DOMINANCE_CONSONANT = (1.0, 60.0)
DOMINANCE_WEAK = (0.15, 25.0)  # hh: shaped entirely by the vowel after it
DOMINANCE_SILENCE = (1.5, 25.0)
LABIALS = frozenset({"f", "v", "w"})

assert set(VISEMES) == PHONEMES, "every project phoneme has a viseme"


def dominance_parameters(name: str) -> tuple[float, float]:
    """How strongly and how far a phoneme pulls the mouth toward its viseme."""
    if name in BILABIALS:
        return DOMINANCE_BILABIAL
    if name in LABIALS:
        return DOMINANCE_LABIAL
    if name in VOWELS:
        return DOMINANCE_VOWEL
    if name == SILENCE:
        return DOMINANCE_SILENCE
    if name == "hh":
        return DOMINANCE_WEAK
    return DOMINANCE_CONSONANT


def mouth_targets(phones: Sequence[Phone], times: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """Mouth fields (columns in `MOUTH_FIELDS` order) at `times` seconds.

    Each phone's dominance is flat over the phone and decays exponentially outside it;
    the mouth is the dominance-weighted mean of the phones' visemes.
    """
    starts = np.array([p.start for p in phones])
    ends = np.array([p.end for p in phones])
    strength, decay = np.array([dominance_parameters(p.name) for p in phones]).T
    targets = np.array([VISEMES[p.name] for p in phones])
    outside = np.maximum(0.0, np.maximum(starts[None, :] - times[:, None], times[:, None] - ends[None, :]))
    weights = strength[None, :] * np.exp(-decay[None, :] * outside)
    return ((weights @ targets) / weights.sum(axis=1, keepdims=True)).astype(np.float32)
