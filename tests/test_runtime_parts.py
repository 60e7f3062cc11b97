"""The engine's small parts: the motion window, the playback clock, the silence filler and
the frozen badge."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from avatarcam.audio.chunk import AudioChunk
from avatarcam.motion.space import NUM_FIELDS
from avatarcam.runtime.e2e_benchmark import STEAL_COLUMN, cpu_ticks, steal_percent
from avatarcam.runtime.indicators import frozen_badge
from avatarcam.runtime.motion_buffer import MotionBuffer, PlaybackClock
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
