"""Global hotkeys (pynput GlobalHotKeys): key chords that work whichever window has focus,
each bound to an action of the preset controller.

pynput reaches the keyboard through X11 on Linux, so under Wayland (where X clients do not
see other windows' keys) or without a reachable X display, hotkeys are off with one
sentence saying why, and the rest of avatarcam runs. Those checks come before pynput is
imported, because importing it on Linux opens the display and fails with a message that
does not say what to do.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from avatarcam.errors import AvatarcamError

log = logging.getLogger(__name__)

# "<ctrl>+<alt>+1": named keys in angle brackets or single characters, joined by "+".
_KEY = r"(<[a-z_0-9]+>|[^+<>\s])"
CHORD = re.compile(rf"^{_KEY}(\+{_KEY})*$")
CHORD_HINT = "write keys joined by '+', named keys in angle brackets, e.g. \"<ctrl>+<alt>+1\""
READY_TIMEOUT_S = 3.0  # pynput's thread has this long to start listening
STOP_TIMEOUT_S = 2.0  # and this long to end once asked to


class HotkeysUnavailable(AvatarcamError):
    """Global hotkeys cannot run in this session."""


class HotkeyBindingError(AvatarcamError):
    """A key chord in the settings cannot be understood."""


def check_chord(chord: str) -> None:
    """Raise HotkeyBindingError (one sentence) unless `chord` is written like "<ctrl>+<alt>+1".

    This catches a malformed chord without an X display; which key names exist is only
    known to pynput, so `HotkeyListener.start` checks those.
    """
    if not CHORD.match(chord):
        raise HotkeyBindingError(f"The hotkey {chord!r} is not a key chord; {CHORD_HINT}.")


@dataclass(frozen=True)
class HotkeyProblem:
    """Why global hotkeys cannot run in this session, and what makes them work."""

    what: str  # what is wrong, e.g. "this is a Wayland session, …"
    fix: str  # what the user does about it
    wayland: bool = False  # a Wayland session: nothing to repair, only another session type

    @property
    def sentence(self) -> str:
        """The one sentence users see."""
        return f"Global hotkeys are off: {self.what}; {self.fix}."


def hotkey_problem(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> HotkeyProblem | None:
    """Why global hotkeys cannot run here, or None if they can (`avatarcam doctor` shows it
    too). On Linux this opens (and closes) the X display, since a DISPLAY that names no
    running server, or one without the RECORD extension pynput listens through, is as bad
    as none."""
    if not platform.startswith("linux"):
        return None
    display = environ.get("DISPLAY")
    if environ.get("XDG_SESSION_TYPE") == "wayland" or (environ.get("WAYLAND_DISPLAY") and not display):
        return HotkeyProblem("this is a Wayland session, where apps cannot see keys pressed in other windows",
                             "log in with an X11 (Xorg) session to use them", wayland=True)
    if not display:
        return HotkeyProblem("there is no X display (DISPLAY is not set)",
                             "run avatarcam from an X11 desktop session (or set DISPLAY, for example to :0) to use them")
    return _x_display_problem(display)


def why_unavailable(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str | None:
    """One sentence on why global hotkeys cannot run here, or None if they can."""
    problem = hotkey_problem(environ, platform)
    return problem.sentence if problem else None


def _x_display_problem(display: str) -> HotkeyProblem | None:
    """Why pynput could not listen on X display `display`, or None when it can."""
    try:
        import Xlib.display
        import Xlib.error
    except ImportError:
        return HotkeyProblem("python-xlib is not installed", "install it with `pip install python-xlib`")
    try:
        connection = Xlib.display.Display(display)
    except (Xlib.error.DisplayError, Xlib.error.ConnectionClosedError, Xlib.error.XauthError, OSError) as err:
        return HotkeyProblem(f"the X display {display} cannot be opened ({err})",
                             "check that its X server is running and lets you connect (xauth, xhost)")
    try:
        has_record = connection.has_extension("RECORD")
    finally:
        connection.close()
    if not has_record:
        return HotkeyProblem(f"the X server on {display} lacks the RECORD extension that global key capture needs",
                             "enable it in the server's configuration (Xvfb: +extension RECORD)")
    return None


class HotkeyListener:
    """Calls `on_action(action)` from pynput's thread when the chord bound to it is pressed."""

    def __init__(self, bindings: Mapping[str, str], on_action: Callable[[str], None]) -> None:
        for chord in bindings:
            check_chord(chord)
        self.bindings = dict(bindings)
        self.on_action = on_action
        self._listener: Any = None

    @property
    def running(self) -> bool:
        """Whether pynput's thread is listening (it ends if the X server goes away)."""
        return self._listener is not None and self._listener.is_alive()

    def start(self) -> None:
        """Start listening; HotkeysUnavailable (one sentence) if this session cannot, and
        HotkeyBindingError (one sentence per bad chord) if pynput knows no such key."""
        if self._listener is not None:
            raise RuntimeError("this HotkeyListener is already started")
        reason = why_unavailable()
        if reason:
            raise HotkeysUnavailable(reason)
        try:
            from pynput import keyboard
        except ImportError as err:
            raise HotkeysUnavailable(
                f"Global hotkeys are off: pynput cannot reach the keyboard ({str(err).splitlines()[0]}); "
                "check that the X display is reachable.") from None
        _check_keys(keyboard, self.bindings)
        handlers = {chord: self._handler(action) for chord, action in self.bindings.items()}
        listener = keyboard.GlobalHotKeys(handlers)
        try:
            listener.start()
            ready = _wait_ready(listener, READY_TIMEOUT_S)
        except Exception as err:  # pynput raises backend-specific types
            raise HotkeysUnavailable(
                f"Global hotkeys are off: pynput could not start ({err}); run `avatarcam doctor` to "
                "check the display.") from None
        if not ready:
            raise HotkeysUnavailable(
                f"Global hotkeys are off: pynput did not start listening within {READY_TIMEOUT_S:g} s; "
                "run `avatarcam doctor` to check the display.")
        self._listener = listener

    def _handler(self, action: str) -> Callable[[], None]:
        def run() -> None:
            # An exception escaping here would end pynput's listener, and every hotkey with it.
            try:
                self.on_action(action)
            except Exception:
                log.exception("The hotkey action %r failed", action)
        return run

    def stop(self) -> None:
        """Stop listening and wait for pynput's thread to end."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.stop()
        _end_x_recording(listener)
        listener.join(timeout=STOP_TIMEOUT_S)
        if listener.is_alive():
            log.warning("The global hotkey listener did not stop within %g s; it ends with the program.",
                        STOP_TIMEOUT_S)


def _check_keys(keyboard: Any, bindings: Mapping[str, str]) -> None:
    """Every chord through pynput's own parser, so an unknown key name fails now, not never."""
    problems = []
    for chord, action in bindings.items():
        try:
            keyboard.HotKey.parse(chord)
        except ValueError as err:
            problems.append(f"The hotkey {chord!r} (for {action!r}) is not a chord pynput understands "
                            f"(at {err}); {CHORD_HINT}.")
    if problems:
        raise HotkeyBindingError(" ".join(problems))


def _wait_ready(listener: Any, timeout: float) -> bool:
    """Whether `listener` became ready within `timeout`; pynput's own wait() blocks forever
    when its thread fails before it is ready, so the wait runs on a helper thread."""
    waiter = threading.Thread(target=listener.wait, name="hotkeys-ready", daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive() and listener.is_alive()


def _end_x_recording(listener: Any) -> None:
    """Make pynput's X11 thread end now rather than on the next key press.

    pynput 1.8 sends its "stop recording" request on the connection its own thread is
    blocked reading, so the request waits unsent (moses-palmer/pynput#583); sending it
    on the listener's second connection ends the recording at once. Other backends lack
    these attributes and stop on their own.
    """
    display = getattr(listener, "_display_stop", None)
    context = getattr(listener, "_context", None)
    if display is None or context is None:
        return
    try:
        display.record_disable_context(context)
        display.flush()
    except Exception as err:  # the connection is already closed if the thread has ended
        log.debug("ending the X recording: %s", err)
