"""Global hotkeys (pynput GlobalHotKeys): key chords that work whichever window has focus,
each bound to an action of the preset controller.

pynput reaches the keyboard through X11 on Linux, so under Wayland (where X clients do not
see other windows' keys) or without a display, hotkeys are off with one sentence saying
why, and the rest of avatarcam runs.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from avatarcam.errors import AvatarcamError

# "<ctrl>+<alt>+1": named keys in angle brackets or single characters, joined by "+".
_KEY = r"(<[a-z_0-9]+>|[^+<>\s])"
CHORD = re.compile(rf"^{_KEY}(\+{_KEY})*$")


class HotkeysUnavailable(AvatarcamError):
    """Global hotkeys cannot run in this session."""


class HotkeyBindingError(AvatarcamError):
    """A key chord in the settings cannot be understood."""


def check_chord(chord: str) -> None:
    """Raise HotkeyBindingError (one sentence) unless `chord` is written like "<ctrl>+<alt>+1"."""
    if not CHORD.match(chord):
        raise HotkeyBindingError(
            f"The hotkey {chord!r} is not a key chord; write keys joined by '+', named keys in "
            "angle brackets, e.g. \"<ctrl>+<alt>+1\".")


def why_unavailable(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str | None:
    """One sentence on why global hotkeys cannot run here, or None if they can."""
    if not platform.startswith("linux"):
        return None
    wayland = environ.get("XDG_SESSION_TYPE") == "wayland" or bool(environ.get("WAYLAND_DISPLAY"))
    if wayland:
        return ("Global hotkeys are off: this is a Wayland session, where apps cannot see keys pressed "
                "in other windows; log in with an X11 (Xorg) session to use them.")
    if not environ.get("DISPLAY"):
        return ("Global hotkeys are off: there is no X display (DISPLAY is not set); run avatarcam "
                "from a desktop session to use them.")
    return None


class HotkeyListener:
    """Calls `on_action(action)` when the chord bound to it is pressed, from pynput's thread."""

    def __init__(self, bindings: Mapping[str, str], on_action: Callable[[str], None]) -> None:
        for chord in bindings:
            check_chord(chord)
        self.bindings = dict(bindings)
        self.on_action = on_action
        self._listener: Any = None

    def start(self) -> None:
        """Start listening; HotkeysUnavailable (one sentence) if this session cannot."""
        reason = why_unavailable()
        if reason:
            raise HotkeysUnavailable(reason)
        try:
            from pynput import keyboard
        except ImportError as err:
            raise HotkeysUnavailable(
                f"Global hotkeys are off: pynput cannot reach the keyboard ({str(err).splitlines()[0]}); "
                "check that the X display is reachable.") from None
        handlers = {chord: self._handler(action) for chord, action in self.bindings.items()}
        try:
            self._listener = keyboard.GlobalHotKeys(handlers)
            self._listener.start()
            self._listener.wait()
        except Exception as err:  # pynput raises backend-specific types
            raise HotkeysUnavailable(f"Global hotkeys are off: pynput could not start ({err}).") from None

    def _handler(self, action: str) -> Callable[[], None]:
        return lambda: self.on_action(action)

    def stop(self) -> None:
        """Stop listening and wait for pynput's thread."""
        if self._listener is not None:
            self._listener.stop()
            self._listener.join(timeout=2.0)
            self._listener = None
