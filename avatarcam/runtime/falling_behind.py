"""Saying, while it happens, that the output cannot hold its frame rate, and why.

The preview's overlay shows the frame rate, but in a call nobody watches a preview: a
renderer too slow for the size and rate asked for only shows as a stuttering avatar. So
once the warm-up is over, the render loop asks every half second whether a tenth of the
recent output ticks were dropped, and the first time they were, one sentence says how
long a frame takes against what the rate allows, and what to change.
"""

from __future__ import annotations

import bisect

import numpy as np

from avatarcam.runtime.run_stats import RunStats

WARMUP_S = 2.0  # first renders and the first motion are slow: not held against the loop
WINDOW_S = 3.0  # the recent past that is judged
MIN_TICKS_S = 1.0  # judge only once at least this much of the window has run
DROP_SHARE = 0.1  # dropped ticks among all ticks in the window that count as falling behind
RENDER_SHARE = 0.8  # a render this close to the frame period leaves no room for the rest


class FallingBehind:
    """Watches a run's figures for sustained dropped frames; speaks up once."""

    def __init__(self, fps: float) -> None:
        self.period_s = 1.0 / fps
        self.fps = fps
        self.reported = False

    def check(self, now: float, stats: RunStats) -> str | None:
        """The sentence to show the first time the recent ticks were dropped too often;
        None otherwise (and always after that first time)."""
        if self.reported:
            return None
        start = max(now - WINDOW_S, stats.started + WARMUP_S)
        if now - start < MIN_TICKS_S:
            return None
        drops = len(stats.drop_times) - bisect.bisect_left(stats.drop_times, start)
        frames = len(stats.frame_times) - bisect.bisect_left(stats.frame_times, start)
        if drops == 0 or drops < DROP_SHARE * (drops + frames):
            return None
        self.reported = True
        renders = [seconds for at, seconds in stats.render_times if at >= start]
        share = drops / (drops + frames)
        period_ms = 1000.0 * self.period_s
        where = f"{share:.0%} of the frames of the last {now - start:.0f} s were dropped: "
        if not renders:  # frozen: the ticks only resend the last frame
            return (where + "no frame was being rendered, so other work on this computer holds "
                    "the output up; close other busy programs or choose a lower --fps.")
        render_ms = 1000.0 * float(np.median(renders))
        where += f"a frame takes {render_ms:.0f} ms to render, "
        if render_ms >= RENDER_SHARE * period_ms:
            return (where + f"and {self.fps:g} fps allows {period_ms:.0f} ms; choose a smaller "
                    "--size or a lower --fps, or render on a GPU (`avatarcam doctor` says whether one works).")
        return (where + f"within the {period_ms:.0f} ms that {self.fps:g} fps allows, so other "
                "work on this computer holds it up; close other busy programs or choose a lower --fps.")
