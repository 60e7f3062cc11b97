"""A local OpenCV window showing what the virtual camera shows, with an optional status
overlay (fps, latency, VAD, preset, FROZEN/MUTED) that never reaches the other sinks.

OpenCV's Qt windows answer only the thread that made them: an `imshow` from any other
thread blocked for 11 s and then found the window gone. So the window lives in a thread of
its own, which makes it, paints every frame the sink is given (the newest, when frames
come faster than it paints) and closes it; `send` only hands the frame over.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence

import numpy as np

from avatarcam.newest_slot import NewestSlot
from avatarcam.sinks.sink import OverlayStatus, SinkUnavailableError

log = logging.getLogger(__name__)

WINDOW_TITLE = "AvatarCam preview"
FONT_SCALE_PER_PIXEL = 1 / 900  # text height follows the frame height
LINE_SPACING = 1.6  # line pitch as a multiple of the text height
TEXT_COLOR = (255, 255, 255)  # RGB
SHADOW_COLOR = (0, 0, 0)
ALERT_COLOR = (255, 64, 64)  # FROZEN and MUTED stand out in red
ALERT_LINES = ("FROZEN", "MUTED")
OPEN_TIMEOUT_S = 10.0  # how long opening the window may take before it counts as failed
PAINT_WAIT_S = 0.03  # between frames the window thread still lets the window system paint this often


class PreviewSink:
    """An on-screen window; closing it by hand stops the preview and nothing else."""

    name = "preview"

    def __init__(self, overlay: bool = True, title: str = WINDOW_TITLE) -> None:
        """Open the window; raises SinkUnavailableError when there is no display to open it on."""
        problem = why_no_display()
        if problem:
            raise SinkUnavailableError(problem)
        self._title = title
        self._overlay = overlay
        self._status = OverlayStatus()
        self._frames = NewestSlot[tuple[np.ndarray, list[str]]]()
        self._opened = threading.Event()
        self._failure: str | None = None
        self._open = True
        self._window = threading.Thread(target=self._show_frames, name="avatarcam-preview", daemon=True)
        self._window.start()
        if not self._opened.wait(OPEN_TIMEOUT_S):
            self._failure = (f"The preview window did not open within {OPEN_TIMEOUT_S:g} s; check the display "
                             "or drop `preview`.")
        if self._failure is not None:
            self.close()
            raise SinkUnavailableError(self._failure)

    def show_status(self, status: OverlayStatus) -> None:
        """Print `status` over the frames from now on (when the overlay is on)."""
        self._status = status

    def send(self, frame: np.ndarray, time_s: float) -> None:
        """Show `frame` (RGB) with the overlay drawn on a copy, in the window's thread."""
        if self._open:
            self._frames.post((frame, self._status.lines() if self._overlay else []))

    def close(self) -> None:
        """Close the window; safe to repeat."""
        self._open = False
        self._frames.close()
        if self._window.is_alive() and self._window is not threading.current_thread():
            self._window.join(timeout=OPEN_TIMEOUT_S)

    def _show_frames(self) -> None:
        """The window's thread: make the window, paint what comes until closed, close it."""
        import cv2

        try:
            cv2.namedWindow(self._title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no toolbar: just the picture
        except cv2.error as err:
            self._failure = (f"The preview window cannot be opened ({str(err).strip()}); use a desktop session "
                             "or drop `preview`.")
            self._opened.set()
            return
        self._opened.set()
        while self._open:
            shown = self._frames.take(timeout=PAINT_WAIT_S)
            if shown is not None:
                if cv2.getWindowProperty(self._title, cv2.WND_PROP_VISIBLE) < 1:
                    log.info("The preview window was closed; the other outputs go on.")
                    self._open = False
                    break
                frame, lines = shown
                cv2.imshow(self._title, cv2.cvtColor(draw_overlay(frame, lines) if lines else frame,
                                                     cv2.COLOR_RGB2BGR))
            cv2.waitKey(1)  # lets the window system paint; key presses are not used
        cv2.destroyWindow(self._title)
        cv2.waitKey(1)


def draw_overlay(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """A copy of RGB `frame` with `lines` written top-left, shadowed so they read on any
    background; FROZEN and MUTED in red."""
    import cv2

    shown = frame.copy()
    scale = max(0.4, frame.shape[0] * FONT_SCALE_PER_PIXEL)
    thickness = max(1, round(scale * 1.5))
    (_, text_height), _ = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pitch = round(text_height * LINE_SPACING)
    for row, line in enumerate(lines, start=1):
        origin = (pitch // 2, row * pitch)
        color = ALERT_COLOR if line in ALERT_LINES else TEXT_COLOR
        cv2.putText(shown, line, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, SHADOW_COLOR, thickness + 2, cv2.LINE_AA)
        cv2.putText(shown, line, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)
    return shown


def why_no_display() -> str | None:
    """None when a window can be opened, else one sentence why not and what to do."""
    if not sys.platform.startswith("linux"):
        return None  # Windows and macOS always have their window system
    display = os.environ.get("DISPLAY")
    # OpenCV's Qt aborts the whole process when it cannot reach the X server, so probe first.
    if not display:
        return ("There is no display for the preview window (DISPLAY is not set); run avatarcam in a "
                "desktop session or drop `preview` (the other outputs work without it).")
    try:
        import Xlib.display
        import Xlib.error
    except ImportError:
        return "python-xlib is missing, so the preview cannot check the display: `pip install python-xlib`."
    try:
        Xlib.display.Display(display).close()
    except (Xlib.error.DisplayError, Xlib.error.ConnectionClosedError, Xlib.error.XauthError, OSError) as err:
        return (f"The preview window cannot reach the X display {display} ({err}); check that it runs "
                "and lets you connect, or drop `preview`.")
    return None
