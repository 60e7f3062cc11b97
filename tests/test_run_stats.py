"""The run's figures: asked for more than once, they still describe the run."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc

from avatarcam.runtime.run_stats import RunStats
from avatarcam.runtime.timed_series import TimedSeries


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


def test_an_hour_of_measurements_stays_small() -> None:
    stats = RunStats(started=0.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in range(36_000):  # 6 minutes: motion every 10 ms, frames at 30 fps
        at = k * 0.01
        stats.motion_arrived(at, at - 0.045)
        if k % 3 == 0:
            stats.rendered(at, 0.02)
            stats.frame(at, at - 0.09, speech=True, held=False)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown * 10 < 12 * 1024 * 1024, f"{grown * 10 / 2**20:.1f} MB an hour"  # tuples took about 50
    summary = stats.summary(skip_s=60.0)
    assert summary["motion_ready_ms"]["p50"] == 45.0 and summary["render_ms"]["max"] == 20.0


def test_timed_series_picks_the_records_since_a_time() -> None:
    series = TimedSeries()
    for at in range(10):
        series.append(float(at), at * 10.0)
    assert len(series) == 10
    assert series.values_since(6.5).tolist() == [70.0, 80.0, 90.0]
    assert series.values_since(0.0).size == 10 and series.values_since(10.0).size == 0
    assert series.recent_times(2).tolist() == [8.0, 9.0]
    assert series.as_array().shape == (10, 2) and series.as_array()[3].tolist() == [3.0, 30.0]


def test_cpu_and_memory_count_the_child_processes() -> None:
    stats = RunStats()
    alone_mb = stats.summary()["rss_mb"]
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 1.0\n"
                              "while time.time() < end: pass\ntime.sleep(30)"])
    try:
        time.sleep(1.5)  # the child spins for one second, then sleeps
        assert stats.summary()["rss_mb"] > alone_mb
        stats.finish()
    finally:
        child.kill()
        child.wait()
    # about 1 s of the child's CPU in 1.5 s of wall time, beyond what this process used
    assert stats.summary()["cpu_percent"] >= 30.0
