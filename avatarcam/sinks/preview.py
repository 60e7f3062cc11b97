"""A local OpenCV window showing what the virtual camera shows, with an optional status
overlay (fps, latency, VAD, preset, FROZEN/MUTED) that never reaches the other sinks.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import numpy as np

from avatarcam.sinks.sink import OverlayStatus, SinkUnavailableError

log = logging.getLogger(__name__)

WINDOW_TITLE = "AvatarCam preview"
FONT_SCALE_PER_PIXEL = 1 / 900  # text height follows the frame height
LINE_SPACING = 1.6  # line pitch as a multiple of the text height
TEXT_COLOR = (255, 255, 255)  # RGB
SHADOW_COLOR = (0, 0, 0)
ALERT_COLOR = (255, 64, 64)  # FROZEN and MUTED stand out in red
ALERT_LINES = ("FROZEN", "MUTED")


class PreviewSink:
    """An on-screen window; closing it by hand stops the preview and nothing else."""

    name = "preview"

    def __init__(self, overlay: bool = True, title: str = WINDOW_TITLE) -> None:
        """Open the window; raises SinkUnavailableError when there is no display to open it on."""
        problem = why_no_display()
        if problem:
            raise SinkUnavailableError(problem)
        import cv2

        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no toolbar: just the picture
        except cv2.error as err:
            raise SinkUnavailableError(
                f"The preview window cannot be opened ({str(err).strip()}); use a desktop session or drop `preview`."
            ) from err
        self._cv2 = cv2
        self._title = title
        self._overlay = overlay
        self._status = OverlayStatus()
        self._open = True

    def show_status(self, status: OverlayStatus) -> None:
        """Print `status` over the frames from now on (when the overlay is on)."""
        self._status = status

    def send(self, frame: np.ndarray, time_s: float) -> None:
        """Show `frame` (RGB) with the overlay drawn on a copy."""
        if not self._open:
            return
        cv2 = self._cv2
        if cv2.getWindowProperty(self._title, cv2.WND_PROP_VISIBLE) < 1:
            log.info("The preview window was closed; the other outputs go on.")
            self.close()
            return
        shown = draw_overlay(frame, self._status.lines()) if self._overlay else frame
        cv2.imshow(self._title, cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
        cv2.waitKey(1)  # lets the window system paint; key presses are not used

    def close(self) -> None:
        """Close the window; safe to repeat."""
        if self._open:
            self._open = False
            self._cv2.destroyWindow(self._title)
            self._cv2.waitKey(1)


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
