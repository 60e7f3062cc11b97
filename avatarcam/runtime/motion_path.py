"""The engine's way from audio blocks to motion frames: the front end (resampling, VAD,
log-mel) and the motion model, fed one block at a time.

`LocalMotion` does the work in the thread that feeds it; `motion_process.MotionProcess`
does the same work in a process of its own, so that its Python time does not hold the
interpreter lock the render thread needs (docs/benchmarks.md, session 15).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.motion.stream import MotionFrame, MotionStreamer

Preset = tuple[np.ndarray, np.ndarray]  # (target, weight), each (NUM_FIELDS,)
# Told the motion frames one block made (possibly none) and whether the VAD heard speech.
Deliver = Callable[[Sequence[MotionFrame], bool], None]


class MotionPath(Protocol):
    """Audio blocks in, motion frames out through the `deliver` given to `open`."""

    name: str  # what runs the motion model, for the start-up line

    def open(self, deliver: Deliver) -> None: ...  # noqa: D102 - documented on LocalMotion
    def feed(self, chunk: AudioChunk, preset: Preset | None) -> None: ...  # noqa: D102
    def close(self) -> None: ...  # noqa: D102


class MotionPipeline:
    """The front end and the motion stream, block by block; the front end follows the
    blocks' rate (silence fill runs at 16 kHz, a microphone at its own)."""

    def __init__(self, streamer: MotionStreamer) -> None:
        self.streamer = streamer
        self.frontend: AudioFrontend | None = None

    def process(self, chunk: AudioChunk, preset: Preset | None) -> tuple[list[MotionFrame], bool]:
        """The motion frames `chunk` completes and whether it was speech."""
        if self.frontend is None or self.frontend.in_rate != chunk.rate:
            self.frontend = AudioFrontend(chunk.rate, align_windows_to_blocks=True)
        step = self.frontend.process(chunk)
        if preset is not None:
            self.streamer.set_preset(*preset)
        return self.streamer.push(step), step.speech


class LocalMotion:
    """The motion path in the feeding thread (tests, and tools that want one process)."""

    def __init__(self, streamer: MotionStreamer) -> None:
        self.pipeline = MotionPipeline(streamer)
        self.name = streamer.runner.name
        self._deliver: Deliver | None = None

    def open(self, deliver: Deliver) -> None:
        """Start delivering frames to `deliver`."""
        self._deliver = deliver

    def feed(self, chunk: AudioChunk, preset: Preset | None) -> None:
        """Turn one block into motion and deliver it before returning."""
        frames, speech = self.pipeline.process(chunk, preset)
        if self._deliver is not None:
            self._deliver(frames, speech)

    def close(self) -> None:
        """Nothing to stop: the work happened in the caller."""
        self._deliver = None
