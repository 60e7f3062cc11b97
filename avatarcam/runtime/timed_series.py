"""Time-stamped measurements kept compactly for a whole run.

A live session runs for hours and records a motion arrival every 10 ms and a render every
frame; as Python tuples that came to about 50 MB an hour. Two arrays of doubles hold the
same at 16 bytes a record.
"""

from __future__ import annotations

import bisect
from array import array

import numpy as np


class TimedSeries:
    """(wall-clock time, value) records, appended in time order."""

    def __init__(self) -> None:
        self.times = array("d")
        self.values = array("d")

    def __len__(self) -> int:
        return len(self.times)

    def append(self, at: float, value: float) -> None:
        """Record `value` measured at `at` (no earlier than the last record)."""
        self.times.append(at)
        self.values.append(value)

    def values_since(self, since: float) -> np.ndarray:
        """The values recorded at or after `since`."""
        return np.asarray(self.values[bisect.bisect_left(self.times, since):], np.float64)

    def recent_times(self, count: int) -> np.ndarray:
        """When the last `count` records were made."""
        return np.asarray(self.times[-count:], np.float64)

    def as_array(self) -> np.ndarray:
        """All records as (n, 2) rows of (time, value)."""
        return np.stack((np.asarray(self.times, np.float64), np.asarray(self.values, np.float64)), axis=1)
