"""Streaming resampling to the front end's 16 kHz with libsoxr's band-limited filter."""

from __future__ import annotations

import numpy as np
import soxr

from avatarcam.constants import RESAMPLE_QUALITY, SAMPLE_RATE


class StreamingResampler:
    """Converts successive chunks from `in_rate` to `out_rate` as one continuous signal;
    output sample k lies at input time k / out_rate minus the filter's small delay."""

    def __init__(self, in_rate: int, out_rate: int = SAMPLE_RATE, quality: str = RESAMPLE_QUALITY) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = None if in_rate == out_rate else soxr.ResampleStream(
            in_rate, out_rate, 1, dtype="float32", quality=quality
        )

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next piece of the signal; `last=True` flushes the filter tail."""
        if self._stream is None:
            return samples.astype(np.float32, copy=False)
        return self._stream.resample_chunk(samples.astype(np.float32, copy=False), last=last)


def resample_whole(samples: np.ndarray, in_rate: int, out_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a whole signal at once (offline paths and tests)."""
    if in_rate == out_rate:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples.astype(np.float32, copy=False), in_rate, out_rate, quality=RESAMPLE_QUALITY)
