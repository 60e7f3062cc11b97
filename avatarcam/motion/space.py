"""The motion space: the one ordered list of named face-state fields, and vector helpers.

The renderer, the motion model, presets, hotkeys, motion files and tests all import the
fields from here, so a vector means the same thing everywhere. The space is absolute: the
all-zero vector is a relaxed neutral face (lips closed, eyes open, looking ahead, head
frontal) on every portrait, not "whatever the photo shows". The only exceptions are
`tx`, `ty` and `scale`, which are measured from where the portrait has the head, since a
photo's framing has no neutral of its own.

Sign conventions (the viewer looks at the image; "the person" is the face in it):

- `yaw > 0` turns the nose toward the image's right (the person turns to their own left).
- `pitch > 0` raises the chin: the face looks up.
- `roll > 0` tilts the head clockwise as the viewer sees it (the top of the head moves
  toward the image's right).
- `tx > 0` moves the head toward the image's right; `ty > 0` moves it down the image.
- `gaze_x > 0` moves the irises toward the image's right and `gaze_y > 0` moves them up,
  so a head turn and a gaze with the same signs point the same way.
- `_l` / `_r` name the person's own left / right eye (`blink_l` is on the image's right).

Vectors are float32 numpy arrays of shape `(NUM_FIELDS,)` for one frame or
`(T, NUM_FIELDS)` for `T` frames, fields in `FIELD_NAMES` order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatarcam.errors import AvatarcamError

ArrayLike = npt.ArrayLike
Vector = npt.NDArray[np.float32]

GROUPS = ("head", "mouth", "eyes", "brows")

# Units, as written in the field table.
DEGREES = "degrees"
FACE_HEIGHTS = "face heights"  # fraction of the portrait's face height (brow to chin)
LOG_RATIO = "ln(size ratio)"  # natural log of head size over its size in the portrait
AMOUNT = "amount"  # 0 = absent, 1 = as strong as a face makes it
EYE_TRAVEL = "eye travel"  # -1 / 1 = irises as far as they comfortably go

# Ranges: wide enough for expressive talking, narrow enough for one photo to stay credible.
MAX_ROTATION_DEG = 25.0
MAX_SHIFT = 0.5
MAX_LOG_SCALE = 0.4


@dataclass(frozen=True)
class MotionField:
    """One named axis of the motion space, with what it means and the values it may take."""

    name: str  # the key used in presets, CSV headers and hotkey bindings
    group: str  # one of GROUPS, for tables and per-group weights
    unit: str
    low: float  # smallest meaningful value; `clamp` enforces it
    high: float  # largest meaningful value; `clamp` enforces it
    description: str  # one line for the README and `--help`
    neutral: float = 0.0  # the relaxed neutral face; 0 for every field (the space is absolute)


def _rotation(name: str, description: str) -> MotionField:
    """A head rotation in degrees, symmetric about frontal."""
    return MotionField(name, "head", DEGREES, -MAX_ROTATION_DEG, MAX_ROTATION_DEG, description)


def _shift(name: str, description: str) -> MotionField:
    """A head translation in face heights, measured from where the portrait has the head."""
    return MotionField(name, "head", FACE_HEIGHTS, -MAX_SHIFT, MAX_SHIFT, description)


def _amount(name: str, group: str, description: str) -> MotionField:
    """A 0..1 activation that is absent on the neutral face."""
    return MotionField(name, group, AMOUNT, 0.0, 1.0, description)


def _gaze(name: str, description: str) -> MotionField:
    """An eye direction as a signed fraction of the eyes' comfortable travel."""
    return MotionField(name, "eyes", EYE_TRAVEL, -1.0, 1.0, description)


FIELDS: tuple[MotionField, ...] = (
    _rotation("yaw", "Head turn; > 0 turns the nose toward the image's right (person's left)."),
    _rotation("pitch", "Head nod; > 0 raises the chin so the face looks up."),
    _rotation("roll", "Head tilt; > 0 is clockwise as seen: crown toward the image's right."),
    _shift("tx", "Sideways head shift; > 0 moves toward the image's right."),
    _shift("ty", "Vertical head shift; > 0 moves down the image."),
    MotionField(
        "scale", "head", LOG_RATIO, -MAX_LOG_SCALE, MAX_LOG_SCALE,
        "Head size against the portrait's; > 0 is larger, as when leaning in.",
    ),
    _amount("jaw_open", "mouth", "Jaw drop: 0 closed … 1 wide open."),
    _amount("lip_press", "mouth", "Lips pressed together, as in the closure of m, b and p."),
    _amount("mouth_wide", "mouth", "Mouth corners stretched sideways, as in ee."),
    _amount("mouth_round", "mouth", "Lips rounded and pushed forward, as in oo and w."),
    _amount("smile", "mouth", "Mouth corners pulled up and back."),
    _amount("frown", "mouth", "Mouth corners pulled down."),
    _amount("upper_lip_raise", "mouth", "Upper lip lifted off the upper teeth, as in a sneer."),
    _amount("blink_l", "eyes", "Person's own left eye (image right) closing: 0 open … 1 closed."),
    _amount("blink_r", "eyes", "Person's own right eye (image left) closing: 0 open … 1 closed."),
    _gaze("gaze_x", "Eyes look sideways; > 0 moves the irises toward the image's right."),
    _gaze("gaze_y", "Eyes look up or down; > 0 moves the irises up."),
    _amount("eye_wide", "eyes", "Both eyes opened wider than relaxed, as in surprise."),
    _amount("squint", "eyes", "Lower lids raised, narrowing both eyes."),
    _amount("brow_up", "brows", "Both whole brows raised."),
    _amount("brow_down", "brows", "Brows lowered and drawn together, as in anger or focus."),
    _amount("brow_inner_up", "brows", "Inner ends of the brows raised, as in worry or sadness."),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
NUM_FIELDS = len(FIELDS)
_INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}


def _frozen_array(values: Iterable[float]) -> Vector:
    """A read-only float32 vector, so module-level tables cannot be changed by accident."""
    array = np.array(list(values), dtype=np.float32)
    array.flags.writeable = False
    return array


LOWER_BOUNDS = _frozen_array(f.low for f in FIELDS)
UPPER_BOUNDS = _frozen_array(f.high for f in FIELDS)
NEUTRAL = _frozen_array(f.neutral for f in FIELDS)

assert len(_INDEX) == NUM_FIELDS, "field names must be unique"
assert all(f.group in GROUPS for f in FIELDS), "every field belongs to a known group"
assert np.all(LOWER_BOUNDS <= NEUTRAL) and np.all(NEUTRAL <= UPPER_BOUNDS), "neutral in range"


class UnknownFieldError(AvatarcamError, ValueError):
    """A name (in a preset, hotkey binding or call) that is not a field of the motion space."""


def index_of(name: str) -> int:
    """Position of field `name` in a vector; raises `UnknownFieldError` listing valid names."""
    try:
        return _INDEX[name]
    except KeyError:
        raise UnknownFieldError(
            f"{name!r} is not a motion field; valid fields are: {', '.join(FIELD_NAMES)}."
        ) from None


def as_vector(v: ArrayLike) -> Vector:
    """`v` as float32 with fields on the last axis, rejecting any other shape early."""
    array = np.asarray(v, dtype=np.float32)
    if array.ndim not in (1, 2) or array.shape[-1] != NUM_FIELDS:
        raise ValueError(
            f"a motion vector has shape ({NUM_FIELDS},) or (T, {NUM_FIELDS}), got {array.shape}"
        )
    return array


def neutral(frames: int | None = None) -> Vector:
    """A fresh neutral vector, or `frames` neutral frames when a count is given."""
    if frames is None:
        return NEUTRAL.copy()
    return np.tile(NEUTRAL, (frames, 1))


def clamp(v: ArrayLike) -> Vector:
    """`v` with every field limited to its range, so no stage hands on an impossible face."""
    return np.clip(as_vector(v), LOWER_BOUNDS, UPPER_BOUNDS)


def field_mask(names: Iterable[str]) -> npt.NDArray[np.bool_]:
    """True at the fields named, for per-field weights; unknown names raise."""
    mask = np.zeros(NUM_FIELDS, dtype=bool)
    for name in names:
        mask[index_of(name)] = True
    return mask


def as_finite(value: object) -> float | None:
    """`value` as a float when it is a finite number, else None (text, NaN, infinity)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _finite_value(name: str, value: object) -> float:
    """`value` as a float, or a ValueError naming the field when it is not a finite number."""
    number = as_finite(value)
    if number is None:
        raise ValueError(f"motion field {name!r} must be a finite number, got {value!r}")
    return number


def from_dict(partial: Mapping[str, float]) -> Vector:
    """A full vector from named values (as in presets and hotkeys); unnamed fields are neutral.

    Values are kept as given, not clamped, so a caller can tell an out-of-range preset.
    """
    v = neutral()
    for name, value in partial.items():
        v[index_of(name)] = _finite_value(name, value)
    return v


def to_dict(v: ArrayLike) -> dict[str, float]:
    """One frame as `{field name: value}`, in field order, for presets, logs and JSON."""
    array = as_vector(v)
    if array.ndim != 1:
        raise ValueError(f"to_dict takes one frame of shape ({NUM_FIELDS},), got {array.shape}")
    return {name: float(value) for name, value in zip(FIELD_NAMES, array)}


def blend(base: ArrayLike, target: ArrayLike, weight: ArrayLike) -> Vector:
    """Move `base` toward `target` by `weight` (0 keeps base, 1 gives target).

    `weight` is a scalar or one value per field, so a preset can override some fields of
    the model's output fully and others partly.
    """
    base_v, target_v = as_vector(base), as_vector(target)
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim > 1 or (w.ndim == 1 and w.shape != (NUM_FIELDS,)):
        raise ValueError(f"a blend weight is a scalar or has shape ({NUM_FIELDS},), got {w.shape}")
    if not np.all((w >= 0.0) & (w <= 1.0)):  # also rejects NaN
        raise ValueError("blend weights must lie in 0..1")
    return base_v + w * (target_v - base_v)


def apply_partial(base: ArrayLike, partial: Mapping[str, float], strength: float) -> Vector:
    """Blend only the fields `partial` names toward its values by `strength`; others stay."""
    weights = field_mask(partial).astype(np.float32) * np.float32(strength)
    return blend(base, from_dict(partial), weights)


def _check_times(times: ArrayLike, what: str) -> npt.NDArray[np.float64]:
    """`times` as a 1-D float64 array of finite seconds, strictly increasing."""
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{what} must be finite")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"{what} must be strictly increasing")
    return t


def interpolate(times: ArrayLike, frames: ArrayLike, new_times: ArrayLike) -> Vector:
    """Frames at `new_times`, linear per field between known frames (e.g. 25 fps to 30 fps).

    Before the first or after the last known time the end frame is held, so resampling
    never invents motion the model did not produce.
    """
    t = _check_times(times, "times")
    f = as_vector(frames)
    if f.ndim != 2 or f.shape[0] != t.size:
        raise ValueError(f"frames must have shape ({t.size}, {NUM_FIELDS}), got {f.shape}")
    query = np.asarray(new_times, dtype=np.float64)
    if query.ndim != 1:
        raise ValueError(f"new_times must be 1-D, got shape {query.shape}")
    columns = [np.interp(query, t, f[:, i]) for i in range(NUM_FIELDS)]
    return np.stack(columns, axis=-1).astype(np.float32)


@dataclass(frozen=True, eq=False)
class MotionTrack:
    """Motion over time: frame `i` of `frames` is the face state at `times[i]` seconds.

    Arrays are validated and made read-only on construction, so a track passed between
    stages cannot be changed under another stage's feet.
    """

    times: npt.NDArray[np.float64]  # (T,) seconds, strictly increasing
    frames: Vector  # (T, NUM_FIELDS)

    def __post_init__(self) -> None:
        times = _check_times(self.times, "track times").copy()
        frames = as_vector(self.frames).copy()
        if frames.ndim != 2 or frames.shape[0] != times.size:
            raise ValueError(
                f"a track with {times.size} times needs frames of shape "
                f"({times.size}, {NUM_FIELDS}), got {frames.shape}"
            )
        if not np.all(np.isfinite(frames)):
            raise ValueError("track frames must be finite")
        times.flags.writeable = False
        frames.flags.writeable = False
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "frames", frames)

    @classmethod
    def at_fps(cls, frames: ArrayLike, fps: float, start: float = 0.0) -> MotionTrack:
        """A track of evenly spaced frames, as the motion model emits them."""
        count = as_vector(frames).shape[0]
        return cls(start + np.arange(count, dtype=np.float64) / fps, frames)

    def resample(self, new_times: ArrayLike) -> MotionTrack:
        """This motion at other times, e.g. the output camera's frame times."""
        return MotionTrack(np.asarray(new_times, dtype=np.float64),
                           interpolate(self.times, self.frames, new_times))
