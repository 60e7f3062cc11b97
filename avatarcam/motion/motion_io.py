"""Motion tracks on disk: CSV (one row per frame) and JSON, both readable back exactly.

Motion files let a user inspect what the model produced, edit it, and replay it through
the renderer. Columns are matched by name, so a hand-written file may hold only the
fields it cares about (the rest are neutral) in any order; a misspelt column is an error
rather than silently neutral. Besides the motion fields a file may carry per-frame extra
columns (such as voice activity) that tools add for inspection.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import FIELD_NAMES, MotionTrack, as_finite, index_of, neutral

TIME_COLUMN = "t"  # seconds from the start of the track
EXTRA_COLUMNS = ("vad",)  # extra per-frame columns readers accept unless told otherwise
_FORMAT = "avatarcam-motion"  # JSON "format" tag, so other JSON is recognised as such
_VERSION = 1

Column = npt.NDArray[np.float32]
Extras = dict[str, Column]


class MotionFileError(AvatarcamError, ValueError):
    """A motion file cannot be read or written: missing, empty, malformed, unknown columns."""


def _describe(path: Path) -> str:
    """How messages name a motion file."""
    return f"The motion file {str(path)!r}"


def _empty(path: Path) -> MotionFileError:
    """The error for a file with nothing in it."""
    return MotionFileError(f"{_describe(path)} is empty; write or export the motion again.")


def _read_text(path: Path) -> str:
    """The file's text, with unreadable or blank files reported as `MotionFileError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often add a BOM
    except (OSError, UnicodeDecodeError) as err:
        raise MotionFileError(f"{_describe(path)} cannot be read ({err}); check the path.") from err
    if not text.strip():
        raise _empty(path)
    return text


def _write_text(path: Path, text: str) -> None:
    """Write `text`, reporting an unwritable path as `MotionFileError`."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise MotionFileError(
            f"{_describe(path)} cannot be written ({err}); check the folder exists and is writable."
        ) from err


def _number(path: Path, where: str, cell: object) -> float:
    """One cell as a finite float, or a `MotionFileError` saying where the bad cell is."""
    value = as_finite(cell)
    if value is None:
        raise MotionFileError(f"{_describe(path)} has {cell!r} at {where}, which is not a number.")
    return value


def _check_names(path: Path, names: Iterable[str], allowed_extras: Iterable[str]) -> None:
    """Reject duplicate or unknown column names, listing the valid ones."""
    valid = (TIME_COLUMN, *FIELD_NAMES, *allowed_extras)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MotionFileError(f"{_describe(path)} has the column {name!r} twice; keep one.")
        if name not in valid:
            raise MotionFileError(
                f"{_describe(path)} has an unknown column {name!r}; "
                f"valid columns are: {', '.join(valid)}."
            )
        seen.add(name)


def _assemble(
    path: Path, columns: Mapping[str, npt.NDArray[np.float64]]
) -> tuple[MotionTrack, Extras]:
    """A track from checked, equal-length named columns: absent fields are neutral."""
    if TIME_COLUMN not in columns:
        raise MotionFileError(
            f"{_describe(path)} has no {TIME_COLUMN!r} column; add frame times in seconds."
        )
    times = columns[TIME_COLUMN]
    frames = neutral(times.size)
    extras: Extras = {}
    for name, values in columns.items():
        if name in FIELD_NAMES:
            frames[:, index_of(name)] = values
        elif name != TIME_COLUMN:
            extras[name] = values.astype(np.float32)
    try:
        track = MotionTrack(times, frames)
    except ValueError as err:
        raise MotionFileError(f"{_describe(path)} is not a valid track: {err}.") from err
    return track, extras


def _check_extras(track: MotionTrack, extras: Mapping[str, npt.ArrayLike]) -> Extras:
    """Extra columns as float32, one finite value per frame, not shadowing a field or time."""
    checked: Extras = {}
    for name, values in extras.items():
        if name == TIME_COLUMN or name in FIELD_NAMES:
            raise ValueError(f"extra column {name!r} would shadow a motion column")
        column = np.asarray(values, dtype=np.float32)
        if column.shape != track.times.shape or not np.all(np.isfinite(column)):
            raise ValueError(
                f"extra column {name!r} needs {track.times.size} finite values, "
                f"got shape {column.shape}"
            )
        checked[name] = column
    return checked


def _shortest(value: np.floating) -> str:
    """The shortest decimal that reads back as exactly `value` (float32 or float64)."""
    return str(value)


def read_csv(
    path: str | Path, allowed_extras: Iterable[str] = EXTRA_COLUMNS
) -> tuple[MotionTrack, Extras]:
    """A track and its extra columns from a CSV whose header names `t` and any fields."""
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_text(path)))
    lines = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not lines:
        raise _empty(path)
    header = [name.strip() for name in lines[0][1]]
    _check_names(path, header, allowed_extras)
    if len(lines) == 1:
        raise MotionFileError(f"{_describe(path)} has a header but no frames.")
    rows: list[list[float]] = []
    for line_num, row in lines[1:]:
        if len(row) != len(header):
            raise MotionFileError(
                f"{_describe(path)} has {len(row)} cells on line {line_num} "
                f"but {len(header)} columns in its header."
            )
        rows.append([
            _number(path, f"line {line_num}, column {name!r}", cell)
            for name, cell in zip(header, row)
        ])
    table = np.array(rows, dtype=np.float64)
    return _assemble(path, {name: table[:, i] for i, name in enumerate(header)})


def write_csv(
    path: str | Path, track: MotionTrack, extras: Mapping[str, npt.ArrayLike] | None = None
) -> None:
    """Write `t`, every field in canonical order, then any extra columns, one row per frame."""
    checked = _check_extras(track, extras or {})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([TIME_COLUMN, *FIELD_NAMES, *checked])
    for i, t in enumerate(track.times):
        writer.writerow([
            _shortest(t),
            *(_shortest(v) for v in track.frames[i]),
            *(_shortest(column[i]) for column in checked.values()),
        ])
    _write_text(Path(path), out.getvalue())


def _json_numbers(values: Iterable[np.floating]) -> list[float]:
    """Values as JSON numbers written in their shortest exact decimal form."""
    return [float(_shortest(v)) for v in values]


def _json_array(
    path: Path, doc: Mapping[str, object], key: str, ndim: int
) -> npt.NDArray[np.float64]:
    """`doc[key]` as a float64 array of `ndim` dimensions, or a `MotionFileError`."""
    try:
        array = np.array(doc[key], dtype=np.float64)
    except KeyError:
        raise MotionFileError(f"{_describe(path)} has no {key!r} entry.") from None
    except (TypeError, ValueError):
        raise MotionFileError(f"{_describe(path)} has non-numeric or ragged {key!r}.") from None
    if array.ndim != ndim or not np.all(np.isfinite(array)):
        raise MotionFileError(
            f"{_describe(path)} needs {key!r} as {ndim}-D finite numbers, got shape {array.shape}."
        )
    return array


def read_json(
    path: str | Path, allowed_extras: Iterable[str] = EXTRA_COLUMNS
) -> tuple[MotionTrack, Extras]:
    """A track and its extra columns from a file written by `write_json` (or by hand)."""
    path = Path(path)
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise MotionFileError(f"{_describe(path)} is not valid JSON ({err}).") from err
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise MotionFileError(f"{_describe(path)} is not an avatarcam motion file.")
    if doc.get("version") != _VERSION:
        raise MotionFileError(
            f"{_describe(path)} has format version {doc.get('version')!r}, but this avatarcam "
            f"reads version {_VERSION}; export it again with this version."
        )
    names = doc.get("fields")
    raw_extras = doc.get("extras", {})
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise MotionFileError(f"{_describe(path)} needs 'fields' as a list of field names.")
    if not isinstance(raw_extras, dict):
        raise MotionFileError(f"{_describe(path)} needs 'extras' as an object of columns.")
    _check_names(path, [TIME_COLUMN, *names, *raw_extras], allowed_extras)
    times = _json_array(path, doc, TIME_COLUMN, 1)
    frames = _json_array(path, doc, "frames", 2)
    if frames.shape != (times.size, len(names)):
        raise MotionFileError(
            f"{_describe(path)} needs 'frames' of shape ({times.size}, {len(names)}) to match "
            f"'t' and 'fields', got {frames.shape}."
        )
    columns = {TIME_COLUMN: times, **{name: frames[:, i] for i, name in enumerate(names)}}
    for name in raw_extras:
        columns[name] = _json_array(path, raw_extras, name, 1)
        if columns[name].size != times.size:
            raise MotionFileError(f"{_describe(path)} needs one {name!r} value per frame.")
    return _assemble(path, columns)


def write_json(
    path: str | Path, track: MotionTrack, extras: Mapping[str, npt.ArrayLike] | None = None
) -> None:
    """Write the track (all fields, canonical order) and any extra columns as JSON."""
    checked = _check_extras(track, extras or {})
    doc = {
        "format": _FORMAT,
        "version": _VERSION,
        "fields": list(FIELD_NAMES),
        TIME_COLUMN: _json_numbers(track.times),
        "frames": [_json_numbers(frame) for frame in track.frames],
        "extras": {name: _json_numbers(column) for name, column in checked.items()},
    }
    _write_text(Path(path), json.dumps(doc) + "\n")
