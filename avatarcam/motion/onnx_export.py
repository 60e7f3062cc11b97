"""Exporting one denoiser step of the motion model to ONNX, for ONNX Runtime and TensorRT.

The graph is one evaluation of the denoiser over the fixed window of a streaming config
(context plus chunk frames, audio with lookahead), so every axis is static; a sampler calls
it once per step, as `MotionStreamer` calls the torch module.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor

from avatarcam.motion.model import MotionDenoiser
from avatarcam.motion.space import NUM_FIELDS

OPSET = 17
INPUT_NAMES = ("x", "known", "t", "mel", "vad", "preset_target", "preset_weight")
OUTPUT_NAME = "velocity"


def example_inputs(model: MotionDenoiser, chunk_frames: int, context_frames: int | None = None,
                   seed: int = 0) -> tuple[Tensor, ...]:
    """Random inputs of the streaming window's shapes, in INPUT_NAMES order."""
    config = model.config
    context = config.context_frames if context_frames is None else context_frames
    window = context + chunk_frames
    audio = window + config.lookahead_frames
    generator = torch.Generator().manual_seed(seed)
    known = torch.zeros(1, window)
    known[:, :context] = 1.0
    preset_weight = torch.zeros(1, NUM_FIELDS)
    preset_weight[:, :: 4] = torch.rand(1, len(range(0, NUM_FIELDS, 4)), generator=generator)
    return (
        torch.randn(1, window, NUM_FIELDS, generator=generator),
        known,
        torch.rand(1, generator=generator),
        model.mel_mean + model.mel_std * torch.randn(1, audio, config.frame_features, generator=generator),
        (torch.rand(1, audio, generator=generator) > 0.5).float(),
        torch.rand(1, NUM_FIELDS, generator=generator),
        preset_weight,
    )


def export_onnx(model: MotionDenoiser, path: str | Path, chunk_frames: int,
                context_frames: int | None = None) -> Path:
    """Write one denoiser step for windows of `context_frames` + `chunk_frames` frames to
    `path` (inputs INPUT_NAMES, output "velocity" (1, window, NUM_FIELDS)); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = example_inputs(model, chunk_frames, context_frames)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model.eval(), inputs, str(path), dynamo=False, opset_version=OPSET,
                          input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME])
    onnx.checker.check_model(str(path))
    return path
