"""The virtual cameras pyvirtualcam can drive on this OS, and why each one cannot be used.

`avatarcam devices` and `avatarcam doctor` show this before anything opens a camera, so a
missing driver is named together with its fix instead of surfacing as pyvirtualcam's error.
"""

from __future__ import annotations

import os
import platform
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_SCRIPT = "install/linux-v4l2loopback.sh"
OBS_DOWNLOAD = "https://obsproject.com"


@dataclass(frozen=True)
class CameraDevice:
    """One virtual camera a backend can write to."""

    device: str  # what pyvirtualcam's `device=` takes, e.g. "/dev/video10"
    label: str  # the name video-call apps show, e.g. "AvatarCam"

    def __str__(self) -> str:
        """How listings show it: "/dev/video10 (AvatarCam)"."""
        return f"{self.device} ({self.label})"


@dataclass(frozen=True)
class CameraBackend:
    """A pyvirtualcam backend and whether avatarcam can use it on this machine."""

    name: str  # pyvirtualcam's backend name: "v4l2loopback", "obs" or "unitycapture"
    available: bool
    reason: str = ""  # empty when available, else one sentence: what is missing, how to fix it
    devices: tuple[CameraDevice, ...] = ()  # the cameras found, where the OS lets us list them


def find_v4l2loopback(sys_root: Path = Path("/sys"), dev_root: Path = Path("/dev")) -> CameraBackend:
    """The Linux backend: usable when the v4l2loopback module is loaded and has made a
    /dev/videoN that this user may write to."""
    name = "v4l2loopback"
    if not (sys_root / "module" / "v4l2loopback").is_dir():
        return CameraBackend(
            name, False,
            f"The v4l2loopback kernel module is not loaded, so there is no virtual camera: run {LOOPBACK_SCRIPT}.",
        )
    devices = _loopback_devices(sys_root, dev_root)
    if not devices:
        return CameraBackend(
            name, False,
            f"The v4l2loopback module is loaded but made no /dev/video device: reload it with {LOOPBACK_SCRIPT}.",
        )
    if not any(os.access(cam.device, os.W_OK) for cam in devices):
        return CameraBackend(
            name, False,
            f"You may not write to {devices[0].device}: add yourself to the video group "
            "(`sudo usermod -aG video $USER`) and log in again.",
            devices,
        )
    return CameraBackend(name, True, devices=devices)


def _loopback_devices(sys_root: Path, dev_root: Path) -> tuple[CameraDevice, ...]:
    """The virtual video4linux devices that have a device node, in number order."""
    # Webcams hang under their bus in sysfs; only loopback-style drivers create virtual ones.
    nodes = (sys_root / "devices" / "virtual" / "video4linux").glob("video[0-9]*")
    found = []
    for node in sorted(nodes, key=lambda path: int(path.name.removeprefix("video"))):
        device = dev_root / node.name
        name_file = node / "name"
        if device.exists() and name_file.is_file():
            found.append(CameraDevice(str(device), name_file.read_text().strip()))
    return tuple(found)


def _directshow_filter(name: str, clsid: str, reason: str) -> CameraBackend:
    """A Windows backend: usable when its DirectShow filter is registered, which is what
    pyvirtualcam itself looks up before opening it."""
    import winreg

    try:
        winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, f"CLSID\\{clsid}").Close()
    except OSError:
        return CameraBackend(name, False, reason)
    return CameraBackend(name, True)


def _obs_windows() -> CameraBackend:
    """OBS Virtual Camera on Windows (OBS Studio 26.1 or later)."""
    return _directshow_filter(
        "obs", "{A3FCE0F5-3493-419F-958A-ABA1250EC20B}",
        f"OBS Virtual Camera is not installed: install OBS Studio from {OBS_DOWNLOAD} "
        "and click Start Virtual Camera once.",
    )


def _unity_capture() -> CameraBackend:
    """Unity Capture's first camera on Windows."""
    # Unity Capture numbers its filters from a base that differs for 32- and 64-bit processes.
    first_id = 0x10 if struct.calcsize("P") == 8 else 0x20
    return _directshow_filter(
        "unitycapture", f"{{5C2CD55C-92AD-4999-8666-912BD3E700{first_id:02X}}}",
        "Unity Capture is not installed: run Install.bat from "
        "https://github.com/schellingb/UnityCapture as administrator.",
    )


def _obs_macos() -> CameraBackend:
    """OBS Virtual Camera on macOS; its camera extension cannot be queried from Python, so
    an installed OBS.app is the best available sign."""
    apps = (Path("/Applications/OBS.app"), Path.home() / "Applications" / "OBS.app")
    if any(app.is_dir() for app in apps):
        return CameraBackend("obs", True)
    return CameraBackend(
        "obs", False,
        f"OBS Studio is not installed: install OBS 30 or later from {OBS_DOWNLOAD} and click "
        "Start Virtual Camera once to install its camera extension.",
    )


# platform.system() -> the backends pyvirtualcam registers there, best first.
BACKENDS_BY_OS: dict[str, tuple[tuple[str, Callable[[], CameraBackend]], ...]] = {
    "Linux": (("v4l2loopback", find_v4l2loopback),),
    "Windows": (("obs", _obs_windows), ("unitycapture", _unity_capture)),
    "Darwin": (("obs", _obs_macos),),
}


def _pyvirtualcam_problem(name: str) -> str | None:
    """Why pyvirtualcam itself cannot drive backend `name`, or None when it can."""
    try:
        from pyvirtualcam.camera import BACKENDS
    except (ImportError, OSError) as err:
        return f"pyvirtualcam cannot be loaded ({err}): reinstall it with `pip install --force-reinstall pyvirtualcam`."
    if name not in BACKENDS:
        return f"This pyvirtualcam has no {name} backend: upgrade it with `pip install -U pyvirtualcam`."
    return None


def list_camera_backends() -> list[CameraBackend]:
    """The backends pyvirtualcam offers on this OS (none on others), best first, each with
    whether it can be used now."""
    result = []
    for name, probe in BACKENDS_BY_OS.get(platform.system(), ()):
        problem = _pyvirtualcam_problem(name)
        result.append(CameraBackend(name, False, problem) if problem else probe())
    return result
