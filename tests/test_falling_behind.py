"""The one sentence that says, during a run, that frames are being dropped and why."""

from __future__ import annotations

import numpy as np

from avatarcam.runtime.falling_behind import WARMUP_S, FallingBehind
from avatarcam.runtime.run_stats import RunStats

FPS = 30.0


def _stats(seconds: float, drop_every: int, render_s: float, drops_until: float = np.inf) -> RunStats:
    """Figures of a run at FPS whose every `drop_every`-th tick (0: none) before
    `drops_until` was dropped."""
    stats = RunStats(started=0.0)
    for tick, at in enumerate(np.arange(0.0, seconds, 1.0 / FPS)):
        if drop_every and tick % drop_every == 0 and at < drops_until:
            stats.dropped(float(at), 1)
        else:
            stats.rendered(float(at), render_s)
            stats.frame(float(at), float(at) - 0.1, False, False)
    return stats


def test_a_slow_renderer_is_named_once_with_its_time_and_the_fixes() -> None:
    watch = FallingBehind(FPS)
    stats = _stats(6.0, drop_every=3, render_s=0.041)
    message = watch.check(6.0, stats)
    assert message is not None and "\n" not in message and message.endswith(".")
    assert "33% of the frames" in message and "41 ms" in message and "33 ms" in message
    assert "--size" in message and "--fps" in message
    assert watch.check(6.5, stats) is None, "said once, not every half second"


def test_drops_with_fast_renders_blame_the_busy_computer() -> None:
    message = FallingBehind(FPS).check(6.0, _stats(6.0, drop_every=4, render_s=0.015))
    assert message is not None and "15 ms" in message and "other busy programs" in message


def test_a_few_drops_or_drops_in_the_warm_up_say_nothing() -> None:
    assert FallingBehind(FPS).check(6.0, _stats(6.0, drop_every=20, render_s=0.041)) is None
    assert FallingBehind(FPS).check(6.0, _stats(6.0, drop_every=0, render_s=0.041)) is None
    warming = _stats(WARMUP_S + 2.0, drop_every=2, render_s=0.041, drops_until=WARMUP_S)
    assert FallingBehind(FPS).check(WARMUP_S + 2.0, warming) is None


def _frozen(seconds: float, drop_every: int) -> RunStats:
    """Figures of a run frozen throughout: still frames, and every `drop_every`-th tick dropped."""
    stats = RunStats(started=0.0)
    for tick, at in enumerate(np.arange(0.0, seconds, 1.0 / FPS)):
        if tick % drop_every == 0:
            stats.dropped(float(at), 1)
        else:
            stats.still_frame(float(at))
    return stats


def test_drops_while_frozen_blame_the_busy_computer_without_a_render_time() -> None:
    message = FallingBehind(FPS).check(6.0, _frozen(6.0, drop_every=3))
    assert message is not None and "33% of the frames" in message
    assert "nan" not in message and "ms to render" not in message
    assert "other busy programs" in message and message.endswith(".")


def test_a_rare_drop_while_frozen_says_nothing() -> None:
    assert FallingBehind(FPS).check(6.0, _frozen(6.0, drop_every=60)) is None


class _Counters:
    """/proc/stat-like CPU counters that grow by `steal` stolen ticks in every 100."""

    def __init__(self, steal: int) -> None:
        self.steal, self.ticks = steal, np.zeros(10, np.int64)

    def __call__(self) -> np.ndarray:
        self.ticks = self.ticks + np.array([100 - self.steal, 0, 0, 0, 0, 0, 0, self.steal, 0, 0])
        return self.ticks


def _checked_every_half_second(watch: FallingBehind, stats: RunStats, until: float) -> str | None:
    said = [watch.check(float(now), stats) for now in np.arange(0.5, until + 0.01, 0.5)]
    return next((message for message in said if message is not None), None)


def test_drops_on_a_virtual_machine_short_of_cpu_name_the_stolen_time() -> None:
    stats = _stats(6.0, drop_every=3, render_s=0.030)
    message = _checked_every_half_second(FallingBehind(FPS, read_ticks=_Counters(steal=25)), stats, 6.0)
    assert message is not None and "hypervisor took 25%" in message and "30 ms" in message
    assert "not shared" in message and message.endswith(".")


def test_a_little_stolen_time_leaves_the_usual_sentence() -> None:
    stats = _stats(6.0, drop_every=3, render_s=0.041)
    message = _checked_every_half_second(FallingBehind(FPS, read_ticks=_Counters(steal=2)), stats, 6.0)
    assert message is not None and "hypervisor" not in message and "--size" in message
