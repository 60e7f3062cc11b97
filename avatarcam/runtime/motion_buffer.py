"""Timestamped motion frames between the motion thread and the render thread.

Motion arrives at 25 fps, or up to 100 with sub-steps (motion/sub_steps.py), in bursts;
frames leave at the output rate. The render thread asks for the face at a capture-clock
instant a little behind the newest frame (see `PlaybackClock`), and gets it interpolated
between the two frames around that instant, so bursts and the 25→30 fps change never show
as judder.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from avatarcam.motion.space import Vector, interpolate

KEEP_FRAMES = 200  # two seconds of motion with four frames per 40 ms: far more than the playback delay


@dataclass(frozen=True)
class ShownMotion:
    """The motion to draw for one output frame."""

    vector: Vector  # (NUM_FIELDS,)
    time: float  # capture-clock instant it depicts (older than asked for when held)
    speech: bool  # the VAD's decision at that instant
    held: bool  # True when the instant asked for was newer than every frame


class MotionBuffer:
    """A bounded, thread-safe window of the newest motion frames."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque(maxlen=KEEP_FRAMES)
        self._vectors: deque[np.ndarray] = deque(maxlen=KEEP_FRAMES)
        self._speech: deque[bool] = deque(maxlen=KEEP_FRAMES)

    def add(self, time: float, vector: np.ndarray, speech: bool) -> None:
        """Append one frame; frames must come in time order (an older one is ignored)."""
        with self._lock:
            if self._times and time <= self._times[-1]:
                return
            self._times.append(time)
            self._vectors.append(np.asarray(vector, np.float32))
            self._speech.append(speech)

    @property
    def newest_time(self) -> float | None:
        """Capture instant of the newest frame, None before the first."""
        with self._lock:
            return self._times[-1] if self._times else None

    def at(self, instant: float) -> ShownMotion | None:
        """The face at `instant`: interpolated inside the window, the newest frame held
        beyond it, the oldest before it; None while empty."""
        with self._lock:
            if not self._times:
                return None
            times = np.fromiter(self._times, np.float64, len(self._times))
            vectors = np.stack(self._vectors)
            speech = list(self._speech)
        if instant >= times[-1]:
            return ShownMotion(vectors[-1], float(times[-1]), speech[-1], held=bool(instant > times[-1]))
        if instant <= times[0]:
            return ShownMotion(vectors[0], float(times[0]), speech[0], held=False)
        vector = interpolate(times, vectors, np.array([instant]))[0]
        nearest = int(np.argmin(np.abs(times - instant)))
        return ShownMotion(vector, instant, speech[nearest], held=False)


class PlaybackClock:
    """Which capture instant to show at each output tick: now minus a playback delay that
    follows how late motion really arrives (a jitter buffer), so the instant asked for is
    nearly always inside the motion window (interpolated, smooth) and no later than needed."""

    def __init__(self, min_delay_s: float, max_delay_s: float, quantile: float = 0.95,
                 window: int = 150) -> None:
        self.min_delay_s, self.max_delay_s = min_delay_s, max_delay_s
        self.quantile = quantile
        self._lags: deque[float] = deque(maxlen=window)
        self.delay_s = max_delay_s  # until measured, err toward smooth

    def observe(self, now: float, newest: float | None) -> None:
        """Record how far the newest motion frame lags the wall clock at one tick."""
        if newest is None:
            return
        self._lags.append(now - newest)
        measured = float(np.quantile(np.fromiter(self._lags, np.float64), self.quantile))
        self.delay_s = min(self.max_delay_s, max(self.min_delay_s, measured))

    def instant(self, now: float) -> float:
        """The capture instant to show at `now`."""
        return now - self.delay_s
