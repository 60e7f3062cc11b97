"""Per-motion-frame pitch (F0) and loudness measured from speech audio, which drive the
prosody-correlated head motion as a real speaker's nods and tilts follow their voice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatarcam.constants import SAMPLE_RATE, SAMPLES_PER_MOTION_FRAME

F0_MIN_HZ = 60.0
F0_MAX_HZ = 400.0
WINDOW = 2 * SAMPLES_PER_MOTION_FRAME  # 80 ms: two periods of the lowest F0 and then some
VOICING_THRESHOLD = 0.45  # normalised autocorrelation peak above which a frame is voiced
SILENCE_DB = -55.0  # frames quieter than this (dBFS) are neither voiced nor loud


@dataclass(frozen=True)
class Prosody:
    """F0 in Hz (0 where unvoiced) and level in dBFS, one value per motion frame."""

    f0_hz: npt.NDArray[np.float32]
    level_db: npt.NDArray[np.float32]


def _frames(samples: npt.NDArray[np.float32], count: int) -> npt.NDArray[np.float32]:
    """`count` windows of `WINDOW` samples centred on the motion frame times."""
    half = WINDOW // 2
    padded = np.pad(samples, (half, half + count * SAMPLES_PER_MOTION_FRAME))
    starts = np.arange(count) * SAMPLES_PER_MOTION_FRAME
    return np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[starts]


def measure(samples: npt.NDArray[np.float32], count: int) -> Prosody:
    """F0 by autocorrelation and level by RMS for motion frames 0..`count`-1."""
    frames = _frames(np.asarray(samples, dtype=np.float32), count)
    frames = frames - frames.mean(axis=1, keepdims=True)
    level_db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    spectrum = np.fft.rfft(frames * np.hanning(WINDOW), n=2 * WINDOW, axis=1)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :WINDOW]
    low, high = int(SAMPLE_RATE / F0_MAX_HZ), int(SAMPLE_RATE / F0_MIN_HZ)
    # Dividing by the window's own autocorrelation undoes the taper's bias to short lags.
    taper = np.correlate(np.hanning(WINDOW), np.hanning(WINDOW), "full")[WINDOW - 1:][low:high]
    normalised = autocorr[:, low:high] / (autocorr[:, :1] + 1e-12) / (taper / taper[0])
    lag = np.argmax(normalised, axis=1)
    voiced = (normalised[np.arange(count), lag] > VOICING_THRESHOLD) & (level_db > SILENCE_DB)
    f0 = np.where(voiced, SAMPLE_RATE / (lag + low), 0.0)
    return Prosody(f0.astype(np.float32), level_db.astype(np.float32))
