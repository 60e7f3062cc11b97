"""Global hotkeys through a real X server (Xvfb) with real key presses (xdotool)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from avatarcam.control.hotkeys import HotkeyBindingError, HotkeyListener, HotkeysUnavailable, why_unavailable
from tests.conftest import REPO_ROOT, running_xvfb

MAX_DELAY_S = 0.15
MAX_STEP = 0.3  # largest change of a field's weight per 40 ms frame while easing in
MAX_STOP_S = 0.5  # stop() must end pynput's thread at once, not on the next key press
PRESSES = 5
X_SOCKETS = Path("/tmp/.X11-unix")

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only Linux needs an X display")


def _x_env(display: str) -> dict[str, str]:
    env = {**os.environ, "DISPLAY": display}
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("XDG_SESSION_TYPE", None)
    return env


def _use_display(monkeypatch: pytest.MonkeyPatch, display: str) -> None:
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)


def test_chord_sends_the_preset_within_150_ms_and_eases_in(xvfb_display: str) -> None:
    env = _x_env(xvfb_display)
    probe = subprocess.Popen([sys.executable, "-m", "tests.hotkey_probe"], cwd=REPO_ROOT, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout is not None and probe.stdout.readline().strip() == "ready"
        delays = []
        for _ in range(PRESSES):
            sent = time.monotonic()
            subprocess.run(["xdotool", "key", "ctrl+alt+1"], env=env, check=True)
            action, arrived, curve = probe.stdout.readline().split()
            assert action == "preset:smile"
            delays.append(float(arrived) - sent)
            weights = [float(w) for w in curve.split(",")]
            subprocess.run(["xdotool", "key", "ctrl+alt+0"], env=env, check=True)
            assert probe.stdout.readline().startswith("preset:neutral")
        print(f"key chord → preset delays: {[round(d * 1000, 1) for d in delays]} ms "
              f"(median {statistics.median(delays) * 1000:.1f}); smile weight {weights}")
        # the delay includes starting xdotool; one press caught in a stall of a busy machine (CI has
        # seen 0.2 s ones) is let through, two are not
        assert sorted(delays)[-2] < MAX_DELAY_S
        steps = [b - a for a, b in zip(weights, weights[1:])]
        assert weights[-1] > 0.7 and all(-1e-6 <= s <= MAX_STEP for s in steps)
    finally:
        out, _ = probe.communicate(timeout=10)
    word, took, still_running = out.split()
    print(f"listener stopped in {float(took) * 1000:.1f} ms")
    assert word == "stopped" and float(took) < MAX_STOP_S and still_running == "False"


@linux_only
def test_failing_action_keeps_listening_and_stop_joins(xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_display(monkeypatch, xvfb_display)
    received: list[str] = []
    second = threading.Event()

    def act(action: str) -> None:
        received.append(action)
        if action == "second":
            second.set()
        else:
            raise RuntimeError("a broken action")

    listener = HotkeyListener({"<ctrl>+<alt>+1": "first", "<ctrl>+<alt>+2": "second"}, act)
    listener.start()
    try:
        env = _x_env(xvfb_display)
        subprocess.run(["xdotool", "key", "ctrl+alt+1"], env=env, check=True)
        subprocess.run(["xdotool", "key", "ctrl+alt+2"], env=env, check=True)
        assert second.wait(timeout=2.0) and received == ["first", "second"] and listener.running
    finally:
        asked = time.monotonic()
        listener.stop()
        took = time.monotonic() - asked
    assert took < MAX_STOP_S and not listener.running


@linux_only
def test_unknown_key_name_is_one_sentence_before_listening(xvfb_display: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _use_display(monkeypatch, xvfb_display)
    listener = HotkeyListener({"<ctrl>+<alt>+1": "preset:smile", "<ctrl>+<nokey>": "preset:laugh"}, print)
    with pytest.raises(HotkeyBindingError) as caught:
        listener.start()
    message = str(caught.value)
    assert "'<ctrl>+<nokey>' (for 'preset:laugh') is not a chord pynput understands (at <nokey>)" in message
    assert "preset:smile" not in message and not listener.running


@pytest.mark.parametrize("environ, words", [
    ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "Wayland"),
    ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, "Wayland"),  # XWayland sees only X windows' keys
    ({"WAYLAND_DISPLAY": "wayland-0"}, "Wayland"),
    ({}, "no X display"),
])
def test_hotkeys_off_say_why_in_one_sentence(environ: dict[str, str], words: str) -> None:
    reason = why_unavailable(environ, "linux")
    assert reason is not None and words in reason and reason.count(". ") == 0
    assert reason.startswith("Global hotkeys are off: ")


def test_other_systems_need_no_display() -> None:
    assert why_unavailable({}, "win32") is None and why_unavailable({}, "darwin") is None


def test_display_without_a_server_is_one_sentence() -> None:
    number = next(n for n in range(1000, 2000) if not (X_SOCKETS / f"X{n}").exists())
    reason = why_unavailable({"DISPLAY": f":{number}"}, "linux")
    assert reason is not None and f"the X display :{number} cannot be opened" in reason
    assert "\n" not in reason


def test_x_server_without_record_is_one_sentence() -> None:
    with running_xvfb("-extension", "RECORD") as display:
        reason = why_unavailable({"DISPLAY": display}, "linux")
    assert reason is not None and "lacks the RECORD extension" in reason


def test_x_server_with_record_is_fine(xvfb_display: str) -> None:
    assert why_unavailable({"DISPLAY": xvfb_display}, "linux") is None


@linux_only
def test_listener_without_display_raises_the_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    listener = HotkeyListener({"<ctrl>+<alt>+1": "preset:smile"}, print)
    with pytest.raises(HotkeysUnavailable, match="Global hotkeys are off: there is no X display"):
        listener.start()
    assert not listener.running
    listener.stop()  # nothing started: stopping is a no-op


def test_bad_chord_is_one_sentence() -> None:
    with pytest.raises(HotkeyBindingError, match="is not a key chord"):
        HotkeyListener({"ctrl alt 1": "preset:smile"}, print)
