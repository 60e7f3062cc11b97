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
                                            contour_reach, contour_samples, look_up)

# Beyond the outer lip corners the layer fades out over this many half mouth widths, and
# across each skin band (above the upper lip, below the lower lip) it fades from the lip to
# the band's far contour: the warped face takes over gradually, with no visible seam where
# the two disagree (a rounded mouth samples the photo's skin from farther out than the warp).
CORNER_FEATHER = 0.35
MIN_BAND = 1e-3  # in half mouth widths: a band thinner than this counts as this thick
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
        ku, kv = source.to_frame(rest[None])
        contours = self._contours(ku, kv)
        self.register_buffer("photo_outer_u", self._outer_u(ku))
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
        return look_up(contour_samples(contours, reach), reach, u), self._outer_u(ku)

    @staticmethod
    def _outer_u(ku: torch.Tensor) -> torch.Tensor:
        """(B, 1) |u| of the outer lip corner farther from the middle."""
        return torch.maximum(torch.abs(ku[:, OUTER_UPPER.start, None]),
                             torch.abs(ku[:, OUTER_UPPER.stop - 1, None]))

    def _photo_u(self, u: torch.Tensor, outer_u: torch.Tensor) -> torch.Tensor:
        """Where in the photo's mouth frame to read each drawn u (B, N): the same u between
        the inner corners; beyond them the stretch that takes the drawn outer corners to
        the photo's, so the lips end at their corners however the mouth is shaped."""
        stretch = (self.photo_outer_u - 1.0) / torch.clamp(outer_u - 1.0, min=MIN_BAND)
        beyond = torch.clamp(torch.abs(u) - 1.0, min=0.0)
        return u + torch.sign(u) * beyond * (stretch - 1.0)

    def forward(self, person: torch.Tensor, frame: FeatureFrame, u: torch.Tensor, v: torch.Tensor,
                drawn: torch.Tensor, outer_u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Colour (B, 3, N) and alpha (B, N) of the redrawn lips at mouth-frame `u`, `v`
        (B, N), given the contours and corners that `drawn` returned."""
        batch = u.shape[0]
        source_u = self._photo_u(u, outer_u)
        photo = look_up(self.photo_table.expand(batch, -1, -1), self.photo_reach.expand(batch, -1), source_u)
        source_v = between_contours(v, drawn, photo)
        above = torch.clamp(drawn[..., 1] - drawn[..., 0], min=MIN_BAND)
        below = torch.clamp(drawn[..., -1] - drawn[..., -2], min=MIN_BAND)
        alpha = (torch.clamp((v - drawn[..., 0]) / above, 0.0, 1.0)
                 * torch.clamp((drawn[..., -1] - v) / below, 0.0, 1.0)
                 * torch.clamp((outer_u + CORNER_FEATHER - torch.abs(u)) / CORNER_FEATHER, 0.0, 1.0))
        pixels = self.source.repeated(batch).to_pixels(source_u, source_v)
        grid = ((pixels + 0.5) * self.to_normalised - 1.0)[:, None]
        colour = F.grid_sample(person[:, :3].expand(batch, -1, -1, -1), grid, mode="bilinear",
                               padding_mode="border", align_corners=False)[:, :, 0]
        return colour, alpha
