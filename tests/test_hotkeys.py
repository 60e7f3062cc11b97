"""Global hotkeys through a real X server (Xvfb) with real key presses (xdotool)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from avatarcam.control.hotkeys import HotkeyBindingError, HotkeyListener, HotkeysUnavailable, why_unavailable
from tests.conftest import REPO_ROOT

MAX_DELAY_S = 0.15
MAX_STEP = 0.3  # largest change of a field's weight per 40 ms frame while easing in


def test_chord_sends_the_preset_within_150_ms_and_eases_in(xvfb_display: str) -> None:
    env = {**os.environ, "DISPLAY": xvfb_display}
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("XDG_SESSION_TYPE", None)
    probe = subprocess.Popen([sys.executable, "-m", "tests.hotkey_probe"], cwd=REPO_ROOT, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout is not None and probe.stdout.readline().strip() == "ready"
        delays = []
        for _ in range(3):
            sent = time.monotonic()
            subprocess.run(["xdotool", "key", "ctrl+alt+1"], env=env, check=True)
            action, arrived, curve = probe.stdout.readline().split()
            assert action == "preset:smile"
            delays.append(float(arrived) - sent)
            weights = [float(w) for w in curve.split(",")]
            subprocess.run(["xdotool", "key", "ctrl+alt+0"], env=env, check=True)
            assert probe.stdout.readline().startswith("preset:neutral")
        print(f"key chord → preset delays: {[round(d * 1000, 1) for d in delays]} ms; smile weight {weights}")
        assert max(delays) < MAX_DELAY_S
        steps = [b - a for a, b in zip(weights, weights[1:])]
        assert weights[-1] > 0.7 and all(-1e-6 <= s <= MAX_STEP for s in steps)
    finally:
        probe.communicate(timeout=10)


@pytest.mark.parametrize("environ, words", [
    ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "Wayland"),
    ({}, "no X display"),
])
def test_hotkeys_off_say_why_in_one_sentence(environ: dict[str, str], words: str) -> None:
    reason = why_unavailable(environ, "linux")
    assert reason is not None and words in reason and reason.count(". ") == 0


def test_listener_without_display_raises_the_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs an X display for hotkeys")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(HotkeysUnavailable, match="Global hotkeys are off"):
        HotkeyListener({"<ctrl>+<alt>+1": "preset:smile"}, print).start()


def test_bad_chord_is_one_sentence() -> None:
    with pytest.raises(HotkeyBindingError, match="is not a key chord"):
        HotkeyListener({"ctrl alt 1": "preset:smile"}, print)
