"""Fixed-size ring buffer between the audio callback (producer) and the front end (consumer).

The callback must never block or allocate buffers, so memory is reserved up front and the
producer and consumer each own one index (single producer, single consumer, no lock: under
CPython an int store is atomic). When the consumer falls behind, incoming samples are
dropped and counted, never silently lost.
"""

from __future__ import annotations

import threading

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.constants import CLOCK_JITTER_S


class AudioRing:
    """Mono samples with a capture timestamp per sample, for one writer and one reader."""

    def __init__(self, rate: int, capacity: int, max_block: int) -> None:
        """`capacity` samples are kept; `max_block` is the largest block `write` accepts."""
        if capacity < 2 * max_block:
            raise ValueError("the ring must hold at least two blocks")
        self.rate = rate
        self.capacity = capacity
        self._samples = np.zeros(capacity, dtype=np.float32)
        self._times = np.zeros(capacity, dtype=np.float64)
        self._offsets = np.arange(max_block, dtype=np.float64) / rate
        self._written = 0  # total samples ever written; owned by the producer
        self._read = 0  # total samples ever read; owned by the consumer
        self._next_time = -1.0  # capture time the next block continues from
        self._data_ready = threading.Event()
        self.overflow_samples = 0  # samples dropped because the reader fell behind
        self.overflow_events = 0  # number of blocks that were (partly) dropped

    def available(self) -> int:
        """Samples written and not yet read."""
        return self._written - self._read

    def write(self, block: np.ndarray, first_sample_time: float) -> None:
        """Producer side: append `block` (shape (n,) float32) captured starting at
        `first_sample_time`. Drops what does not fit and counts it."""
        n = len(block)
        if self._next_time >= 0 and first_sample_time - self._next_time <= CLOCK_JITTER_S:
            # Callback timestamps jitter, and on a busy machine a late callback can even date
            # its block before the previous one ended; the sample clock is kept contiguous.
            first_sample_time = self._next_time
        self._next_time = first_sample_time + n / self.rate
        free = self.capacity - (self._written - self._read)
        if n > free:
            self.overflow_samples += n - free
            self.overflow_events += 1
            self._next_time = -1.0  # the dropped tail breaks continuity
            n = free
            if n == 0:
                return
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._samples[start : start + first] = block[:first]
        np.add(self._offsets[:first], first_sample_time, out=self._times[start : start + first])
        if first < n:
            rest = n - first
            self._samples[:rest] = block[first:n]
            np.add(self._offsets[first:n], first_sample_time, out=self._times[:rest])
        self._written += n
        self._data_ready.set()

    def read(self, max_samples: int, timeout: float | None = None) -> AudioChunk | None:
        """Consumer side: up to `max_samples` samples (at least one) as a chunk, waiting up
        to `timeout` seconds for data; None when nothing arrived in time."""
        if self.available() == 0:
            self._data_ready.clear()
            if self.available() == 0 and not self._data_ready.wait(timeout):
                return None
        n = self._contiguous_run(min(max_samples, self.available()))
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        if first == n:
            samples = self._samples[start : start + n].copy()
        else:
            samples = np.concatenate((self._samples[start:], self._samples[: n - first]))
        start_time = float(self._times[start])
        self._read += n
        return AudioChunk(samples=samples, rate=self.rate, start_time=start_time)

    def _contiguous_run(self, n: int) -> int:
        """The longest prefix of the next `n` unread samples with no time gap inside, so a
        chunk never spans samples dropped by an overflow or a reopened device."""
        idx = (self._read + np.arange(n)) % self.capacity
        times = self._times[idx]
        expected = times[0] + np.arange(n) / self.rate
        gaps = np.flatnonzero(np.abs(times - expected) > 0.5 / self.rate)
        return int(gaps[0]) if len(gaps) else n

    def wake(self) -> None:
        """Release a reader blocked in `read` (used when the source stops)."""
        self._data_ready.set()
