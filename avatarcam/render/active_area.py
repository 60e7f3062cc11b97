"""Where a frame can differ from the still background: the part of the canvas worth warping.

On a 16:9 canvas the person covers about a third of the frame; everywhere else the warped
person layer has no coverage and the frame is the background plate. Each frame, the
backward warp's source points on the low-resolution grid are looked up in the person's
coverage, grown by a margin wider than a grid cell's spread, and the rectangle of grid
cells that can see any of it becomes the pixel box the renderer warps. Outside that box
the frame is the plate, exactly as the full-frame warp would have made it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# How far (in grid cells) a pixel's source point can lie from the source points of the
# grid nodes around it: a cell's diagonal, stretched up to about twice by the warp, plus
# the pixel the bilinear lookup of the person reads beyond its own.
REACH_CELLS = 3
# Cropping costs a copy of the plate into the frame; for a box this big it saves less.
WHOLE_FRAME_SHARE = 0.85


@dataclass(frozen=True)
class PixelBox:
    """Rows top..bottom and columns left..right (ends excluded) of the output frame, and
    the low-resolution grid rows and columns whose upsampling covers them exactly."""

    top: int
    bottom: int
    left: int
    right: int
    grid_top: int
    grid_bottom: int
    grid_left: int
    grid_right: int


class ActiveArea(nn.Module):
    """Finds, per frame, the pixel box outside of which the frame is the background plate."""

    def __init__(self, coverage: np.ndarray, low_grid: torch.Tensor) -> None:
        """`coverage` is the person layer's alpha (H, W) on the canvas, `low_grid` the
        low-resolution warp grid's own points (1, h, w, 2) in normalised coordinates."""
        super().__init__()
        height, width = coverage.shape
        grid_h, grid_w = low_grid.shape[1:3]
        if height % grid_h or width % grid_w:
            raise ValueError(f"a {grid_w}x{grid_h} warp grid does not divide a {width}x{height} frame "
                             "into whole cells; choose a grid that does")
        self.height, self.width, self.grid_h, self.grid_w = height, width, grid_h, grid_w
        self.step_y, self.step_x = height // grid_h, width // grid_w
        radius = REACH_CELLS * max(self.step_y, self.step_x)
        covered = torch.from_numpy((coverage > 0).astype(np.float32))[None, None]
        self.register_buffer("reach", F.max_pool2d(covered, 2 * radius + 1, stride=1, padding=radius))
        # Where the person fills the frame at rest (a close-up), looking costs more than it saves.
        self.worthwhile = self._search(low_grid) != self.box_of_frame()

    def box(self, sources: torch.Tensor) -> PixelBox | None:
        """The box for warp source points `sources` (B, h, w, 2) in normalised canvas
        coordinates (the whole frame when the box would be nearly that, or when the person
        fills the frame at rest), or None when no pixel of any frame in the batch shows the
        person."""
        return self._search(sources) if self.worthwhile else self.box_of_frame()

    def _search(self, sources: torch.Tensor) -> PixelBox | None:
        """`box` for any frame, worthwhile or not."""
        seen = F.grid_sample(self.reach.expand(sources.shape[0], -1, -1, -1), sources, mode="bilinear",
                             padding_mode="border", align_corners=False)[:, 0] > 0.0
        rows = torch.nonzero(seen.any(0).any(1)).flatten()
        cols = torch.nonzero(seen.any(0).any(0)).flatten()
        if rows.numel() == 0:
            return None
        box = self._box(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]))
        share = (box.bottom - box.top) * (box.right - box.left) / (self.height * self.width)
        return self.box_of_frame() if share >= WHOLE_FRAME_SHARE else box

    def _box(self, first_row: int, last_row: int, first_col: int, last_col: int) -> PixelBox:
        """The pixels that grid nodes first..last (inclusive) take part in, a node further
        each way, and the grid one node beyond that, which their upsampling reads."""
        top = max(0, (first_row - 1) * self.step_y)
        bottom = min(self.height, (last_row + 2) * self.step_y)
        left = max(0, (first_col - 1) * self.step_x)
        right = min(self.width, (last_col + 2) * self.step_x)
        return PixelBox(top, bottom, left, right,
                        max(0, top // self.step_y - 1), min(self.grid_h, bottom // self.step_y + 1),
                        max(0, left // self.step_x - 1), min(self.grid_w, right // self.step_x + 1))

    def box_of_frame(self) -> PixelBox:
        """The whole frame as a box (for a graph that must not depend on the motion)."""
        return self._box(0, self.grid_h - 1, 0, self.grid_w - 1)

    def is_whole(self, box: PixelBox) -> bool:
        """Whether `box` is the whole frame."""
        return (box.top, box.left, box.bottom, box.right) == (0, 0, self.height, self.width)
