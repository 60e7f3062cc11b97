"""Log-mel features, computed incrementally as audio arrives or over a whole signal at once.

Frame i covers samples [i * HOP_LENGTH, i * HOP_LENGTH + WIN_LENGTH) of the 16 kHz signal,
with no centring padding, so a frame depends only on audio already captured (causal) and
the streaming and offline results are the same numbers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from avatarcam.constants import (
    HOP_LENGTH,
    LOG_MEL_FLOOR,
    MEL_FMAX_HZ,
    MEL_FMIN_HZ,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    WIN_LENGTH,
)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def band_edges_mel(n_mels: int = N_MELS, fmin: float = MEL_FMIN_HZ, fmax: float = MEL_FMAX_HZ) -> np.ndarray:
    """The n_mels + 2 edges of the triangular mel bands on the mel scale: band i rises from
    edge i, peaks at edge i + 1 (its centre) and falls to edge i + 2."""
    return np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)


@lru_cache(maxsize=4)
def mel_filterbank(
    n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE,
    fmin: float = MEL_FMIN_HZ, fmax: float = MEL_FMAX_HZ,
) -> np.ndarray:
    """Triangular filters equally spaced in mel, each of unit area, shape (n_mels, n_fft//2+1)."""
    edges_hz = mel_to_hz(band_edges_mel(n_mels, fmin, fmax))
    bins_hz = np.arange(n_fft // 2 + 1) * rate / n_fft
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bins_hz[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    triangles *= (2.0 / (upper - lower))
    triangles.setflags(write=False)
    return triangles.astype(np.float32)


@lru_cache(maxsize=1)
def analysis_window() -> np.ndarray:
    """Periodic Hann window of WIN_LENGTH samples."""
    n = np.arange(WIN_LENGTH)
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / WIN_LENGTH)).astype(np.float32)
    window.setflags(write=False)
    return window


def log_mel_frames(frames: np.ndarray) -> np.ndarray:
    """Log10 mel power of windowed frames, shape (n, WIN_LENGTH) → (n, N_MELS) float32."""
    spectrum = np.fft.rfft(frames * analysis_window(), n=N_FFT, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return np.log10(np.maximum(power @ mel_filterbank().T, LOG_MEL_FLOOR)).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Features of a whole 16 kHz signal at once: shape (n_frames, N_MELS)."""
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < WIN_LENGTH:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, WIN_LENGTH)[::HOP_LENGTH]
    return log_mel_frames(frames)


class StreamingLogMel:
    """Turns 16 kHz audio arriving in pieces of any size into the same frames `log_mel`
    gives for the whole signal, each emitted as soon as its window is complete."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)  # samples from the next frame's start on
        self.frames_emitted = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Append samples; return the frames completed by them, shape (k, N_MELS)."""
        self._pending = np.concatenate((self._pending, np.asarray(samples, dtype=np.float32)))
        features = log_mel(self._pending)
        consumed = len(features) * HOP_LENGTH
        self._pending = self._pending[consumed:]
        self.frames_emitted += len(features)
        return features

    def reset(self) -> None:
        """Forget buffered audio, e.g. after a gap in capture."""
        self._pending = np.zeros(0, dtype=np.float32)
        self.frames_emitted = 0
