"""How many motion frames per 40 ms the machine has time for, decided while running.

Sub-steps (motion/sub_steps.py) make the newest motion at a tick younger, for about a fifth
of a core at four per 40 ms. That pays while the renderer has time to spare. When it has
none (frames take nearly the whole period, so the render workers overlap and every core is
busy) the same CPU time makes every frame slower and costs dropped frames: on the 2-core VM
rendering at about 50 ms a frame, four per 40 ms gave 150-320 drops in 35 s where one gave
6-35 (docs/benchmarks.md). So the count steps down while renders are slow, and back up
once they are quick again.
"""

from __future__ import annotations

import numpy as np

from avatarcam.motion.sub_steps import SUB_STEP_CHOICES
from avatarcam.runtime.timed_series import TimedSeries

BUSY_SHARE = 0.9  # median render over the window at this share of the period or more: no time to spare
CALM_SHARE = 0.6  # under this share: time to spare again
WINDOW_S = 2.0  # the recent renders judged
MIN_RENDERS = 20  # judge only on at least this many
HOLD_S = 4.0  # the least time between two changes, so each is judged by its own effect


class SubStepGovernor:
    """Steps the motion frames made per 40 ms between 1 and the most the stream allows."""

    def __init__(self, fps: float, most: int) -> None:
        """`most` is the stream's configured sub-step count (`StreamConfig.sub_steps`)."""
        self.period_s = 1.0 / fps
        self.levels = [n for n in SUB_STEP_CHOICES if most % n == 0]
        self._level = len(self.levels) - 1
        self._changed_at: float | None = None

    @property
    def count(self) -> int:
        """The frames per 40 ms to make now."""
        return self.levels[self._level]

    def update(self, now: float, render_times: TimedSeries) -> int | None:
        """The new count when the recent render times call for one, else None."""
        if self._changed_at is None:  # the first renders are slow anyway: hold from the start
            self._changed_at = now
        if now - self._changed_at < HOLD_S:
            return None
        recent = render_times.values_since(now - WINDOW_S)
        if len(recent) < MIN_RENDERS:
            return None
        share = float(np.median(recent)) / self.period_s
        if share >= BUSY_SHARE and self._level > 0:
            self._level -= 1
        elif share < CALM_SHARE and self._level < len(self.levels) - 1:
            self._level += 1
        else:
            return None
        self._changed_at = now
        return self.count
