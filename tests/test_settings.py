"""The settings file: the shipped one states the defaults; mistakes are one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatarcam.audio.vad import VadConfig
from avatarcam.control.settings import Settings, SettingsError, load_settings
from tests.conftest import REPO_ROOT


def test_shipped_settings_file_states_the_defaults() -> None:
    assert load_settings(REPO_ROOT / "configs" / "avatarcam.toml") == Settings()


def test_values_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[audio]\ndevice = "USB"\nrate = 44100\n[vad]\nhangover_ms = 450\n')
    settings = load_settings(path)
    assert settings.audio.device == "USB" and settings.audio.rate == 44100
    assert settings.vad == VadConfig(hangover_ms=450)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[vad]\nattak_ms = 3\n", "unknown key 'attak_ms' in [vad]; known keys: aggressiveness"),
        ("[video]\nfps = 30\n", "unknown section [video]; known sections: audio, hotkeys, presets, vad"),
        ("[vad]\nframe_ms = 25\n", "bad value in [vad]: VAD frame_ms must be one of (10, 20, 30), not 25"),
        ("[vad\n", "is not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
