"""Saying, while it happens, that the output cannot hold its frame rate, and why.

The preview's overlay shows the frame rate, but in a call nobody watches a preview: a
renderer too slow for the size and rate asked for only shows as a stuttering avatar. So
once the warm-up is over, the render loop asks every half second whether a tenth of the
recent output ticks were dropped, and the first time they were, one sentence says how
long a frame takes against what the rate allows, and what to change. On a shared virtual
machine the cause is often neither the renderer nor other programs but the hypervisor
taking CPU time from every core, so where Linux counts that ("steal"), the sentence says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from avatarcam.runtime.machine_watch import STOLEN_SHARE, cpu_ticks, steal_percent
from avatarcam.runtime.run_stats import RunStats

WARMUP_S = 2.0  # first renders and the first motion are slow: not held against the loop
WINDOW_S = 3.0  # the recent past that is judged
MIN_TICKS_S = 1.0  # judge only once at least this much of the window has run
DROP_SHARE = 0.1  # dropped ticks among all ticks in the window that count as falling behind
RENDER_SHARE = 0.8  # a render this close to the frame period leaves no room for the rest


class FallingBehind:
    """Watches a run's figures for sustained dropped frames; speaks up once."""

    def __init__(self, fps: float, read_ticks: Callable[[], np.ndarray | None] = cpu_ticks) -> None:
        """`read_ticks` reads the machine's CPU time counters (the steal among them)."""
        self.period_s = 1.0 / fps
        self.fps = fps
        self.reported = False
        self._read_ticks = read_ticks
        self._ticks: deque[tuple[float, np.ndarray]] = deque()  # (when, counters) per check

    def _stolen_since(self, start: float, now: float) -> float | None:
        """Note the counters now; the % of CPU time stolen since about `start` (None if unknown)."""
        ticks = self._read_ticks()
        if ticks is None:
            return None
        self._ticks.append((now, ticks))
        while len(self._ticks) > 1 and self._ticks[1][0] <= start:
            self._ticks.popleft()
        return steal_percent(self._ticks[0][1], ticks)

    def check(self, now: float, stats: RunStats) -> str | None:
        """The sentence to show the first time the recent ticks were dropped too often;
        None otherwise (and always after that first time)."""
        if self.reported:
            return None
        start = max(now - WINDOW_S, stats.started + WARMUP_S)
        stolen = self._stolen_since(start, now)
        if now - start < MIN_TICKS_S:
            return None
        drops = stats.drops_since(start)
        frames = stats.handed_since(start)
        if drops == 0 or drops < DROP_SHARE * (drops + frames):
            return None
        self.reported = True
        renders = stats.render_times.values_since(start)
        share = drops / (drops + frames)
        period_ms = 1000.0 * self.period_s
        where = f"{share:.0%} of the frames of the last {now - start:.0f} s were dropped: "
        if not renders.size:  # frozen: the ticks only resend the last frame
            return (where + "no frame was being rendered, so other work on this computer holds "
                    "the output up; close other busy programs or choose a lower --fps.")
        render_ms = 1000.0 * float(np.median(renders))
        where += f"a frame takes {render_ms:.0f} ms to render, "
        if stolen is not None and stolen >= STOLEN_SHARE:
            return (where + f"against the {period_ms:.0f} ms that {self.fps:g} fps allows, while the hypervisor "
                    f"took {stolen:.0f}% of this virtual machine's CPU time; choose a lower --fps or a smaller "
                    "--size, or run avatarcam on a computer whose cores are not shared.")
        if render_ms >= RENDER_SHARE * period_ms:
            return (where + f"and {self.fps:g} fps allows {period_ms:.0f} ms; choose a smaller "
                    "--size or a lower --fps, or render on a GPU (`avatarcam doctor` says whether one works).")
        return (where + f"within the {period_ms:.0f} ms that {self.fps:g} fps allows, so other "
                "work on this computer holds it up; close other busy programs or choose a lower --fps.")
