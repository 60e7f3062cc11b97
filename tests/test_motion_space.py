"""The motion space: field registry, vector helpers, motion files and the README table."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from avatarcam.constants import MOTION_FPS
from avatarcam.errors import AvatarcamError
from avatarcam.motion import motion_io, space
from avatarcam.motion.motion_io import MotionFileError
from avatarcam.motion.space import (
    FIELD_NAMES,
    FIELDS,
    LOWER_BOUNDS,
    NUM_FIELDS,
    UPPER_BOUNDS,
    MotionTrack,
    UnknownFieldError,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
TABLE_SCRIPT = REPO_ROOT / "tools" / "readme_motion_table.py"
OUTPUT_FPS = 30  # a typical webcam rate the renderer resamples motion to

# The canonical order is an interface (CSV columns, model outputs): changing it must be deliberate.
EXPECTED_ORDER = (
    "yaw", "pitch", "roll", "tx", "ty", "scale",
    "jaw_open", "lip_press", "mouth_wide", "mouth_round", "smile", "frown", "upper_lip_raise",
    "blink_l", "blink_r", "gaze_x", "gaze_y", "eye_wide", "squint",
    "brow_up", "brow_down", "brow_inner_up",
)


def random_frames(count: int, seed: int = 0) -> np.ndarray:
    """`count` in-range frames with every field away from neutral."""
    rng = np.random.default_rng(seed)
    return rng.uniform(LOWER_BOUNDS, UPPER_BOUNDS, size=(count, NUM_FIELDS)).astype(np.float32)


def load_table_script() -> ModuleType:
    """tools/readme_motion_table.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("readme_motion_table", TABLE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the field registry ------------------------------------------------------------------


def test_fields_are_in_the_canonical_order_and_unique() -> None:
    assert FIELD_NAMES == EXPECTED_ORDER
    assert NUM_FIELDS == len(FIELDS) == len(set(FIELD_NAMES))
    assert [space.index_of(name) for name in FIELD_NAMES] == list(range(NUM_FIELDS))


@pytest.mark.parametrize("field", FIELDS, ids=FIELD_NAMES)
def test_each_field_is_described_with_a_sane_range(field: space.MotionField) -> None:
    assert field.group in space.GROUPS
    assert field.unit
    assert field.low < field.high
    assert field.neutral == 0.0, "the space is absolute: 0 is the relaxed neutral face"
    assert field.description.endswith(".") and "\n" not in field.description
    assert "|" not in field.description, "descriptions go into a markdown table"


def test_units_and_ranges_per_kind_of_field() -> None:
    for name in ("yaw", "pitch", "roll"):
        field = FIELDS[space.index_of(name)]
        assert (field.unit, field.low, field.high) == (space.DEGREES, -25.0, 25.0)
    for name in ("gaze_x", "gaze_y"):
        assert (FIELDS[space.index_of(name)].low, FIELDS[space.index_of(name)].high) == (-1, 1)
    for field in FIELDS:
        if field.group in ("mouth", "brows") or field.unit == space.AMOUNT:
            assert (field.unit, field.low, field.high) == (space.AMOUNT, 0.0, 1.0)
    for name in ("tx", "ty", "scale"):
        field = FIELDS[space.index_of(name)]
        assert field.group == "head" and field.low == -field.high and 0.2 <= field.high <= 0.5


def test_registry_tables_cannot_be_changed() -> None:
    with pytest.raises(ValueError):
        LOWER_BOUNDS[0] = 0.0
    with pytest.raises(AttributeError):
        FIELDS[0].low = 0.0  # type: ignore[misc]


def test_unknown_field_names_raise_a_fixable_error_listing_valid_ones() -> None:
    with pytest.raises(UnknownFieldError, match="'jaw_opn'.*jaw_open") as info:
        space.index_of("jaw_opn")
    assert isinstance(info.value, ValueError) and isinstance(info.value, AvatarcamError)


# --- vector helpers ----------------------------------------------------------------------


def test_neutral_is_a_fresh_zero_float32_vector() -> None:
    one = space.neutral()
    assert one.shape == (NUM_FIELDS,) and one.dtype == np.float32 and not one.any()
    one[0] = 5.0
    assert space.neutral()[0] == 0.0
    assert space.neutral(3).shape == (3, NUM_FIELDS) and not space.neutral(3).any()


def test_clamp_limits_each_field_and_keeps_in_range_values() -> None:
    inside = random_frames(4)
    np.testing.assert_array_equal(space.clamp(inside), inside)
    too_far = np.stack([LOWER_BOUNDS - 1.0, UPPER_BOUNDS + 1.0])
    clamped = space.clamp(too_far)
    assert clamped.dtype == np.float32
    np.testing.assert_array_equal(clamped, np.stack([LOWER_BOUNDS, UPPER_BOUNDS]))


def test_vectors_of_the_wrong_shape_are_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        space.clamp(np.zeros(NUM_FIELDS + 1))
    with pytest.raises(ValueError, match="shape"):
        space.clamp(np.zeros((2, 2, NUM_FIELDS)))


def test_from_dict_fills_unnamed_fields_with_neutral_and_to_dict_inverts_it() -> None:
    v = space.from_dict({"smile": 0.8, "yaw": -10})
    assert v[space.index_of("smile")] == np.float32(0.8)
    assert v[space.index_of("yaw")] == -10.0
    assert np.count_nonzero(v) == 2
    as_dict = space.to_dict(v)
    assert list(as_dict) == list(FIELD_NAMES)
    np.testing.assert_array_equal(space.from_dict(as_dict), v)


def test_from_dict_rejects_unknown_names_and_non_numbers() -> None:
    with pytest.raises(UnknownFieldError, match="'grin'.*valid fields are: yaw, pitch"):
        space.from_dict({"smile": 1.0, "grin": 1.0})
    with pytest.raises(ValueError, match="'smile'"):
        space.from_dict({"smile": float("nan")})
    with pytest.raises(ValueError, match="'smile'"):
        space.from_dict({"smile": "lots"})  # type: ignore[dict-item]


def test_to_dict_takes_one_frame() -> None:
    with pytest.raises(ValueError, match="one frame"):
        space.to_dict(space.neutral(2))


def test_blend_endpoints_and_midpoint() -> None:
    base, target = random_frames(2, seed=1)
    np.testing.assert_array_equal(space.blend(base, target, 0.0), base)
    np.testing.assert_allclose(space.blend(base, target, 1.0), target, atol=1e-6)
    np.testing.assert_allclose(space.blend(base, target, 0.5), (base + target) / 2, atol=1e-6)


def test_blend_takes_per_field_weights_and_broadcasts_over_frames() -> None:
    base = random_frames(5, seed=2)
    target = space.from_dict({"smile": 1.0})
    weights = np.zeros(NUM_FIELDS)
    weights[space.index_of("smile")] = 1.0
    out = space.blend(base, target, weights)
    assert out.shape == base.shape
    np.testing.assert_array_equal(np.delete(out, space.index_of("smile"), axis=1),
                                  np.delete(base, space.index_of("smile"), axis=1))
    assert np.all(out[:, space.index_of("smile")] == 1.0)


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan"), np.ones(3)])
def test_blend_rejects_weights_outside_0_to_1_or_of_the_wrong_shape(weight: object) -> None:
    with pytest.raises(ValueError):
        space.blend(space.neutral(), space.neutral(), weight)  # type: ignore[arg-type]


def test_apply_partial_moves_only_the_named_fields() -> None:
    base = random_frames(3, seed=3)
    partial = {"smile": 1.0, "brow_up": 0.0}
    out = space.apply_partial(base, partial, strength=0.25)
    named = [space.index_of(name) for name in partial]
    others = [i for i in range(NUM_FIELDS) if i not in named]
    np.testing.assert_array_equal(out[:, others], base[:, others])
    for name, value in partial.items():
        i = space.index_of(name)
        np.testing.assert_allclose(out[:, i], base[:, i] + 0.25 * (value - base[:, i]), atol=1e-6)
    np.testing.assert_allclose(space.apply_partial(base, partial, 1.0)[:, named],
                               np.broadcast_to([1.0, 0.0], (3, 2)))


def test_interpolate_25_to_30_fps_is_exact_at_shared_times_and_linear_between() -> None:
    frames = random_frames(2 * MOTION_FPS, seed=4)
    times = np.arange(frames.shape[0]) / MOTION_FPS
    new_times = np.arange(2 * OUTPUT_FPS) / OUTPUT_FPS
    out = space.interpolate(times, frames, new_times)
    assert out.shape == (new_times.size, NUM_FIELDS) and out.dtype == np.float32
    # Every 0.2 s a 25 fps frame and a 30 fps frame coincide.
    shared_old = np.arange(0, times.size, MOTION_FPS // 5)
    shared_new = np.arange(0, new_times.size - 1, OUTPUT_FPS // 5)
    np.testing.assert_array_equal(out[shared_new], frames[shared_old])
    # 30 fps frame 1 (t = 1/30) lies 5/6 of the way from 25 fps frame 0 to frame 1.
    np.testing.assert_allclose(out[1], frames[0] + (frames[1] - frames[0]) * 5 / 6, atol=1e-6)


def test_interpolate_holds_the_end_frames_outside_the_known_range() -> None:
    frames = random_frames(3, seed=5)
    out = space.interpolate([0.0, 0.04, 0.08], frames, [-1.0, 0.08, 5.0])
    np.testing.assert_array_equal(out, frames[[0, 2, 2]])


def test_interpolate_rejects_times_that_do_not_increase() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        space.interpolate([0.0, 0.0], space.neutral(2), [0.0])


def test_motion_track_validates_and_freezes_its_arrays() -> None:
    track = MotionTrack.at_fps(random_frames(4, seed=6), fps=MOTION_FPS)
    np.testing.assert_allclose(track.times, [0.0, 0.04, 0.08, 0.12])
    with pytest.raises(ValueError):
        track.frames[0, 0] = 1.0
    with pytest.raises(ValueError, match="strictly increasing"):
        MotionTrack(np.array([0.0, 0.1, 0.05]), space.neutral(3))
    with pytest.raises(ValueError, match="shape"):
        MotionTrack(np.array([0.0, 0.1]), space.neutral(3))
    resampled = track.resample([0.02])
    np.testing.assert_allclose(resampled.frames[0], track.frames[:2].mean(axis=0), atol=1e-6)


# --- motion files ------------------------------------------------------------------------


@pytest.fixture
def track() -> MotionTrack:
    """A short in-range track at the model's rate, every field away from neutral."""
    return MotionTrack.at_fps(random_frames(7, seed=7), fps=MOTION_FPS, start=1.5)


def test_csv_round_trip_with_a_vad_column(tmp_path: Path, track: MotionTrack) -> None:
    path = tmp_path / "motion.csv"
    vad = np.array([0, 0, 1, 1, 1, 0, 0], dtype=np.float32)
    motion_io.write_csv(path, track, {"vad": vad})
    header = path.read_text().splitlines()[0].split(",")
    assert header == ["t", *FIELD_NAMES, "vad"]
    back, extras = motion_io.read_csv(path)
    np.testing.assert_allclose(back.times, track.times, rtol=0, atol=1e-12)
    np.testing.assert_allclose(back.frames, track.frames, rtol=0, atol=1e-7)
    assert list(extras) == ["vad"]
    np.testing.assert_array_equal(extras["vad"], vad)


def test_csv_columns_in_any_order_and_missing_fields_are_neutral(tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    path.write_text("jaw_open, t ,yaw\n0.5,0,10\n1,0.04,-10\n")
    back, extras = motion_io.read_csv(path)
    assert extras == {}
    np.testing.assert_array_equal(back.times, [0.0, 0.04])
    expected = space.neutral(2)
    expected[:, space.index_of("jaw_open")] = [0.5, 1.0]
    expected[:, space.index_of("yaw")] = [10.0, -10.0]
    np.testing.assert_array_equal(back.frames, expected)


def test_csv_unknown_column_is_an_error_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("t,smile,energy\n0,1,0.3\n")
    with pytest.raises(MotionFileError, match="unknown column 'energy'.*jaw_open"):
        motion_io.read_csv(path)
    _, extras = motion_io.read_csv(path, allowed_extras=("energy",))
    np.testing.assert_allclose(extras["energy"], [0.3])


def test_json_round_trip_with_a_vad_column(tmp_path: Path, track: MotionTrack) -> None:
    path = tmp_path / "motion.json"
    vad = np.linspace(0, 1, 7, dtype=np.float32)
    motion_io.write_json(path, track, {"vad": vad})
    doc = json.loads(path.read_text())
    assert doc["fields"] == list(FIELD_NAMES) and len(doc["frames"]) == 7
    back, extras = motion_io.read_json(path)
    np.testing.assert_array_equal(back.times, track.times)
    np.testing.assert_array_equal(back.frames, track.frames)
    np.testing.assert_array_equal(extras["vad"], vad)


def test_writers_reject_extras_that_do_not_fit(tmp_path: Path, track: MotionTrack) -> None:
    with pytest.raises(ValueError, match="shadow"):
        motion_io.write_csv(tmp_path / "a.csv", track, {"smile": np.zeros(7)})
    with pytest.raises(ValueError, match="7 finite values"):
        motion_io.write_json(tmp_path / "a.json", track, {"vad": np.zeros(3)})


BAD_CSV = {
    "empty": ("", "is empty"),
    "blank lines only": ("\n \n", "is empty"),
    "no time column": ("yaw,smile\n1,0\n", "no 't' column"),
    "header only": ("t,yaw\n", "no frames"),
    "non-numeric cell": ("t,yaw\n0,left\n", "'left' at line 2, column 'yaw'"),
    "nan cell": ("t,yaw\n0,nan\n", "'nan' at line 2"),
    "short row": ("t,yaw\n0,1\n0.04\n", "1 cells on line 3"),
    "duplicate column": ("t,yaw,yaw\n0,1,2\n", "'yaw' twice"),
    "times go back": ("t,yaw\n0.04,1\n0,2\n", "strictly increasing"),
}

BAD_JSON = {
    "empty": ("", "is empty"),
    "not json": ("{fields: 1}", "not valid JSON"),
    "other json": ('{"a": 1}', "not an avatarcam motion file"),
    "newer version": ('{"format": "avatarcam-motion", "version": 9}', "version 9"),
    "no frames": (
        '{"format": "avatarcam-motion", "version": 1, "fields": ["yaw"], "t": [0]}',
        "no 'frames' entry",
    ),
    "frames do not match fields": (
        '{"format": "avatarcam-motion", "version": 1, "fields": ["yaw"], "t": [0],'
        ' "frames": [[1, 2]]}',
        "shape",
    ),
    "non-numeric frames": (
        '{"format": "avatarcam-motion", "version": 1, "fields": ["yaw"], "t": [0],'
        ' "frames": [["x"]]}',
        "non-numeric",
    ),
    "unknown field": (
        '{"format": "avatarcam-motion", "version": 1, "fields": ["grin"], "t": [0],'
        ' "frames": [[1]]}',
        "unknown column 'grin'",
    ),
}


def assert_one_clear_sentence(err: MotionFileError, path: Path) -> None:
    """The error is user-facing: one line naming the file, ending a sentence."""
    message = str(err)
    assert isinstance(err, ValueError) and isinstance(err, AvatarcamError)
    assert str(path) in message and "\n" not in message and message.endswith(".")


@pytest.mark.parametrize("text, expected", BAD_CSV.values(), ids=BAD_CSV.keys())
def test_bad_csv_files_raise_one_clear_sentence(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(MotionFileError, match=expected) as info:
        motion_io.read_csv(path)
    assert_one_clear_sentence(info.value, path)


@pytest.mark.parametrize("text, expected", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_bad_json_files_raise_one_clear_sentence(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(MotionFileError, match=expected) as info:
        motion_io.read_json(path)
    assert_one_clear_sentence(info.value, path)


def test_missing_and_unwritable_files_are_motion_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(MotionFileError, match="cannot be read") as info:
        motion_io.read_csv(missing)
    assert_one_clear_sentence(info.value, missing)
    unwritable = tmp_path / "no-such-folder" / "out.json"
    with pytest.raises(MotionFileError, match="cannot be written"):
        motion_io.write_json(unwritable, MotionTrack.at_fps(space.neutral(1), fps=MOTION_FPS))


# --- the README table --------------------------------------------------------------------


def test_table_script_lists_every_field_in_order() -> None:
    table = load_table_script().markdown_table().splitlines()
    rows = table[2:]
    assert len(rows) == NUM_FIELDS
    for position, (row, field) in enumerate(zip(rows, FIELDS)):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[:3] == [str(position), f"`{field.name}`", field.group]
        assert cells[-1] == field.description


def test_table_script_prints_the_table() -> None:
    printed = subprocess.run(
        [sys.executable, str(TABLE_SCRIPT)], capture_output=True, text=True, check=True
    ).stdout
    assert printed.strip() == load_table_script().markdown_table()


def test_readme_table_matches_the_motion_space() -> None:
    script = load_table_script()
    readme = REPO_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if script.START_MARKER not in text or script.END_MARKER not in text:
        pytest.skip(
            f"README.md has no {script.START_MARKER} … {script.END_MARKER} section yet; "
            "paste the output of tools/readme_motion_table.py between those markers"
        )
    section = text.split(script.START_MARKER, 1)[1].split(script.END_MARKER, 1)[0]
    assert section.strip() == script.markdown_table(), (
        "README.md's motion-field table is stale: replace it with the output of "
        "`python tools/readme_motion_table.py`"
    )
