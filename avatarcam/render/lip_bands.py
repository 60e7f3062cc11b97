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
from torch import nn

from avatarcam.render import landmark_sets as ls
from avatarcam.render.feature_frame import (FeatureFrame, FixedFrame, between_contours,
                                            contour_reach, contour_samples, look_up, soft_step)

OUTER_FEATHER_PX = 2.0  # where the redrawn skin meets the warped face
CORNER_FEATHER = 0.15  # in half mouth widths, beyond the outer lip corners
_RING = len(ls.OUTER_UPPER_LIP)
_OPENING = len(ls.INNER_LIP_POLYGON)
# Positions in MOUTH_TRACKED of the rings below the opening, from the top down.
ABOVE, OUTER_UPPER, OUTER_LOWER, BELOW = (slice(_OPENING + k * _RING, _OPENING + (k + 1) * _RING)
                                          for k in range(4))
# Columns of the contour table, top-down: ABOVE, OUTER_UPPER, the inner upper lip, the inner
# lower lip, OUTER_LOWER, BELOW.
INNER_UPPER, INNER_LOWER = 2, 3


class LipBands(nn.Module):
    """The lip layer of one portrait: knows the photo's lip contours (sampled once), and per
    frame lays the photo's bands between the contours as moved."""

    def __init__(self, rest: torch.Tensor, upper: list[int], lower: list[int],
                 corners: tuple[int, int], to_normalised: torch.Tensor) -> None:
        """`rest` are the tracked mouth points in the photo (P, 2); `upper` and `lower`
        index the inner contours in them, `corners` the inner corners."""
        super().__init__()
        self.corners = corners
        self.register_buffer("upper", torch.tensor(upper))
        self.register_buffer("lower", torch.tensor(lower))
        self.register_buffer("to_normalised", to_normalised.clone())
        source = FeatureFrame.from_corners(rest[None, corners[0]], rest[None, corners[1]])
        self.source = FixedFrame(source)
        contours = self._contours(*source.to_frame(rest[None]))
        self.register_buffer("photo_reach", contour_reach(contours))
        self.register_buffer("photo_table", contour_samples(contours, self.photo_reach))

    def _contours(self, ku: torch.Tensor, kv: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The six contours' knots from the tracked points in one frame, top-down."""
        rings = [(ku[:, ring], kv[:, ring]) for ring in (ABOVE, OUTER_UPPER, OUTER_LOWER, BELOW)]
        inner = [(ku.index_select(1, index), kv.index_select(1, index)) for index in (self.upper, self.lower)]
        return [rings[0], rings[1], inner[0], inner[1], rings[2], rings[3]]

    def drawn(self, frame: FeatureFrame, moved: torch.Tensor,
              u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """v of the six contours as moved (B, N, 6) at each u (B, N) of `frame` (the mouth
        frame of the moved inner corners), from the tracked points as moved (B, P, 2); and
        the outer lip corners' |u| (B, 1)."""
        ku, kv = frame.to_frame(moved)
        contours = self._contours(ku, kv)
        reach = contour_reach(contours)
        outer_u = torch.maximum(torch.abs(ku[:, OUTER_UPPER.start, None]),
                                torch.abs(ku[:, OUTER_UPPER.stop - 1, None]))
        return look_up(contour_samples(contours, reach), reach, u), outer_u

    def forward(self, person: torch.Tensor, frame: FeatureFrame, u: torch.Tensor, v: torch.Tensor,
                drawn: torch.Tensor, outer_u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Colour (B, 3, N) and alpha (B, N) of the redrawn lips at mouth-frame `u`, `v`
        (B, N), given the contours and corners that `drawn` returned."""
        batch = u.shape[0]
        photo = look_up(self.photo_table.expand(batch, -1, -1), self.photo_reach.expand(batch, -1), u)
        source_v = between_contours(v, drawn, photo)
        sharp = frame.half_width / OUTER_FEATHER_PX
        alpha = (soft_step(v - drawn[..., 0], sharp) * soft_step(drawn[..., -1] - v, sharp)
                 * soft_step(outer_u + CORNER_FEATHER - torch.abs(u), 1.0 / CORNER_FEATHER))
        grid = ((self.source.repeated(batch).to_pixels(u, source_v) + 0.5) * self.to_normalised - 1.0)[:, None]
        colour = F.grid_sample(person[:, :3].expand(batch, -1, -1, -1), grid, mode="bilinear",
                               padding_mode="border", align_corners=False)[:, :, 0]
        return colour, alpha
