"""Comparing a recorded or re-encoded signal with its reference at the best time offset."""

from __future__ import annotations

import numpy as np


def best_correlation(recorded: np.ndarray, reference: np.ndarray) -> float:
    """Pearson r between `reference` and the stretch of `recorded` it lines up with best
    (`recorded` may start earlier and be longer, as a recording or a codec's priming is)."""
    assert len(recorded) >= len(reference), "the recording is shorter than the reference"
    size = 2 * len(recorded)
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(reference, size))
    lag = int(np.argmax(np.fft.irfft(spectrum, size)[: len(recorded) - len(reference) + 1]))
    return float(np.corrcoef(recorded[lag : lag + len(reference)], reference)[0, 1])
