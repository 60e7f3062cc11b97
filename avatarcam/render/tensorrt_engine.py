"""Running the exported render graph as a TensorRT fp16 engine on an NVIDIA GPU.

Optional (the `tensorrt` extra): the engine is built from the same ONNX file that ONNX
Runtime runs, cached per GPU model and TensorRT version (engines are not portable between
them), and executed on its own CUDA stream with torch-owned device buffers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatarcam.render.onnx_export import INPUT_NAME, OUTPUT_NAME

WORKSPACE_BYTES = 1 << 30
MAX_BATCH = 8  # the engine's optimisation profile covers batches 1..MAX_BATCH


def why_unavailable() -> str | None:
    """None when TensorRT can run here, else one sentence saying why not."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "tensorrt is not installed (pip install 'avatarcam[tensorrt]' on a machine with an NVIDIA GPU)."
    if not torch.cuda.is_available():
        return "TensorRT needs a CUDA GPU, and torch sees none."
    return None


def engine_path(onnx_path: Path) -> Path:
    """Where the engine built from `onnx_path` for this GPU and TensorRT version is cached."""
    import tensorrt as trt

    gpu = re.sub(r"[^A-Za-z0-9]+", "-", torch.cuda.get_device_name()).strip("-")
    return onnx_path.with_name(f"{onnx_path.stem}.{gpu}.trt{trt.__version__}.fp16.engine")


def build_engine(onnx_path: Path, out_path: Path, num_fields: int) -> None:
    """Build an fp16 engine from `onnx_path` and write it to `out_path`."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, (1, num_fields), (1, num_fields), (MAX_BATCH, num_fields))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT could not build an engine from {onnx_path}")
    out_path.write_bytes(bytes(serialized))


class TensorRTRenderer:
    """Renders motion (B, F) to uint8 frames (B, H, W, 3) with a cached TensorRT engine."""

    def __init__(self, onnx_path: Path, num_fields: int, frame_shape: tuple[int, int]) -> None:
        import tensorrt as trt

        path = engine_path(onnx_path)
        if not path.exists():
            build_engine(onnx_path, path, num_fields)
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine: Any = runtime.deserialize_cuda_engine(path.read_bytes())
        self._context: Any = self._engine.create_execution_context()
        self._stream = torch.cuda.Stream()
        self._frame_shape = frame_shape

    def render(self, motion: np.ndarray) -> np.ndarray:
        """uint8 frames (B, H, W, 3) for motion vectors (B, F)."""
        height, width = self._frame_shape
        device_in = torch.from_numpy(np.ascontiguousarray(motion, np.float32)).cuda()
        device_out = torch.empty((len(motion), 3, height, width), device="cuda")
        with torch.cuda.stream(self._stream):
            self._context.set_input_shape(INPUT_NAME, tuple(device_in.shape))
            self._context.set_tensor_address(INPUT_NAME, device_in.data_ptr())
            self._context.set_tensor_address(OUTPUT_NAME, device_out.data_ptr())
            self._context.execute_async_v3(self._stream.cuda_stream)
            frames = (device_out.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
            result = frames.cpu()
        self._stream.synchronize()
        return result.numpy()
