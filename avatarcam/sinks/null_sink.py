"""A sink that keeps no frames, only counts them: for benchmarks and headless runs."""

from __future__ import annotations

import numpy as np


class NullSink:
    """Counts frames and remembers the capture-time span they cover."""

    name = "null"

    def __init__(self) -> None:
        """Start with nothing counted."""
        self.frames = 0
        self.first_time_s: float | None = None  # capture time of the first frame
        self.last_time_s: float | None = None  # capture time of the latest frame

    def send(self, frame: np.ndarray, time_s: float) -> None:
        """Count `frame`; its pixels are not looked at."""
        self.frames += 1
        if self.first_time_s is None:
            self.first_time_s = time_s
        self.last_time_s = time_s

    def close(self) -> None:
        """Nothing to release."""
