"""Expression presets: the shipped file, bad files, easing, toggles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarcam.control.preset_control import PresetController, UnknownActionError
from avatarcam.control.presets import PresetError, load_presets
from avatarcam.control.settings import DEFAULT_HOTKEYS, Settings, load_settings
from avatarcam.motion.space import index_of
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
