"""Output ticks placed just after motion frames arrive, when the two run at the same rate.

A frame's latency is the age of the motion it shows plus its rendering. Motion frames come
every 40 ms; an output tick at an arbitrary phase finds the newest one anywhere from 0 to
40 ms old, 20 ms on average. At 25 fps output, the rate of the motion, every tick can
instead come just after a motion frame is ready: the schedule is slid, a millisecond per
tick at most so the frame rate stays steady, until nearly all frames (PHASE_QUANTILE) have
arrived MARGIN_S before their tick. At other rates the two grids beat against each other
(at 30 fps the newest motion is 0, 7, 13, 20, 27 and 33 ms old in turn whatever the phase),
so the schedule is left alone.
"""

from __future__ import annotations

import numpy as np

from avatarcam.constants import MOTION_FPS
from avatarcam.runtime.timed_series import TimedSeries

PHASE_FRAMES = 50  # the recent motion arrivals the phase is set from (two seconds)
PHASE_QUANTILE = 0.9  # share of motion frames that should be ready before their tick
MARGIN_S = 0.002  # and by how much, for the render thread to wake and look
MAX_SHIFT_S = 0.001  # the most a tick moves from its place one period after the last
MIN_ARRIVALS = 10  # arrivals needed before the schedule is moved at all


def ticks_align_with_motion(fps: float) -> bool:
    """Whether output ticks at `fps` can each fall just after a 25 fps motion frame."""
    return abs(fps - MOTION_FPS) < 1e-6


class TickPhase:
    """Where the next output tick should fall, given when motion frames have been arriving."""

    def __init__(self, fps: float) -> None:
        self.period_s = 1.0 / fps
        self.enabled = ticks_align_with_motion(fps)

    def shift(self, next_tick: float, arrivals: TimedSeries) -> float:
        """How far (s) to move `next_tick` so that recent motion frames land just before
        ticks; `arrivals` are when each frame was ready (with its lag), as
        `RunStats.motion_arrivals` keeps them. 0 when not enabled."""
        if not self.enabled or len(arrivals) < MIN_ARRIVALS:
            return 0.0
        half = self.period_s / 2.0
        recent = arrivals.recent_times(PHASE_FRAMES)
        offsets = (recent - next_tick + half) % self.period_s - half  # arrival relative to a tick, ±half period
        wanted = float(np.quantile(offsets, PHASE_QUANTILE)) + MARGIN_S
        return float(np.clip(wanted, -MAX_SHIFT_S, MAX_SHIFT_S))
