"""Typed audio chunks: samples that carry their rate and the capture time of their first sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioChunk:
    """Mono float32 samples in [-1, 1] at `rate` Hz; `start_time` is the monotonic-clock
    time (seconds, `time.monotonic()`) at which the first sample was captured, so latency
    downstream is measured against the microphone rather than guessed."""

    samples: np.ndarray  # shape (n,), float32
    rate: int
    start_time: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate

    @property
    def end_time(self) -> float:
        """Capture time just after the last sample."""
        return self.start_time + self.duration

    def time_of(self, index: int) -> float:
        """Capture time of sample `index` within this chunk."""
        return self.start_time + index / self.rate
