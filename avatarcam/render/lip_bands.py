"""The lips redrawn at full resolution around the mouth opening.

The photo's lips are a few pixels thick with no gap (or teeth) between them; opening the
jaw asks the low-resolution warp to tear them apart across less than one of its cells,
which smears the lower lip into the opening. Here each band — skin above the lip, upper
lip, lower lip, skin below — is taken from the photo between its own contours and laid
between the same contours as moved, column by column in the mouth frame. The opening
itself is drawn afterwards by the mouth interior.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from avatarcam.render import landmark_sets as ls
from avatarcam.render.feature_frame import (FeatureFrame, between_contours, contour_table,
                                            running_max, soft_step)

OUTER_FEATHER_PX = 2.0  # where the redrawn skin meets the warped face
CORNER_FEATHER = 0.15  # in half mouth widths, beyond the outer lip corners
_RING = len(ls.OUTER_UPPER_LIP)
_OPENING = len(ls.INNER_LIP_POLYGON)
# Positions in MOUTH_TRACKED of the rings below the opening, from the top down.
ABOVE, OUTER_UPPER, OUTER_LOWER, BELOW = (slice(_OPENING + k * _RING, _OPENING + (k + 1) * _RING)
                                          for k in range(4))


def _contours(frame: FeatureFrame, tracked: torch.Tensor, u: torch.Tensor, upper: list[int],
              lower: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The six contours' v at each u (B, N, 6), from the top down, and the outer corners'
    |u| (B, 1)."""
    ku, kv = frame.to_frame(tracked)
    rings = [(ku[:, ring], kv[:, ring]) for ring in (ABOVE, OUTER_UPPER, OUTER_LOWER, BELOW)]
    stack = contour_table(u, [rings[0], rings[1], (ku[:, upper], kv[:, upper]),
                              (ku[:, lower], kv[:, lower]), rings[2], rings[3]])
    stack = running_max(stack)  # contours never cross
    corners = torch.maximum(torch.abs(ku[:, OUTER_UPPER.start, None]), torch.abs(ku[:, OUTER_UPPER.stop - 1, None]))
    return stack, corners


def lip_layer(person: torch.Tensor, pixels: torch.Tensor, moved: torch.Tensor, rest: torch.Tensor,
              upper: list[int], lower: list[int], corners: tuple[int, int],
              to_normalised: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour (B, 3, N) and alpha (B, N) of the redrawn lips at crop `pixels` (B, N, 2),
    from the tracked mouth points as moved (B, P, 2) and at rest in the photo (P, 2);
    `upper` and `lower` index the inner contours, `corners` the inner corners."""
    batch = moved.shape[0]
    rest = rest[None].expand(batch, -1, -1)
    out = FeatureFrame.from_corners(moved[:, corners[0]], moved[:, corners[1]])
    src = FeatureFrame.from_corners(rest[:, corners[0]], rest[:, corners[1]])
    u, v = out.to_frame(pixels)
    drawn, outer_u = _contours(out, moved, u, upper, lower)
    photo, _ = _contours(src, rest, u, upper, lower)
    source_v = between_contours(v, drawn, photo)
    sharp = out.half_width / OUTER_FEATHER_PX
    alpha = (soft_step(v - drawn[..., 0], sharp) * soft_step(drawn[..., -1] - v, sharp)
             * soft_step(outer_u + CORNER_FEATHER - torch.abs(u), 1.0 / CORNER_FEATHER))
    grid = ((src.to_pixels(u, source_v) + 0.5) * to_normalised - 1.0)[:, None]
    colour = F.grid_sample(person[:, :3].expand(batch, -1, -1, -1), grid, mode="bilinear",
                           padding_mode="border", align_corners=False)[:, :, 0]
    return colour, alpha
