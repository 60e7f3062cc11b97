"""Output ticks slide to just after the motion frames when both run at 25 fps."""

from __future__ import annotations

import numpy as np

from avatarcam.runtime.tick_phase import MARGIN_S, MAX_SHIFT_S, PHASE_QUANTILE, TickPhase
from avatarcam.runtime.timed_series import TimedSeries

PERIOD_S = 0.04


def _simulate(fps: float, seconds: float, arrival_phase_s: float, jitter_s: float) -> tuple[list[float], list[float]]:
    """Ticks of a loop at `fps` that starts at 0 and follows TickPhase, with motion frames
    ready every 40 ms at `arrival_phase_s` plus up to `jitter_s`; (shifts, ages) per tick,
    the age being how long before the tick the newest motion frame was ready."""
    rng = np.random.default_rng(0)
    count = int(seconds / PERIOD_S)
    ready = arrival_phase_s + PERIOD_S * np.arange(count) + rng.uniform(0.0, jitter_s, count)
    phase, tick, shifts, ages = TickPhase(fps), 0.0, [], []
    while tick < seconds - 1.0:
        arrived = ready[ready <= tick]
        if len(arrived):
            ages.append(tick - arrived[-1])
        tick += 1.0 / fps
        arrivals = TimedSeries()
        for at in arrived:
            arrivals.append(float(at), 0.0)
        shift = phase.shift(tick, arrivals)
        shifts.append(shift)
        tick += shift
    return shifts, ages


def test_at_the_motion_rate_ticks_settle_just_after_the_frames() -> None:
    shifts, ages = _simulate(25.0, 20.0, arrival_phase_s=0.013, jitter_s=0.004)
    assert max(abs(s) for s in shifts) <= MAX_SHIFT_S + 1e-12, "the frame rate stays steady"
    settled = np.asarray(ages[len(ages) // 2:])
    # a tick that would come too early shows the frame before, 40 ms old: few are allowed
    assert np.mean(settled < PERIOD_S / 2) >= PHASE_QUANTILE - 0.05
    assert np.median(settled) < MARGIN_S + 0.006, "the newest frame is fresh, not 20 ms old on average"


def test_at_30_fps_the_schedule_is_left_alone() -> None:
    shifts, ages = _simulate(30.0, 10.0, arrival_phase_s=0.013, jitter_s=0.004)
    assert not any(shifts)
    assert 0.015 < float(np.mean(ages)) < 0.025, "the beat between the grids: 0 to 33 ms, 17 on average"
