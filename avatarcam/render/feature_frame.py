"""Local coordinates around a facial feature (the mouth, an eye), in torch.

u runs along the line between the feature's two corners (-1 at the image-left one, +1 at
the image-right one), v runs perpendicular to it, down the face, both in units of half
the corner distance. Contours given as (u, v) knots become functions v(u), so the region
between two contours is simple to test and to map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

TABLE_SAMPLES = 96  # contour samples across a feature: about one per pixel at 512×512
TABLE_MARGIN = 1.05  # the table reaches this far past the outermost knot


def perpendicular(v: torch.Tensor) -> torch.Tensor:
    """v turned by 90° (clockwise as viewed, with y down): (x, y) → (-y, x) on the last axis."""
    return torch.stack([-v[..., 1], v[..., 0]], -1)


@dataclass(frozen=True)
class FeatureFrame:
    """The local frame of one feature per batch item."""

    origin: torch.Tensor  # (B, 2) pixels, midway between the corners
    axis_u: torch.Tensor  # (B, 2) unit vector from the image-left corner to the other
    axis_v: torch.Tensor  # (B, 2) unit vector perpendicular to it, down the face
    half_width: torch.Tensor  # (B, 1) pixels

    @classmethod
    def from_corners(cls, left: torch.Tensor, right: torch.Tensor) -> FeatureFrame:
        """The frame whose corners are `left` and `right` (B, 2)."""
        half_width = torch.linalg.vector_norm(right - left, dim=-1, keepdim=True) / 2.0
        axis_u = (right - left) / (2.0 * half_width)
        return cls((left + right) / 2.0, axis_u, perpendicular(axis_u), half_width)

    def to_frame(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixel points (B, N, 2) as u and v (B, N)."""
        rel = points - self.origin[:, None]
        return ((rel * self.axis_u[:, None]).sum(-1) / self.half_width,
                (rel * self.axis_v[:, None]).sum(-1) / self.half_width)

    def to_pixels(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """u and v (B, N) as pixel points (B, N, 2)."""
        scale = self.half_width[:, :, None]
        return self.origin[:, None] + scale * (u[..., None] * self.axis_u[:, None]
                                               + v[..., None] * self.axis_v[:, None])


class FixedFrame(nn.Module):
    """A feature's frame in the photo, which never moves: kept as buffers (so it follows the
    module to a device and into an ONNX export) and handed out repeated per batch item."""

    def __init__(self, frame: FeatureFrame) -> None:
        super().__init__()
        self.register_buffer("origin", frame.origin)
        self.register_buffer("axis_u", frame.axis_u)
        self.register_buffer("axis_v", frame.axis_v)
        self.register_buffer("half_width", frame.half_width)

    def repeated(self, times: int) -> FeatureFrame:
        """The frame (F features) as a FeatureFrame of F * `times` items: all F, `times` over."""
        return FeatureFrame(self.origin.repeat(times, 1), self.axis_u.repeat(times, 1),
                            self.axis_v.repeat(times, 1), self.half_width.repeat(times, 1))


def piecewise_linear(x: torch.Tensor, knots_x: torch.Tensor, knots_y: torch.Tensor) -> torch.Tensor:
    """y (B, C, S) at x (B, S) on each of C polylines through (knots_x, knots_y) (B, C, K),
    held flat beyond their ends. Knots should come in increasing x; one that steps back
    (a corner pulled inward past its neighbour) is held at the furthest x so far."""
    knots_x = running_max(knots_x)
    dx = knots_x[..., 1:] - knots_x[..., :-1]
    dx = torch.where(torch.abs(dx) > 1e-4, dx, torch.full_like(dx, 1e-4))
    share = torch.clamp((x[:, None, :, None] - knots_x[:, :, None, :-1]) / dx[:, :, None], 0.0, 1.0)
    rise = (knots_y[..., 1:] - knots_y[..., :-1])[:, :, None]
    return knots_y[..., :1] + (share * rise).sum(-1)


Contours = Sequence[tuple[torch.Tensor, torch.Tensor]]


def contour_reach(contours: Contours) -> torch.Tensor:
    """(B, 1) how far along u a table of `contours` (knots (ku, kv), each (B, K)) reaches."""
    return torch.stack([torch.abs(ku).amax(1) for ku, _ in contours], 1).amax(1, keepdim=True) * TABLE_MARGIN


def contour_samples(contours: Contours, reach: torch.Tensor, ordered: bool = True) -> torch.Tensor:
    """v of each contour at TABLE_SAMPLES values of u across ±`reach` (B, 1), as (B, C, S);
    contours may have different knot counts. With `ordered`, contours come top-down and
    each is held at or below the one before, so they never cross."""
    knots = max(ku.shape[1] for ku, _ in contours)
    ku = torch.stack([_pad_knots(k, knots) for k, _ in contours], 1)
    kv = torch.stack([_pad_knots(k, knots) for _, k in contours], 1)
    steps = torch.linspace(-1.0, 1.0, TABLE_SAMPLES, device=reach.device, dtype=reach.dtype)
    table = piecewise_linear(reach * steps, ku, kv)
    return running_max(table.transpose(1, 2)).transpose(1, 2) if ordered else table


def look_up(table: torch.Tensor, reach: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Every contour of `table` (B, C, S), made by `contour_samples` over ±`reach`, at each
    u (B, N): (B, N, C). A few operations per pixel instead of a few per pixel and knot."""
    where = torch.stack([u / reach, torch.zeros_like(u)], -1)[:, None]
    looked_up = F.grid_sample(table[:, :, None, :], where, mode="bilinear", padding_mode="border",
                              align_corners=True)
    return looked_up[:, :, 0].permute(0, 2, 1)


def _pad_knots(values: torch.Tensor, count: int) -> torch.Tensor:
    """Knot values (B, K) made `count` long by repeating the last (a segment of no length)."""
    missing = count - values.shape[1]
    return torch.cat([values, values[:, -1:].expand(-1, missing)], 1) if missing else values


def running_max(values: torch.Tensor) -> torch.Tensor:
    """The running maximum along the last axis: torch.cummax in eager torch (one operation
    for what takes one per column), and column by column while traced, since cummax does
    not export to ONNX."""
    if not torch.jit.is_tracing():
        return torch.cummax(values, -1).values
    columns = [values[..., 0]]
    for k in range(1, values.shape[-1]):
        columns.append(torch.maximum(columns[-1], values[..., k]))
    return torch.stack(columns, -1)


def soft_step(distance: torch.Tensor, sharpness: torch.Tensor | float) -> torch.Tensor:
    """0 … 1 across an edge: 0.5 at distance 0, 1 inside (positive distance), ramping over
    1 / sharpness."""
    return torch.clamp(0.5 + distance * sharpness, 0.0, 1.0)


def between_contours(v: torch.Tensor, drawn: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Map v (B, N) piecewise-linearly from a stack of contours as drawn (B, N, C), each
    at or below the one before, to the same contours in the photo (B, N, C): the photo's
    band between two contours is stretched over the drawn band between them."""
    span = drawn[..., 1:] - drawn[..., :-1]
    share = torch.clamp((v[..., None] - drawn[..., :-1]) / torch.clamp(span, min=1e-3), 0.0, 1.0)
    return source[..., 0] + (share * (source[..., 1:] - source[..., :-1])).sum(-1)
