"""An audio file replayed as if it came from a microphone: same chunks, same timestamps.

Paced at real time it drives the realtime pipeline (demo, e2e benchmark); unpaced it runs
the same code path as fast as the CPU allows (offline dumps, `avatarcam vad`).
"""

from __future__ import annotations

import time
from pathlib import Path

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.decode import decode_audio_file
from avatarcam.constants import CAPTURE_BLOCK_MS


class FileSource:
    """Yields a decoded file in capture-sized blocks stamped on the monotonic clock."""

    def __init__(self, path: str | Path, realtime: bool = False, block_ms: int = CAPTURE_BLOCK_MS) -> None:
        """Decodes the whole file now, so bad input fails before anything starts."""
        decoded = decode_audio_file(path)
        self.rate = decoded.rate
        self._samples = decoded.samples
        self._block_ms = block_ms
        self._blocks = 0  # blocks read so far
        self._realtime = realtime
        self._pos = 0
        self._t0: float | None = None

    @property
    def duration(self) -> float:
        """Length of the file in seconds."""
        return len(self._samples) / self.rate

    @property
    def finished(self) -> bool:
        """True once every sample has been read."""
        return self._pos >= len(self._samples)

    def start(self) -> None:
        """Fix time zero: sample k is 'captured' at start time + k / rate."""
        self._t0 = time.monotonic()

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next block; when paced, waits until the block's last sample is 'captured'."""
        if self._t0 is None:
            self.start()
        if self.finished:
            return None
        assert self._t0 is not None
        # block k ends at the sample nearest k whole blocks of time, as a microphone's do,
        # also where a block is not a whole number of samples (22.05 kHz)
        end = min(((self._blocks + 1) * self.rate * self._block_ms + 500) // 1000, len(self._samples))
        if self._realtime:
            wait = self._t0 + end / self.rate - time.monotonic()
            if timeout is not None and wait > timeout:
                time.sleep(max(0.0, timeout))
                return None
            if wait > 0:
                time.sleep(wait)
        chunk = AudioChunk(self._samples[self._pos : end], self.rate, self._t0 + self._pos / self.rate)
        self._pos = end
        self._blocks += 1
        return chunk

    def stop(self) -> None:
        """Mark the file as fully read."""
        self._pos = len(self._samples)
