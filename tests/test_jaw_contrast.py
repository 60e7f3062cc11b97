"""The jaw contrast layer: it leads the jaw's changes, leaves a steady jaw and every other
field alone, stays in range, and never feeds back into the motion model's context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarcam.motion.jaw_contrast import JAW, JawContrast
from avatarcam.motion.offline import motion_for_file
from avatarcam.motion.space import NUM_FIELDS, neutral
from avatarcam.motion.stream import LoadedMotionModel, StreamConfig


def _with_jaw(values: list[float]) -> list[np.ndarray]:
    frames = []
    for value in values:
        vector = neutral()
        vector[JAW] = value
        frames.append(vector)
    return frames


def test_a_change_is_led_and_a_steady_jaw_kept() -> None:
    layer = JawContrast(0.5)
    out = [layer.apply(v)[JAW] for v in _with_jaw([0.2, 0.2, 0.4, 0.4, 0.3])]
    assert out == pytest.approx([0.2, 0.2, 0.5, 0.4, 0.25])


def test_the_jaw_stays_in_range_and_other_fields_are_untouched() -> None:
    layer = JawContrast(2.0)
    frames = _with_jaw([0.0, 0.9, 0.0, 0.0])
    for vector in frames:
        vector[0] = 3.0  # any field but the jaw
    out = [layer.apply(v) for v in frames]
    assert [o[JAW] for o in out] == pytest.approx([0.0, 1.0, 0.0, 0.0])
    others = np.arange(NUM_FIELDS) != JAW
    assert all(np.array_equal(o[others], v[others]) for o, v in zip(out, frames))


def test_gain_zero_changes_nothing_and_a_negative_gain_is_refused() -> None:
    layer = JawContrast(0.0)
    frames = _with_jaw([0.1, 0.6, 0.0])
    assert all(np.array_equal(layer.apply(v), v) for v in frames)
    with pytest.raises(ValueError):
        JawContrast(-0.1)


def test_the_stream_applies_it_to_its_output_only(random_model: LoadedMotionModel,
                                                 real_speech_clips: list[Path]) -> None:
    runs = {gain: motion_for_file(real_speech_clips[0], model_path=random_model.path,
                                  config=StreamConfig(liveliness=False, jaw_contrast=gain, steps=1)).track.frames
            for gain in (0.0, 0.35)}
    others = np.arange(NUM_FIELDS) != JAW
    assert np.array_equal(runs[0.0][:, others], runs[0.35][:, others])  # the context stayed the raw output
    raw, led = runs[0.0][:, JAW], runs[0.35][:, JAW]
    assert not np.array_equal(raw, led)
    expected = np.clip(raw[1:] + 0.35 * np.diff(raw), 0.0, 1.0)
    assert led[1:] == pytest.approx(expected, abs=1e-6)
