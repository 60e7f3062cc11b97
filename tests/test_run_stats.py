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


def test_frozen_frames_count_as_output_but_carry_no_latency() -> None:
    stats = RunStats(started=0.0)
    for k in range(60):  # 2 s at 30 fps: the first second live, the second frozen
        if k < 30:
            stats.frame(k / 30.0, k / 30.0 - 0.1, speech=False, held=False)
        else:
            stats.still_frame(k / 30.0)
    summary = stats.summary()
    assert summary["frames"] == 60 and summary["fps"] == 30.0
    assert summary["latency_ms"]["max"] == 100.0, "only the live frames have a latency"
