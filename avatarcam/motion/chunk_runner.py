"""What runs the motion model's chunks: torch, eagerly, on any device; or, on the CPU, ONNX
Runtime on the chunk graph exported once per weights file and window shape.

On the live engine's CPU path ONNX Runtime makes a chunk about 3.5 times cheaper (one call
instead of hundreds of small torch operations) and holds no interpreter lock while it runs,
so the render thread sharing the process keeps more of the machine. Where it cannot run or
the export fails, the stream runs on torch and says so once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from avatarcam.motion.chunk_sampler import INPUT_NAMES, ChunkSampler
from avatarcam.motion.model import MotionDenoiser

log = logging.getLogger(__name__)

GRAPH_FORMAT = 3  # part of cached graph names: raise it when a change alters what a graph computes
ORT_THREADS = 1  # the engine gives every calling thread one CPU thread (runtime/engine.py)
DIGEST_CHARS = 16  # hex digits of the weights' hash in cached graph names


class ChunkRunner(Protocol):
    """Runs `ChunkSampler` on numpy inputs in INPUT_NAMES order; returns the chunk's motion."""

    name: str

    def __call__(self, inputs: Sequence[np.ndarray]) -> np.ndarray: ...  # noqa: D102


class TorchChunkRunner:
    """The chunk sampler in eager torch, on the network's device; any window shape."""

    name = "torch"

    def __init__(self, network: MotionDenoiser, steps: int, device: str) -> None:
        self._sampler = ChunkSampler(network, steps).to(device).eval()
        self._device = device

    def __call__(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """(1, chunk, fields) normalised motion."""
        with torch.no_grad():
            tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(self._device) for a in inputs]
            return self._sampler(*tensors).cpu().numpy()


class OnnxChunkRunner:
    """An exported chunk graph in ONNX Runtime on one CPU thread; windows of another shape
    (a shorter last chunk at the end of a stream) go to `fallback`."""

    name = "onnxruntime"

    def __init__(self, graph: Path, fallback: ChunkRunner) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = ORT_THREADS
        options.inter_op_num_threads = ORT_THREADS
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._shapes = [tuple(i.shape) for i in self._session.get_inputs()]
        self._fallback = fallback

    def __call__(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """(1, chunk, fields) normalised motion."""
        if [a.shape for a in inputs] != self._shapes:
            return self._fallback(inputs)
        feed = {name: np.ascontiguousarray(a, np.float32) for name, a in zip(INPUT_NAMES, inputs)}
        return self._session.run(None, feed)[0]


def _graph_file(network: MotionDenoiser, weights: Path, context: int, chunk: int, steps: int,
                folder: Path) -> Path:
    """The cached chunk graph for these weights and window, exported now if missing."""
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:DIGEST_CHARS]
    path = folder / f"motion_{digest}_c{context}_n{chunk}_s{steps}_v{GRAPH_FORMAT}.onnx"
    if not path.exists():
        from avatarcam.motion.onnx_export import export_onnx  # imports onnx: only when exporting

        partial = path.with_name(f"{path.stem}.{os.getpid()}.part")
        try:
            export_onnx(network, partial, chunk, steps, context)
            os.replace(partial, path)  # whole or absent, also with two runs exporting at once
        finally:
            partial.unlink(missing_ok=True)
    return path


def open_chunk_runner(network: MotionDenoiser, weights: Path, device: str, steps: int, chunk: int,
                      context: int, graphs: Path | None) -> ChunkRunner:
    """ONNX Runtime on the CPU with its graph kept in `graphs`, else (no folder, another
    device, no context window, or ONNX Runtime unable to run it) torch."""
    torch_runner = TorchChunkRunner(network, steps, device)
    if graphs is None or device != "cpu" or context == 0:
        return torch_runner
    try:
        graph = _graph_file(network, weights, context, chunk, steps, graphs)
        try:
            return OnnxChunkRunner(graph, torch_runner)
        except Exception:  # noqa: BLE001 - a damaged cached graph (a full disk, say): export it again, once
            graph.unlink(missing_ok=True)
            return OnnxChunkRunner(_graph_file(network, weights, context, chunk, steps, graphs), torch_runner)
    except Exception as err:  # noqa: BLE001 - any failure here leaves the working torch path
        log.warning("The motion model runs in torch, which costs more CPU, because its ONNX Runtime "
                    "graph could not be made or loaded (%s); check that %s is writable and that onnx "
                    "and onnxruntime are installed (.venv/bin/pip install -e .).",
                    str(err).splitlines()[0] if str(err) else type(err).__name__, graphs)
        return torch_runner
