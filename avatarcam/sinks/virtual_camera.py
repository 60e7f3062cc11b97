"""The virtual webcam that video-call apps see, fed through pyvirtualcam.

Size and rate are fixed when the camera opens: Teams and Meet drop a camera whose format
changes mid-call. Pacing is the engine's job, so this sink sends each frame as it comes
and never sleeps.
"""

from __future__ import annotations

import platform

import numpy as np

from avatarcam.sinks.camera_backends import LOOPBACK_SCRIPT, OBS_DOWNLOAD, list_camera_backends
from avatarcam.sinks.sink import SinkUnavailableError

OBS_FIX = f"install OBS Studio from {OBS_DOWNLOAD} and click Start Virtual Camera once"
# platform.system() -> what to do when the camera driver is there but still refuses to open.
OPEN_FIX_BY_OS = {
    "Linux": f"close other programs that send to it, or recreate it with `sudo bash {LOOPBACK_SCRIPT}`",
    "Windows": OBS_FIX,
    "Darwin": OBS_FIX,
}
NO_CAMERA_OS_FIX = "virtual cameras exist only on Linux, Windows and macOS; use file:PATH.mp4 or preview here"


class VirtualCameraSink:
    """One open pyvirtualcam camera taking RGB frames of a fixed size and rate."""

    def __init__(self, width: int, height: int, fps: float,
                 device: str | None = None, backend: str | None = None) -> None:
        """Open the camera `device` (None: the first one found) through `backend` (None:
        each of this OS's backends in turn); raises SinkUnavailableError saying how to get one."""
        self.name = f"virtualcam:{device}" if device else "virtualcam"
        try:
            import pyvirtualcam
        except (ImportError, OSError) as err:
            raise SinkUnavailableError(
                f"pyvirtualcam cannot be loaded ({err}), so there is no virtual camera: reinstall it with "
                "`pip install --force-reinstall pyvirtualcam`."
            ) from err
        if backend is not None and backend not in pyvirtualcam.camera.BACKENDS:
            known = ", ".join(pyvirtualcam.camera.BACKENDS) or "none on this OS"
            raise SinkUnavailableError(f"{backend!r} is not a virtual camera backend here (known: {known}); "
                                       "fix camera_backend in the settings.")
        try:
            self._camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                               device=device, backend=backend)
        except RuntimeError as err:
            raise SinkUnavailableError(_why_not_opened(err, device, backend)) from err
        self.device: str = self._camera.device
        self.backend: str = self._camera.backend
        self._closed = False

    def send(self, frame: np.ndarray, time_s: float) -> None:
        """Show `frame` (uint8 RGB, the size given at open) on the camera now."""
        if self._closed:
            return
        try:
            self._camera.send(frame)
        except (RuntimeError, OSError) as err:
            raise SinkUnavailableError(
                f"The virtual camera {self.device} stopped taking frames ({err}); check that its driver "
                "is still loaded (`avatarcam devices`)."
            ) from err

    def close(self) -> None:
        """Release the camera, so apps see it stop rather than freeze; safe to repeat."""
        if not self._closed:
            self._closed = True
            self._camera.close()


def _why_not_opened(err: RuntimeError, device: str | None, backend: str | None) -> str:
    """One sentence for a camera that would not open: the backend probe's own reason and fix
    where it names one, else pyvirtualcam's message with this OS's fix."""
    backends = [found for found in list_camera_backends() if backend is None or found.name == backend]
    blocked = [found.reason for found in backends if not found.available]
    if blocked and len(blocked) == len(backends):
        return blocked[0]
    detail = "; ".join(line.strip() for line in str(err).splitlines() if line.strip()) or "no backend on this OS"
    which = f"The virtual camera {device}" if device else "No virtual camera"
    fix = OPEN_FIX_BY_OS.get(platform.system(), NO_CAMERA_OS_FIX)
    return f"{which} could not be opened ({detail}): {fix}."
