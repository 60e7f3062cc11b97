"""The sub-step governor: fewer motion frames per 40 ms while renders leave no time to
spare, more again once they do, each change held long enough to be judged."""

from __future__ import annotations

import numpy as np

from avatarcam.runtime.run_stats import RunStats
from avatarcam.runtime.sub_step_governor import BUSY_SHARE, CALM_SHARE, HOLD_S, SubStepGovernor
from avatarcam.runtime.timed_series import TimedSeries

FPS = 30.0
PERIOD_S = 1.0 / FPS


def _run(governor: SubStepGovernor, render_share: float, start: float, seconds: float,
         renders: TimedSeries) -> list[tuple[float, int]]:
    """Feed renders of `render_share` of the period, one a tick, asking twice a second;
    the (time, count) of each change."""
    changes = []
    for k in range(int(seconds * FPS)):
        now = start + k * PERIOD_S
        renders.append(now, render_share * PERIOD_S)
        if k % int(FPS / 2) == 0:
            count = governor.update(now, renders)
            if count is not None:
                changes.append((now - start, count))
    return changes


def test_slow_renders_step_the_sub_steps_down_and_quick_ones_back_up() -> None:
    governor, renders = SubStepGovernor(FPS, most=4), TimedSeries()
    assert governor.levels == [1, 2, 4] and governor.count == 4
    down = _run(governor, 1.3, 0.0, 12.0, renders)
    assert [count for _, count in down] == [2, 1]
    assert down[0][0] >= HOLD_S and down[1][0] - down[0][0] >= HOLD_S  # the start and each change held
    assert _run(governor, 1.3, 12.0, 6.0, renders) == []  # at the fewest already
    up = _run(governor, 0.4, 18.0, 12.0, renders)
    assert [count for _, count in up] == [2, 4] and governor.count == 4


def test_renders_between_busy_and_calm_change_nothing() -> None:
    middle = (BUSY_SHARE + CALM_SHARE) / 2
    assert _run(SubStepGovernor(FPS, most=4), middle, 0.0, 20.0, TimedSeries()) == []


def test_a_stream_without_sub_steps_is_left_alone() -> None:
    governor = SubStepGovernor(FPS, most=1)
    assert governor.levels == [1]
    assert _run(governor, 2.0, 0.0, 12.0, TimedSeries()) == [] and governor.count == 1


def test_the_run_figures_say_how_long_each_count_was_in_force() -> None:
    stats = RunStats()
    t0 = stats.started
    stats.sub_steps_set(t0, 4)
    stats.sub_steps_set(t0 + 15.0, 2)
    stats.sub_steps_set(t0 + 25.0, 4)
    for k in range(int(40 * FPS)):
        stats.frame(t0 + 0.5 + k * PERIOD_S, t0 + 0.4 + k * PERIOD_S, False, False)
    end = stats.frame_times[-1]
    shares = stats.summary(skip_s=5.0)["sub_steps_time_share"]
    assert set(shares) == {"2", "4"}
    assert np.isclose(shares["2"], 10.0 / (end - t0 - 5.0), atol=1e-3)
    assert np.isclose(shares["2"] + shares["4"], 1.0, atol=2e-3)
