"""Expression presets: the shipped file, bad files, easing, toggles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarcam.control.preset_control import PresetController, UnknownActionError
from avatarcam.control.presets import PresetError, load_presets
from avatarcam.control.settings import DEFAULT_HOTKEYS, Settings, load_settings
from avatarcam.motion.space import LOWER_BOUNDS, UPPER_BOUNDS, index_of
from tests.conftest import REPO_ROOT

PRESETS = REPO_ROOT / "configs" / "presets.toml"
REQUIRED = ("neutral", "smile", "laugh", "surprised", "sad", "angry", "thinking", "wink")


def test_shipped_presets_are_valid_and_leave_lip_closure_to_the_model() -> None:
    presets = load_presets(PRESETS)
    assert set(REQUIRED) <= set(presets) and len(presets) >= 10
    for preset in presets.values():
        assert "jaw_open" not in preset.values and "lip_press" not in preset.values
    controller = PresetController(presets)
    for action in DEFAULT_HOTKEYS.values():
        controller.check_action(action)


def test_shipped_settings_file_reads_with_its_presets_and_hotkeys() -> None:
    settings = load_settings(REPO_ROOT / "configs" / "avatarcam.toml")
    assert settings.presets.file.resolve() == PRESETS.resolve()
    assert settings.hotkeys.bindings["<ctrl>+<alt>+1"] == "preset:smile"


@pytest.mark.parametrize("text, words", [
    ("[grin]\nvalues = { grin = 1.0 }\n", "not a motion field"),
    ("[grin]\nvalues = { smile = 3.0 }\n", "must be a number from 0 to 1"),
    ("[grin]\nvalues = { smile = 1.0 }\nstrenght = 1.0\n", "unknown key 'strenght'"),
    ("[grin\n", "not valid TOML"),
    ("", "defines no preset"),
])
def test_bad_presets_file_is_one_sentence(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(text)
    with pytest.raises(PresetError) as caught:
        load_presets(path)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_missing_presets_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match=r"\[presets\] file"):
        load_presets(tmp_path / "nope.toml")


def test_preset_eases_in_without_a_jump_and_holds() -> None:
    controller = PresetController(load_presets(PRESETS))
    smile = index_of("smile")
    controller.select("smile", now=10.0)
    transition = controller.presets["smile"].transition_s
    times = 10.0 + np.arange(0.0, transition + 0.2, 0.04)
    states = [controller.state(t) for t in times]
    weights = np.array([s.weight[smile] for s in states])
    targets = np.array([s.target[smile] for s in states])
    assert weights[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(weights) >= -1e-6) and np.diff(weights).max() < 0.3
    assert weights[-1] == pytest.approx(controller.presets["smile"].strength)
    assert targets[-1] == pytest.approx(controller.presets["smile"].values["smile"])


def test_switching_mid_transition_starts_from_where_the_face_is() -> None:
    controller = PresetController(load_presets(PRESETS))
    brow = index_of("brow_up")
    controller.select("surprised", now=0.0)
    halfway = controller.state(0.075).weight[brow]
    controller.select("neutral", now=0.075)
    assert controller.state(0.075).weight[brow] == pytest.approx(halfway, abs=1e-6)
    assert controller.state(1.0).weight[brow] == pytest.approx(0.0, abs=1e-6)


def test_toggles_and_look_at_camera() -> None:
    controller = PresetController(load_presets(PRESETS))
    controller.perform("toggle:mute", 0.0)
    controller.perform("toggle:freeze", 0.0)
    controller.perform("toggle:look_at_camera", 0.0)
    state = controller.state(1.0)
    assert state.muted and state.frozen and state.look_at_camera
    assert state.weight[index_of("gaze_x")] == pytest.approx(1.0) and state.target[index_of("gaze_x")] == 0.0
    controller.perform("toggle:mute", 2.0)
    assert not controller.state(2.0).muted
    with pytest.raises(UnknownActionError, match="is not an action"):
        controller.perform("preset:grin", 3.0)


def test_default_settings_point_at_the_shipped_presets() -> None:
    assert Settings().presets.file.resolve() == PRESETS.resolve()


SMOOTHSTEP_MAX_SLOPE = 1.5  # d/dx of 3x² − 2x³ at x = ½
FRAME_S = 0.04  # one motion frame, how often the engine reads the controls


def _output(state, base: np.ndarray) -> np.ndarray:
    """What a field shows when the model says `base` and the controls pull toward their target."""
    return base + state.weight * (state.target - base)


@pytest.mark.parametrize("start", sorted(load_presets(PRESETS)))
def test_every_switch_eases_within_the_curve_and_lands_on_the_preset(start: str) -> None:
    presets = load_presets(PRESETS)
    base = np.random.default_rng(0).uniform(LOWER_BOUNDS, UPPER_BOUNDS).astype(np.float32)
    for end, preset in presets.items():
        controller = PresetController(presets)
        controller.select(start, now=0.0)
        controller.select(end, now=10.0)
        times = 10.0 + np.arange(0.0, preset.transition_s + 2 * FRAME_S, FRAME_S)
        states = [controller.state(t) for t in times]
        weights = np.array([s.weight for s in states])
        outputs = np.array([_output(s, base) for s in states])
        share_per_frame = SMOOTHSTEP_MAX_SLOPE * FRAME_S / preset.transition_s
        w_bound = share_per_frame * np.abs(weights[-1] - weights[0]) + 1e-5
        out_bound = share_per_frame * np.abs(outputs[-1] - outputs[0]) + 1e-4
        assert np.all(np.abs(np.diff(weights, axis=0)) <= w_bound), (start, end)
        assert np.all(np.abs(np.diff(outputs, axis=0)) <= out_bound), (start, end)
        landed = controller.state(10.0 + preset.transition_s)
        expected = _output(controller.state(100.0), base)
        assert np.allclose(_output(landed, base), expected, atol=1e-5), (start, end)
        for field, value in preset.values.items():
            if preset.strength > 0:
                assert landed.target[index_of(field)] == pytest.approx(value, abs=1e-5)
            assert landed.weight[index_of(field)] == pytest.approx(preset.strength, abs=1e-6)


def test_look_at_camera_turned_off_mid_way_eases_back_without_a_jump() -> None:
    controller = PresetController(load_presets(PRESETS))
    gaze = index_of("gaze_x")
    controller.perform("toggle:look_at_camera", 0.0)
    before = controller.state(0.1).weight[gaze]
    controller.perform("toggle:look_at_camera", 0.1)
    weights = np.array([controller.state(t).weight[gaze] for t in np.arange(0.1, 0.6, FRAME_S)])
    assert 0.0 < before < 1.0 and weights[0] == pytest.approx(before, abs=1e-6)
    assert np.all(np.diff(weights) <= 1e-6) and np.abs(np.diff(weights)).max() < 0.3
    assert weights[-1] == pytest.approx(0.0, abs=1e-6) and not controller.state(1.0).look_at_camera


def test_transition_too_short_to_ease_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    path.write_text("[snap]\nvalues = { smile = 1.0 }\nstrength = 1.0\ntransition_ms = 0\n")
    with pytest.raises(PresetError, match=r"Preset \[snap\] in .* has transition_ms = 0; it must be a number from 100"):
        load_presets(path)
