"""The engine's small parts: the motion window, the playback clock, the silence filler and
the frozen badge, the steal and stall figures of the benchmark."""

from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np
import pytest

from avatarcam.audio.chunk import AudioChunk
from avatarcam.motion.space import NUM_FIELDS
from avatarcam.runtime.indicators import frozen_badge
from avatarcam.runtime.motion_buffer import MotionBuffer, PlaybackClock
from avatarcam.runtime.machine_watch import (
    STEAL_COLUMN,
    MachineWatcher,
    cpu_ticks,
    steal_percent,
    MachineLoad,
    probe_cpu_s,
    slow_spans,
    summarize_load,
)
from avatarcam.runtime.silence import SilenceFiller


def _vector(value: float) -> np.ndarray:
    return np.full(NUM_FIELDS, value, np.float32)


def test_motion_window_interpolates_inside_and_holds_beyond() -> None:
    buffer = MotionBuffer()
    assert buffer.at(1.0) is None
    for k in range(5):
        buffer.add(1.0 + 0.04 * k, _vector(k), speech=k >= 2)
    inside = buffer.at(1.06)
    assert inside is not None and not inside.held
    assert inside.vector[0] == pytest.approx(1.5) and inside.time == pytest.approx(1.06)
    beyond = buffer.at(2.0)
    assert beyond is not None and beyond.held and beyond.vector[0] == 4.0 and beyond.time == pytest.approx(1.16)
    buffer.add(1.0, _vector(9.0), speech=False)  # older than the newest: ignored
    assert buffer.newest_time == pytest.approx(1.16)


def test_playback_clock_follows_how_late_motion_arrives() -> None:
    clock = PlaybackClock(0.0, 0.3)
    assert clock.delay_s == 0.3  # until measured, err toward smooth
    for k in range(100):
        now = 10.0 + k / 30
        newest = now - 0.05 - 0.04 * ((k % 3) / 3)  # lags between 50 and 77 ms
        clock.observe(now, newest)
    assert 0.06 < clock.delay_s < 0.08
    assert clock.instant(20.0) == pytest.approx(20.0 - clock.delay_s)


def test_silence_fills_from_the_last_audio_to_now_at_its_rate() -> None:
    filler = SilenceFiller(16_000)
    filler.heard(AudioChunk(np.ones(480, np.float32), 48_000, start_time=5.0))
    chunks = filler.fill(now=5.1)
    assert chunks[0].start_time == pytest.approx(5.01) and chunks[0].rate == 48_000
    assert all(not c.samples.any() for c in chunks)
    assert chunks[-1].end_time <= 5.1 + 1e-9 and len(chunks) == 9
    assert filler.fill(now=5.1) == []  # nothing twice


def test_audio_from_before_the_silence_ended_is_cut_so_time_only_moves_forward() -> None:
    filler = SilenceFiller(16_000)
    block = np.ones(480, np.float32)
    filler.heard(AudioChunk(block, 48_000, start_time=5.0))
    assert filler.trim(AudioChunk(block, 48_000, start_time=5.0099)) is not None  # no silence yet: kept whole
    silence_end = filler.fill(now=5.1)[-1].end_time
    back = filler.trim(AudioChunk(block, 48_000, start_time=silence_end - 0.004))  # a mic back from a loss
    assert back is not None and len(back.samples) == 480 - 192
    assert back.start_time == pytest.approx(silence_end)
    assert filler.trim(AudioChunk(block, 48_000, start_time=silence_end - 0.02)) is None  # all of it stale
    filler.heard(back)
    assert filler.trim(AudioChunk(block, 48_000, start_time=back.end_time - 0.001)).start_time == back.end_time - 0.001


def test_frozen_badge_marks_a_copy() -> None:
    frame = np.zeros((512, 512, 3), np.uint8)
    marked = frozen_badge(frame)
    assert not frame.any() and marked[:60, :160].any() and not marked[300:].any()


def test_steal_is_the_hypervisors_share_of_all_cpu_time() -> None:
    before = np.array([100, 0, 10, 500, 5, 0, 1, 20, 0, 0])
    after = before + np.array([300, 0, 40, 600, 0, 0, 2, 58, 30, 0])  # guest (30) counts inside user
    assert steal_percent(before, after) == pytest.approx(100.0 * 58 / 1000, abs=0.05)
    assert steal_percent(None, after) is None and steal_percent(before, before) is None
    ticks = cpu_ticks()
    if sys.platform.startswith("linux"):
        assert ticks is not None and len(ticks) > STEAL_COLUMN and ticks.sum() > 0


def test_drops_are_put_down_to_the_stalls_and_the_steal_they_came_with() -> None:
    stalls = [(9.0, 9.5), (10.0, 10.05), (20.0, 20.08)]  # the first ended before `since`
    steal = [(10.5, 30.0), (15.0, 2.0), (15.5, 25.0), (16.0, 1.0)]  # (end of each reading's span, %)
    drops = [4.0, 10.03, 10.12, 14.8, 15.2, 20.3, 99.0]
    summary = summarize_load(MachineLoad(stalls, steal), drops, since=9.8)
    assert (summary.stalls, summary.stalled_ms, summary.longest_stall_ms) == (2, pytest.approx(130.0),
                                                                             pytest.approx(80.0))
    assert summary.drops == 6
    assert summary.drops_after_stalls == 2  # 10.03 during a stall, 10.12 just after one
    assert summary.drops_in_steal == 1  # 15.2, in the 25 % half second; 14.8's had 2 %, 20.3 and 99.0 none
    assert summarize_load(MachineLoad(), drops, since=0.0).drops_after_stalls == 0


def test_slow_probes_make_spans_of_consecutive_runs() -> None:
    usual = 0.0003
    cpu = [usual] * 10 + [4 * usual, 9 * usual] + [usual] * 5 + [3.5 * usual] + [usual] * 5 + [2 * usual]
    probes = [(0.02 * i, 0.02 * i + 0.001, c) for i, c in enumerate(cpu)]
    assert slow_spans(probes) == [(0.2, 0.221), (0.34, 0.341)]  # 2x is not slow enough
    assert slow_spans([]) == []


def test_drops_left_over_are_put_down_to_slowdowns_with_the_time_they_cover() -> None:
    stalls = [(10.0, 10.05)]
    slowdowns = [(10.0, 10.02), (12.0, 12.1), (13.0, 13.05)]
    drops = [10.03, 12.15, 12.5, 13.1]
    summary = summarize_load(MachineLoad(stalls, [], slowdowns), drops, since=9.0, until=19.0)
    assert summary.drops_after_stalls == 1 and summary.slowdowns == 3
    assert summary.drops_in_slowdowns == 2  # 12.15 and 13.1; 10.03 went to the stall, 12.5 to neither
    # 0.12 + 0.2 + 0.15 s of the 10 s lie in or just after a slowdown
    assert summary.slowed_percent == pytest.approx(4.7, abs=0.05)


def test_the_probe_times_its_own_cpu_not_the_wall_clock() -> None:
    busy = probe_cpu_s()
    assert 0.0 < busy < 0.05
    began = time.thread_time()
    time.sleep(0.05)  # sleeping uses no CPU time
    assert time.thread_time() - began < 0.01


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="pausing a process needs SIGSTOP")
def test_the_watcher_sees_a_pause_of_its_process() -> None:
    with MachineWatcher() as watcher:
        time.sleep(1.0)  # let it start (a spawned interpreter) and run a while
        os.kill(watcher.pid, signal.SIGSTOP)
        paused = time.monotonic()
        time.sleep(0.2)
        resumed = time.monotonic()
        os.kill(watcher.pid, signal.SIGCONT)
        time.sleep(0.3)
    # A busy machine adds stalls of its own (CI saw two 0.17-0.2 s ones in a row), so the check is that
    # one stall spans the whole pause, not that the pause is the only long one.
    stalls = watcher.load.stalls
    assert any(a <= paused + 0.01 and b >= resumed for a, b in stalls), (paused, resumed, stalls)
    if sys.platform.startswith("linux"):  # 1.5 s of watching: steal read at least twice
        assert len(watcher.load.steal) >= 2 and all(0.0 <= share <= 100.0 for _, share in watcher.load.steal)
    assert watcher.load.probe_ms is not None and 0.0 < watcher.load.probe_ms < 50.0
    assert all(a <= b for a, b in watcher.load.slowdowns)


def test_render_workers_follow_the_backend_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from avatarcam.render.backends import CPU_RENDER_OVERLAP
    from avatarcam.runtime.session import RunRequest, render_workers

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert render_workers(RunRequest(), "torch-cpu") == CPU_RENDER_OVERLAP == 2
    assert render_workers(RunRequest(), "onnxruntime") == CPU_RENDER_OVERLAP
    assert render_workers(RunRequest(), "torch-cuda") == 1  # a GPU's stream runs frames in turn anyway
    assert render_workers(RunRequest(), "tensorrt") == 1
    assert render_workers(RunRequest(render_workers=3), "torch-cuda") == 3
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert render_workers(RunRequest(), "torch-cpu") == 1  # a second worker would only wait for the core
