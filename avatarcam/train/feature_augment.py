"""Speaker and microphone variety added to cached log-mel features while training.

The corpus has a few dozen synthetic voices; users have their own vocal tract and their own
microphone. Two changes to a window's features stand in for what the corpus lacks:

- a vocal-tract length warp (VTLP, Jaitly & Hinton 2013): every frequency scaled by one
  factor, which moves the formants as a longer or shorter vocal tract would;
- a spectral tilt: a gain that rises or falls linearly in dB across the bands, as
  microphones and rooms colour the voice.

Both act on log10 mel power, so they need no audio and run on the cached features.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from avatarcam.audio.features import band_edges_mel, hz_to_mel, mel_to_hz
from avatarcam.constants import FEATURES_PER_MOTION_FRAME, N_MELS
from avatarcam.motion.model import SILENCE_FEATURE

Floats = npt.NDArray[np.float32]
DB_PER_LOG10 = 10.0  # log10 power to decibels


BAND_CENTRES_MEL = band_edges_mel()[1:-1]  # each mel band's centre on the mel scale


def warp_positions(factors: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """For each factor, the fractional source band (N_MELS,) each output band reads from:
    a factor above 1 moves energy up in frequency, as a shorter vocal tract does."""
    factors = np.asarray(factors, dtype=np.float64)[:, None]
    source_hz = mel_to_hz(BAND_CENTRES_MEL)[None, :] / factors
    return np.interp(hz_to_mel(source_hz), BAND_CENTRES_MEL, np.arange(N_MELS, dtype=np.float64))


def _bands_at(bands: Floats, index: npt.NDArray[np.int64]) -> Floats:
    """`bands` (B, R, N_MELS) read at per-window band indices `index` (B, N_MELS)."""
    return np.take_along_axis(bands, np.broadcast_to(index[:, None, :], bands.shape), axis=2)


def augment_windows(features: Floats, factors: npt.ArrayLike, tilts_db: npt.ArrayLike) -> Floats:
    """Windows (B, T, FEATURES_PER_MOTION_FRAME * N_MELS) warped by `factors` (B,) and tilted
    by `tilts_db` (B,): the top band gains that many dB against the bottom one. Digital
    silence stays silence."""
    batch, frames, width = features.shape
    bands = features.reshape(batch, frames * FEATURES_PER_MOTION_FRAME, N_MELS)
    positions = warp_positions(factors)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, N_MELS - 1)
    share = (positions - low).astype(np.float32)[:, None, :]
    warped = _bands_at(bands, low) * (1.0 - share) + _bands_at(bands, high) * share
    ramp = np.linspace(-0.5, 0.5, N_MELS, dtype=np.float32)[None, None, :]
    slope = (np.asarray(tilts_db, dtype=np.float32) / DB_PER_LOG10)[:, None, None]
    tilted = np.maximum(warped + slope * ramp, SILENCE_FEATURE)
    out = np.where(bands > SILENCE_FEATURE, tilted, bands)
    return out.reshape(batch, frames, width).astype(np.float32)
