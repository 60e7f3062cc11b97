"""Fixed-size work areas cut out of a batch of frames and pasted back.

The mouth and the eyelids are drawn at full resolution but only around the feature, so
each is computed in a crop that follows the feature from frame to frame. A crop's sides
are shares of the face height: in eager torch of the face as large as the frame shows it,
so a face at its own size works on less than half the pixels of the largest one; traced
for export, of the largest face the motion space allows, so the graph keeps static shapes
(ONNX, TensorRT).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch


def crop_sides(face_px: float, face_heights: tuple[float, float], width: int,
               height: int) -> tuple[int, int]:
    """A crop's (width, height) in pixels: `face_heights` (across, down) of a face `face_px`
    tall, each a multiple of 8 and at most the frame's side."""
    across, down = face_heights
    return (min(width, 8 * math.ceil(across * face_px / 8)),
            min(height, 8 * math.ceil(down * face_px / 8)))


@dataclass(frozen=True)
class Crop:
    """Where one crop per frame lies: flat pixel indices for gather/scatter and the
    canvas coordinates of its pixels."""

    index: torch.Tensor  # (B, 3, h * w) flat indices into (B, 3, H * W)
    pixels: torch.Tensor  # (B, h * w, 2) canvas (x, y) of each crop pixel


def crop_around(centre: torch.Tensor, crop_w: int, crop_h: int, width: int, height: int,
                cols: torch.Tensor, rows: torch.Tensor) -> Crop:
    """The crop of `crop_w` × `crop_h` centred on `centre` (B, 2), kept inside the frame;
    `cols` and `rows` are `arange` of at least `crop_w` and `crop_h` (buffers of the caller)."""
    batch = centre.shape[0]
    cols, rows = cols[:crop_w], rows[:crop_h]
    x0 = torch.clamp(torch.round(centre[:, 0] - crop_w / 2), 0, width - crop_w)
    y0 = torch.clamp(torch.round(centre[:, 1] - crop_h / 2), 0, height - crop_h)
    cols = x0.long()[:, None] + cols
    rows = y0.long()[:, None] + rows
    index = (rows[:, :, None] * width + cols[:, None, :]).reshape(batch, 1, -1).expand(-1, 3, -1)
    pixels = torch.stack([cols[:, None, :].expand(-1, crop_h, -1),
                          rows[:, :, None].expand(-1, -1, crop_w)], -1)
    return Crop(index, pixels.reshape(batch, -1, 2).to(centre.dtype))


def group_crop(crops: Crop, member: int, groups: int) -> Crop:
    """From crops batched frame-major with `groups` per frame (B * groups), member
    `member`'s crop of every frame (B)."""
    batch = crops.index.shape[0] // groups
    return Crop(crops.index.reshape(batch, groups, 3, -1)[:, member],
                crops.pixels.reshape(batch, groups, -1, 2)[:, member])


def group_layer(colour: torch.Tensor, alpha: torch.Tensor, member: int,
                groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A layer computed for crops batched as in `group_crop` (colour (B * groups, 3, n),
    alpha (B * groups, n)): member `member`'s part of every frame."""
    batch = colour.shape[0] // groups
    return (colour.reshape(batch, groups, 3, -1)[:, member], alpha.reshape(batch, groups, -1)[:, member])


def composite_in_crop(frame: torch.Tensor, crop: Crop,
                      layers: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """`frame` (B, 3, H, W) with each (colour (B, 3, h * w), alpha (B, h * w)) of `layers`
    laid over the crop in turn (one gather and one scatter whatever their number). `frame`
    is written in place: the graph makes it fresh every call."""
    batch, _, height, width = frame.shape
    flat = frame.reshape(batch, 3, -1)
    over = torch.gather(flat, 2, crop.index)
    for colour, alpha in layers:
        over = over + alpha[:, None] * (colour - over)
    return flat.scatter_(2, crop.index, over).reshape(batch, 3, height, width)
