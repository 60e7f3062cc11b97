"""What every synthesizer wrapper returns and takes, so the corpus treats them alike."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatarcam.audio.resample import resample_whole
from avatarcam.constants import SAMPLE_RATE
from avatarcam.errors import AvatarcamError
from avatarcam.train.phonemes import Phone, pad_to

INSTALL_HINT = "run install/system-packages.sh"
NOMINAL_WPM = 175  # speaking rate each engine uses when not told otherwise


class SynthesizerMissingError(AvatarcamError):
    """A speech synthesizer needed for the corpus is not installed."""


@dataclass(frozen=True)
class Style:
    """How one utterance is spoken: rate in words per minute, pitch and loudness."""

    rate_wpm: int
    pitch: float  # 0 low … 1 high, within what the engine allows
    loudness: float  # linear amplitude factor applied to the engine's output


@dataclass(frozen=True)
class SpokenText:
    """One utterance: 16 kHz mono speech and the phones that cover it end to end."""

    samples: npt.NDArray[np.float32]
    phones: tuple[Phone, ...]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / SAMPLE_RATE


def require_program(program: str, package: str) -> str:
    """The path of `program`, or `SynthesizerMissingError` saying how to install it."""
    path = shutil.which(program)
    if path is None:
        raise SynthesizerMissingError(
            f"{program} is not installed, so its training speech cannot be made; "
            f"{INSTALL_HINT} (Debian/Ubuntu: apt install {package})."
        )
    return path


def spoken(samples: npt.NDArray[np.floating], rate: int, phones: list[Phone], style: Style) -> SpokenText:
    """Engine output at its own `rate` as a `SpokenText` at 16 kHz with `style`'s loudness."""
    audio = resample_whole(np.asarray(samples, dtype=np.float32), rate) * np.float32(style.loudness)
    return SpokenText(audio.astype(np.float32), tuple(pad_to(phones, len(audio) / SAMPLE_RATE)))
