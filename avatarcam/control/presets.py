"""Expression presets read from a TOML file and checked against the motion space.

A preset is a partial motion vector (only the fields it sets), a strength saying how far
those fields override the motion model, and how long it takes to ease in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from avatarcam.control.toml_file import read_toml
from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import FIELD_NAMES, FIELDS, index_of


PRESET_KEYS = ("description", "values", "strength", "transition_ms")
# Below this (two and a half 40 ms motion frames) easing in would look like a jump.
MIN_TRANSITION_MS = 100.0
MAX_TRANSITION_MS = 5000.0


class PresetError(AvatarcamError):
    """The presets file cannot be used as written."""


@dataclass(frozen=True)
class Preset:
    """One named expression."""

    name: str
    values: Mapping[str, float]  # field name -> target value, only the fields it sets
    strength: float  # 0 … 1: how far the set fields override the model
    transition_s: float  # how long easing in takes
    description: str = ""


def _number(path: Path, name: str, key: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise PresetError(f"Preset [{name}] in {path} has {key} = {value!r}; it must be a number "
                          f"from {low:g} to {high:g}.")
    return float(value)


def _preset(path: Path, name: str, raw: object) -> Preset:
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: [{name}] must be a table with {', '.join(PRESET_KEYS)}.")
    unknown = sorted(set(raw) - set(PRESET_KEYS))
    if unknown:
        raise PresetError(f"Preset [{name}] in {path} has an unknown key {unknown[0]!r}; "
                          f"known keys: {', '.join(PRESET_KEYS)}.")
    values = raw.get("values", {})
    if not isinstance(values, dict):
        raise PresetError(f"Preset [{name}] in {path}: values must be a table of field = number.")
    checked = {}
    for field, value in values.items():
        if field not in FIELD_NAMES:
            raise PresetError(f"Preset [{name}] in {path} sets {field!r}, which is not a motion field; "
                              f"fields: {', '.join(FIELD_NAMES)}.")
        spec = FIELDS[index_of(field)]
        checked[field] = _number(path, name, f"values.{field}", value, spec.low, spec.high)
    return Preset(
        name=name, values=checked,
        strength=_number(path, name, "strength", raw.get("strength", 1.0), 0.0, 1.0),
        transition_s=_number(path, name, "transition_ms", raw.get("transition_ms", 250),
                             MIN_TRANSITION_MS, MAX_TRANSITION_MS) / 1000.0,
        description=str(raw.get("description", "")),
    )


def load_presets(path: Path) -> dict[str, Preset]:
    """Every preset in the TOML file at `path`, by name."""
    raw = read_toml(path, f"The presets file {path}", "check [presets] file in your settings.", PresetError)
    if not raw:
        raise PresetError(f"The presets file {path} defines no preset; add at least one [name] table.")
    return {name: _preset(Path(path), name, table) for name, table in raw.items()}
