"""The environment checks behind `avatarcam doctor`, as data.

Each check says what it found and, when something is wrong, the one step that fixes it.
Essential checks cover what every command needs; the others cover a feature (microphone,
virtual camera, hotkeys, GPU, speech synthesis) that avatarcam can run without.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from avatarcam.audio.devices import list_input_devices, load_sounddevice
from avatarcam.control.hotkeys import hotkey_problem
from avatarcam.errors import AudioInputError
from avatarcam.sinks.camera_backends import list_camera_backends

Status = Literal["ok", "warn", "fail"]  # warn: works, but worse than it could

SUPPORTED_PYTHON = ((3, 10), (3, 12))  # oldest and newest minor version with mediapipe wheels
SYSTEM_PACKAGES_SCRIPT = "install/system-packages.sh"
NO_MICROPHONE_FIX = "Connect a microphone or start PulseAudio/PipeWire; to run without one, pass --audio-file."


@dataclass(frozen=True)
class Check:
    """One finding of `avatarcam doctor`."""

    name: str  # short label shown in the table, e.g. "ffmpeg"
    status: Status
    detail: str  # what was found: a version, a device, or what is missing
    fix: str = ""  # one sentence that makes it ok; empty when it is ok
    essential: bool = False  # True: avatarcam cannot run at all while this is not ok


@dataclass(frozen=True)
class Requirement:
    """A Python distribution avatarcam needs, with the bound that matters at run time."""

    dist: str  # distribution name, as pip and importlib.metadata know it
    module: str | None  # what to import; None where importing needs a part another check covers
    spec: str = ""  # "" (any version), "<X.Y" or "==X.Y.Z"
    why: str = ""  # why the bound exists, shown when it is broken


MEDIAPIPE = Requirement("mediapipe", "mediapipe", "==0.10.21", "later releases ship no Face Mesh models")
REQUIREMENTS = (
    Requirement("numpy", "numpy", "<2", "mediapipe 0.10.21 is built against numpy 1"),
    MEDIAPIPE,
    Requirement("protobuf", "google.protobuf", "<5", "mediapipe 0.10.21 needs protobuf 4"),
    Requirement("onnx", "onnx", "<1.23", "onnx 1.23 needs protobuf 5"),
    Requirement("opencv-contrib-python", "cv2"),
    Requirement("torch", "torch"),
    Requirement("onnxruntime", "onnxruntime"),
    Requirement("pyvirtualcam", "pyvirtualcam"),
    Requirement("sounddevice", None),  # importing it loads PortAudio: see check_portaudio
    Requirement("webrtcvad-wheels", "webrtcvad"),
    Requirement("pynput", None),  # importing it opens the display: see check_hotkey_display
    Requirement("soxr", "soxr"),
    Requirement("soundfile", "soundfile"),
    Requirement("psutil", "psutil"),
    Requirement("scikit-image", "skimage"),
    Requirement("matplotlib", "matplotlib"),
    Requirement("scipy", "scipy"),
    Requirement("threadpoolctl", "threadpoolctl"),
)

MEDIAPIPE_MODELS = (  # paths under mediapipe/modules/
    "face_detection/face_detection_short_range.tflite",  # finds the face that Face Mesh refines
    "face_landmark/face_landmark.tflite",  # 468 landmarks
    "face_landmark/face_landmark_with_attention.tflite",  # 478 landmarks, irises included
    "selfie_segmentation/selfie_segmentation.tflite",  # person mask
)


def check_python() -> Check:
    """Python itself: mediapipe 0.10.21 has wheels for 3.10 to 3.12 only."""
    found = sys.version_info[:2]
    version = ".".join(map(str, sys.version_info[:3]))
    if SUPPORTED_PYTHON[0] <= found <= SUPPORTED_PYTHON[1]:
        return Check("python", "ok", version, essential=True)
    return Check(
        "python", "fail", f"{version} is not supported",
        "Recreate the virtualenv with Python 3.10, 3.11 or 3.12 (e.g. `python3.11 -m venv .venv`) and reinstall avatarcam.",
        essential=True,
    )


def release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version string: "2.13.0+cpu" -> (2, 13, 0)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group().split(".")) if match else ()


def satisfies(version: str, spec: str) -> bool:
    """Whether `version` meets `spec`, which is "", "<X.Y" or "==X.Y.Z"."""
    if spec.startswith("=="):
        return release(version) == release(spec[2:])
    if spec.startswith("<"):
        return release(version) < release(spec[1:])
    return not spec


def check_package(req: Requirement) -> Check:
    """One required distribution: installed, within its bound, and importable."""
    target = f"'{req.dist}{req.spec}'"
    try:
        version = importlib.metadata.version(req.dist)
    except importlib.metadata.PackageNotFoundError:
        return Check(req.dist, "fail", "not installed", f"Install it: `pip install {target}`.", essential=True)
    if not satisfies(version, req.spec):
        return Check(
            req.dist, "fail", f"{version} installed, but {req.spec} is needed ({req.why})",
            f"Install a working version: `pip install {target}`.", essential=True,
        )
    if req.module:
        try:
            importlib.import_module(req.module)
        except Exception as err:  # a broken native wheel can fail with almost any error
            return Check(
                req.dist, "fail", f"{version} installed, but `import {req.module}` fails: {err}",
                f"Reinstall it: `pip install --force-reinstall {target}`.", essential=True,
            )
    return Check(req.dist, "ok", version, essential=True)


def check_packages() -> list[Check]:
    """Every distribution in REQUIREMENTS."""
    return [check_package(req) for req in REQUIREMENTS]


def check_mediapipe_models() -> Check:
    """The Face Mesh and selfie-segmentation models that ship inside the mediapipe wheel."""
    fix = f"Install the release that ships them: `pip install '{MEDIAPIPE.dist}{MEDIAPIPE.spec}'`."
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return Check("mediapipe models", "fail", "mediapipe is not installed", fix, essential=True)
    models_dir = Path(spec.submodule_search_locations[0]) / "modules"
    missing = [model for model in MEDIAPIPE_MODELS if not (models_dir / model).is_file()]
    if missing:
        return Check("mediapipe models", "fail", f"missing from {models_dir}: {', '.join(missing)}", fix, essential=True)
    return Check("mediapipe models", "ok", f"{len(MEDIAPIPE_MODELS)} models in {models_dir}", essential=True)


def check_ffmpeg() -> Check:
    """ffmpeg, which writes mp4 files with sound."""
    fix = f"Install ffmpeg: run {SYSTEM_PACKAGES_SCRIPT} (Debian/Ubuntu: `sudo apt install ffmpeg`)."
    path = shutil.which("ffmpeg")
    if path is None:
        return Check("ffmpeg", "fail", "not found on PATH", fix, essential=True)
    try:
        done = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as err:
        return Check("ffmpeg", "fail", f"{path} does not run: {err}", fix, essential=True)
    first_line = done.stdout.partition("\n")[0]
    return Check("ffmpeg", "ok", first_line.partition(" Copyright")[0], essential=True)


def check_portaudio() -> Check:
    """The PortAudio library that sounddevice records through."""
    try:
        sounddevice = load_sounddevice()
    except ImportError:
        return Check("PortAudio", "fail", "the sounddevice package is not installed", "Install it: `pip install sounddevice`.")
    except AudioInputError as err:
        return Check("PortAudio", "fail", "libportaudio cannot be loaded", str(err))
    return Check("PortAudio", "ok", sounddevice.get_portaudio_version()[1].partition(",")[0])


def check_microphone() -> Check:
    """A default microphone; without one, avatarcam can still animate an audio file."""
    portaudio = check_portaudio()
    if portaudio.status != "ok":
        return Check("microphone", "fail", "cannot be listed without PortAudio", portaudio.fix)
    try:
        devices = list_input_devices()
    except AudioInputError as err:
        return Check("microphone", "fail", "the input devices cannot be listed", str(err))
    if not devices:
        return Check("microphone", "fail", "no input device found", NO_MICROPHONE_FIX)
    default = next((dev for dev in devices if dev.is_default), None)
    if default is None:
        return Check(
            "microphone", "warn", f"{len(devices)} input devices but no default; the first one is used",
            "Set a default input in your system's sound settings (`avatarcam devices` lists them).",
        )
    return Check("microphone", "ok", f"{default.name} ({default.hostapi}, {default.default_samplerate:.0f} Hz)")


def check_virtual_camera() -> Check:
    """A virtual camera to send frames to; without one, avatarcam can still write files."""
    backends = list_camera_backends()
    usable = [backend for backend in backends if backend.available]
    if usable:
        found = [str(cam) for backend in usable for cam in backend.devices]
        return Check("virtual camera", "ok", ", ".join(found or [backend.name for backend in usable]))
    if not backends:
        return Check(
            "virtual camera", "fail", "pyvirtualcam supports no virtual camera on this OS",
            "Use Linux, Windows or macOS for the virtual camera; video files work everywhere.",
        )
    names = ", ".join(backend.name for backend in backends)
    return Check("virtual camera", "fail", f"none available ({names})", backends[0].reason)


def check_hotkey_display() -> Check:
    """An X display for global hotkeys on Linux; Windows and macOS need none."""
    name = "X display (hotkeys)"
    if not sys.platform.startswith("linux"):
        return Check(name, "ok", "not needed on this OS")
    problem = hotkey_problem()
    if problem is None:
        return Check(name, "ok", f"X display {os.environ.get('DISPLAY')}")
    fix = problem.fix[0].upper() + problem.fix[1:] + "; everything else works without them."
    return Check(name, "warn" if problem.wayland else "fail", problem.what, fix)


def check_cuda() -> Check:
    """A CUDA GPU for torch; the CPU works too, only slower."""
    try:
        import torch
    except ImportError:
        return Check("CUDA", "warn", "torch cannot be imported, so CUDA is unknown", "Fix the torch package first (see its row).")
    if torch.version.cuda is None:
        return Check(
            "CUDA", "warn", f"torch {torch.__version__} is a CPU build; rendering runs on the CPU",
            "On a machine with an NVIDIA GPU, install torch's CUDA build as the README shows (Set-up by hand, GPU).",
        )
    if not torch.cuda.is_available():
        return Check(
            "CUDA", "warn", f"torch has CUDA {torch.version.cuda} but sees no GPU; rendering runs on the CPU",
            "Install or update the NVIDIA driver until `nvidia-smi` lists the GPU.",
        )
    return Check("CUDA", "ok", f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}, torch {torch.__version__})")


def check_tensorrt() -> Check:
    """TensorRT, the optional fastest renderer backend on NVIDIA GPUs."""
    try:
        import tensorrt
    except (ImportError, OSError):
        return Check(
            "TensorRT", "warn", "not installed (optional: fastest rendering on NVIDIA GPUs)",
            "On a machine with an NVIDIA GPU, install it with `pip install 'avatarcam[tensorrt]'`.",
        )
    return Check("TensorRT", "ok", tensorrt.__version__)


def _espeak_library() -> str | None:
    """The name under which libespeak-ng loads, or None when it does not."""
    for name in filter(None, (ctypes.util.find_library("espeak-ng"), "libespeak-ng.so.1")):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    return None


def check_espeak() -> Check:
    """espeak-ng, program and C library, which the demo and training use to make speech."""
    binary = shutil.which("espeak-ng")
    library = _espeak_library()
    if binary and library:
        return Check("espeak-ng", "ok", f"{binary}, {library}")
    missing = [part for part, found in (("espeak-ng program", binary), ("libespeak-ng library", library)) if not found]
    return Check(
        "espeak-ng", "warn", f"{' and '.join(missing)} not found (only the demo and training need it)",
        f"Install it: run {SYSTEM_PACKAGES_SCRIPT} (Debian/Ubuntu: `sudo apt install espeak-ng libespeak-ng1`).",
    )


def run_all_checks() -> list[Check]:
    """Every check, essential ones first, in the order `avatarcam doctor` prints them."""
    return [
        check_python(),
        *check_packages(),
        check_mediapipe_models(),
        check_ffmpeg(),
        check_portaudio(),
        check_microphone(),
        check_virtual_camera(),
        check_hotkey_display(),
        check_cuda(),
        check_tensorrt(),
        check_espeak(),
    ]
