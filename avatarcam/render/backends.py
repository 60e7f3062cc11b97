"""Render backends behind one small interface, and a registry that says why each is missing.

A backend turns motion vectors (B, NUM_FIELDS) into uint8 RGB frames (B, H, W, 3) for one
avatar and output size. All run the same render graph: directly in torch (CPU or CUDA),
or exported to ONNX for ONNX Runtime and TensorRT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import NUM_FIELDS
from avatarcam.render import tensorrt_engine
from avatarcam.render.avatar import Avatar
from avatarcam.render.graph import build_graph, to_uint8
from avatarcam.render.onnx_export import INPUT_NAME, export_onnx

DEFAULT_ORDER = ("tensorrt", "torch-cuda", "torch-cpu", "onnxruntime")
CPU_RENDER_OVERLAP = 2  # the two cores of the smallest machine the targets are set on


class Renderer(Protocol):
    """What every backend offers."""

    def render(self, motion: np.ndarray) -> np.ndarray:
        """uint8 frames (B, H, W, 3) for motion vectors (B, NUM_FIELDS)."""
        ...


class BackendUnavailableError(AvatarcamError):
    """No requested render backend can run on this machine."""


class _TorchRenderer:
    """The render graph run by torch on one device."""

    def __init__(self, avatar: Avatar, size_name: str, device: str) -> None:
        self._device = torch.device(device)
        self._graph = build_graph(avatar, size_name).to(self._device)

    def render(self, motion: np.ndarray) -> np.ndarray:
        """uint8 frames (B, H, W, 3) for motion vectors (B, NUM_FIELDS)."""
        with torch.inference_mode():
            batch = torch.from_numpy(np.array(motion, np.float32)).to(self._device)
            return to_uint8(self._graph(batch))


class _OnnxRuntimeRenderer:
    """The exported render graph run by ONNX Runtime on the CPU."""

    def __init__(self, onnx_path: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"])

    def render(self, motion: np.ndarray) -> np.ndarray:
        """uint8 frames (B, H, W, 3) for motion vectors (B, NUM_FIELDS)."""
        frames = self._session.run(None, {INPUT_NAME: np.ascontiguousarray(motion, np.float32)})[0]
        return to_uint8(torch.from_numpy(frames))


def _onnx_file(avatar: Avatar, size_name: str, cache_dir: Path) -> Path:
    """The avatar's render graph as ONNX in `cache_dir`, exported on first use."""
    path = cache_dir / f"render_{size_name}.onnx"
    if not path.exists():
        export_onnx(build_graph(avatar, size_name), path)
    return path


def _why_no_cuda() -> str | None:
    """None when torch can use a CUDA GPU, else why not."""
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build; install a CUDA build of torch."
    if not torch.cuda.is_available():
        return "torch finds no CUDA GPU (no NVIDIA driver or device)."
    return None


def _why_no_onnxruntime() -> str | None:
    """None when ONNX Runtime imports, else why not."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed (pip install onnxruntime)."
    return None


@dataclass(frozen=True)
class Backend:
    """A registered backend: its name, why it cannot run (None when it can) and its factory."""

    name: str
    why_unavailable: Callable[[], str | None]
    create: Callable[[Avatar, str, Path], Renderer]
    # frames it may render at once from different threads: on the CPU, one per core the
    # engine can count on (the calls share no state); on a GPU one, as its stream runs them
    # one after another anyway
    overlap: int = 1


BACKENDS: dict[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend("torch-cpu", lambda: None,
                lambda avatar, size, cache: _TorchRenderer(avatar, size, "cpu"), CPU_RENDER_OVERLAP),
        Backend("torch-cuda", _why_no_cuda,
                lambda avatar, size, cache: _TorchRenderer(avatar, size, "cuda")),
        Backend("onnxruntime", _why_no_onnxruntime,
                lambda avatar, size, cache: _OnnxRuntimeRenderer(
                    _onnx_file(avatar, size, cache), torch.get_num_threads()), CPU_RENDER_OVERLAP),
        Backend("tensorrt", tensorrt_engine.why_unavailable,
                lambda avatar, size, cache: tensorrt_engine.TensorRTRenderer(
                    _onnx_file(avatar, size, cache), NUM_FIELDS,
                    (avatar.canvas(size).size.height, avatar.canvas(size).size.width))),
    )
}


def availability() -> dict[str, str | None]:
    """Each backend's name and why it cannot run here (None when it can)."""
    return {name: backend.why_unavailable() for name, backend in BACKENDS.items()}


def open_renderer(avatar: Avatar, size_name: str, cache_dir: str | Path,
                  names: tuple[str, ...] = DEFAULT_ORDER) -> tuple[str, Renderer]:
    """The first backend of `names` that runs here, with its name; raises one
    BackendUnavailableError listing why each of them cannot."""
    reasons = []
    for name in names:
        backend = BACKENDS.get(name)
        if backend is None:
            raise BackendUnavailableError(
                f"{name!r} is not a render backend; use one of: {', '.join(BACKENDS)}.")
        reason = backend.why_unavailable()
        if reason is None:
            return name, backend.create(avatar, size_name, Path(cache_dir))
        reasons.append(f"{name}: {reason.rstrip('.')}")
    raise BackendUnavailableError(f"No render backend can run here ({'; '.join(reasons)}).")
