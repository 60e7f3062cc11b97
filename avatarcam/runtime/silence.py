"""Silent audio standing in for a microphone that is gone (or a file that has ended), so
the motion model keeps producing idle motion and the recording keeps its timeline."""

from __future__ import annotations

import math

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.constants import CAPTURE_BLOCK_MS


class SilenceFiller:
    """Silent blocks on the capture clock from where the real audio stopped up to now."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._block = max(1, rate * CAPTURE_BLOCK_MS // 1000)
        self._next: float | None = None  # capture time the next silent block starts at
        self._filled = False  # whether silence stands in for audio since the last real block

    def trim(self, chunk: AudioChunk) -> AudioChunk | None:
        """`chunk` less the samples captured before the silence already fed in their place
        ends (a microphone back from a loss can deliver audio from that time), or None when
        none is left; the stream downstream must only move forward in time."""
        if not self._filled or self._next is None or chunk.start_time >= self._next:
            return chunk
        skip = math.ceil((self._next - chunk.start_time) * chunk.rate)
        if skip >= len(chunk.samples):
            return None
        return AudioChunk(chunk.samples[skip:], chunk.rate, chunk.time_of(skip))

    def heard(self, chunk: AudioChunk) -> None:
        """Real audio arrived: silence, if needed again, continues after it at its rate."""
        self._next, self._filled = chunk.end_time, False
        if chunk.rate != self.rate:
            self.rate = chunk.rate
            self._block = max(1, chunk.rate * CAPTURE_BLOCK_MS // 1000)

    def fill(self, now: float) -> list[AudioChunk]:
        """Silent blocks covering the time from the last audio to `now`."""
        if self._next is None:
            self._next = now
        chunks = []
        span = self._block / self.rate
        while self._next + span <= now:
            chunks.append(AudioChunk(np.zeros(self._block, np.float32), self.rate, self._next))
            self._next += span
        self._filled = self._filled or bool(chunks)
        return chunks
