"""Exporting the render graph of one avatar and size to ONNX.

The ONNX file is what ONNX Runtime runs and what TensorRT builds its engine from, so the
graph is exported once with a dynamic batch axis and checked by onnx before use.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from avatarcam.motion.space import NUM_FIELDS
from avatarcam.render.graph import RenderGraph

OPSET = 17  # grid_sample (GridSample) needs opset 16 or later
INPUT_NAME = "motion"
OUTPUT_NAME = "frames"


def export_onnx(graph: RenderGraph, path: str | Path) -> Path:
    """Write `graph` as ONNX to `path` (input "motion" (B, NUM_FIELDS), output "frames"
    (B, 3, H, W) float32 in 0..1) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, NUM_FIELDS)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            graph, (example,), str(path), dynamo=False, opset_version=OPSET,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
    import onnx  # here: only an export needs it, not each run of the torch backend

    onnx.checker.check_model(str(path))
    return path
