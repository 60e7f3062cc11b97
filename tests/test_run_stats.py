"""The run's figures: asked for more than once, they still describe the run."""

from __future__ import annotations

import time

from avatarcam.runtime.run_stats import RunStats


def _spin(seconds: float) -> None:
    """Keep one core busy for `seconds`."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_share_is_the_runs_however_often_the_summary_is_asked_for() -> None:
    stats = RunStats()
    _spin(0.3)
    stats.finish()
    first = stats.summary()["cpu_percent"]
    time.sleep(0.3)  # idle after the run: must not dilute the figure
    second = stats.summary()["cpu_percent"]
    assert isinstance(first, float) and first > 50.0, first
    assert second == first
