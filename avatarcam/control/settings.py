"""The settings file (TOML): read once, checked against the dataclasses it configures.

A wrong key or value is a one-sentence error naming the file, the section and the key, so
a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatarcam.audio.vad import VadConfig
from avatarcam.control.toml_file import read_toml
from avatarcam.errors import AvatarcamError



DEFAULT_PRESETS = Path(__file__).resolve().parents[2] / "configs" / "presets.toml"
DEFAULT_HOTKEYS = {
    **{f"<ctrl>+<alt>+{n}": f"preset:{name}" for n, name in enumerate(
        ("neutral", "smile", "laugh", "surprised", "sad", "angry", "thinking", "wink", "sceptical",
         "attentive"))},
    "<ctrl>+<alt>+m": "toggle:mute",
    "<ctrl>+<alt>+f": "toggle:freeze",
    "<ctrl>+<alt>+l": "toggle:look_at_camera",
}


class SettingsError(AvatarcamError):
    """The settings file cannot be used as written."""


@dataclass(frozen=True)
class AudioSettings:
    """Which microphone to open, and at what rate."""

    device: str | int | None = None  # name, unique part of a name, or index; None: default input
    rate: int | None = None  # Hz; None: the device's own default


@dataclass(frozen=True)
class PresetSettings:
    """Where the expression presets are."""

    file: Path = DEFAULT_PRESETS  # a TOML file like configs/presets.toml


@dataclass(frozen=True)
class HotkeySettings:
    """Global hotkeys: key chord -> action ("preset:NAME" or "toggle:mute|freeze|look_at_camera")."""

    bindings: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HOTKEYS))


@dataclass(frozen=True)
class Settings:
    """Everything the settings file can set."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    vad: VadConfig = field(default_factory=VadConfig)
    presets: PresetSettings = field(default_factory=PresetSettings)
    hotkeys: HotkeySettings = field(default_factory=HotkeySettings)


def load_settings(path: Path | None) -> Settings:
    """Settings from `path`, or the defaults when `path` is None."""
    if path is None:
        return Settings()
    raw = read_toml(path, f"The settings file {str(path)!r}", "check the path.", SettingsError)
    sections = {f.name: f.type for f in dataclasses.fields(Settings)}
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise SettingsError(
            f"The settings file {str(path)!r} has an unknown section [{unknown[0]}]; known sections: "
            f"{', '.join(sorted(sections))}."
        )
    presets = _build(PresetSettings, raw.get("presets", {}), "presets", path)
    hotkeys = raw.get("hotkeys", {})
    if not all(isinstance(v, str) for v in hotkeys.values()):
        raise SettingsError(f"The settings file {str(path)!r} binds a hotkey to something other than "
                            "an action name in [hotkeys]; write e.g. \"<ctrl>+<alt>+1\" = \"preset:smile\".")
    return Settings(
        audio=_build(AudioSettings, raw.get("audio", {}), "audio", path),
        vad=_build(VadConfig, raw.get("vad", {}), "vad", path),
        presets=PresetSettings(Path(path).parent / presets.file) if "presets" in raw else presets,
        hotkeys=HotkeySettings({**DEFAULT_HOTKEYS, **hotkeys}),
    )


def _build(cls: type, values: dict[str, Any], section: str, path: Path) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(
            f"The settings file {str(path)!r} has an unknown key {unknown[0]!r} in [{section}]; "
            f"known keys: {', '.join(sorted(known))}."
        )
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise SettingsError(f"The settings file {str(path)!r} has a bad value in [{section}]: {err}.") from err
