"""Exporting one streaming chunk of the motion model to ONNX, for ONNX Runtime and TensorRT.

The graph is a whole `ChunkSampler` call (audio and preset encodings, every Euler step) over
the fixed window of a streaming config (context plus chunk frames, audio with lookahead), so
every axis and the step count are static and the runtime makes one call per chunk.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor

from avatarcam.motion.chunk_sampler import INPUT_NAMES, OUTPUT_NAME, ChunkSampler
from avatarcam.motion.model import MotionDenoiser
from avatarcam.motion.space import NUM_FIELDS

OPSET = 17


def example_inputs(model: MotionDenoiser, chunk_frames: int, context_frames: int | None = None,
                   seed: int = 0) -> tuple[Tensor, ...]:
    """Random inputs of the streaming window's shapes, in INPUT_NAMES order."""
    config = model.config
    context = config.context_frames if context_frames is None else context_frames
    audio = context + chunk_frames + config.lookahead_frames
    generator = torch.Generator().manual_seed(seed)
    preset_weight = torch.zeros(1, NUM_FIELDS)
    preset_weight[:, :: 4] = torch.rand(1, len(range(0, NUM_FIELDS, 4)), generator=generator)
    return (
        torch.randn(1, context, NUM_FIELDS, generator=generator),
        torch.randn(1, chunk_frames, NUM_FIELDS, generator=generator),
        model.mel_mean + model.mel_std * torch.randn(1, audio, config.frame_features, generator=generator),
        (torch.rand(1, audio, generator=generator) > 0.5).float(),
        torch.rand(1, NUM_FIELDS, generator=generator),
        preset_weight,
    )


def export_onnx(model: MotionDenoiser, path: str | Path, chunk_frames: int, steps: int,
                context_frames: int | None = None) -> Path:
    """Write the `steps`-step chunk sampler for windows of `context_frames` + `chunk_frames`
    frames to `path` (inputs INPUT_NAMES, output OUTPUT_NAME (1, chunk, NUM_FIELDS)); return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = example_inputs(model, chunk_frames, context_frames)
    sampler = ChunkSampler(model, steps).eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(sampler, inputs, str(path), dynamo=False, opset_version=OPSET,
                          input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME])
    onnx.checker.check_model(str(path))
    return path
