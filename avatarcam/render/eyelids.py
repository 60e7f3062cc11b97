"""Blinks drawn at full resolution: the upper lid slides down over the eye.

A closing eye cannot be made by the low-resolution warp: the opening is a few pixels
tall, and squeezing it shut folds the field. So the warp leaves the lids open and this
layer redraws, per eye and per frame, the skin between the ring above the lid crease and
the moving lid margin (stretched down from the photo's upper lid), and the lower lid
(nudged up from the photo's), leaving the eye itself, as the warp placed it (gaze
included), visible only between the margins. At blink 1 the margins meet.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avatarcam.render import landmark_sets as ls
from avatarcam.render.crops import composite_in_crop, crop_around, crop_sides, group_crop, group_layer
from avatarcam.render.feature_frame import (FeatureFrame, FixedFrame, contour_reach, contour_samples,
                                            look_up, soft_step)

UPPER_SHARE = 0.9  # the upper lid does most of a blink; the lower lid meets it
EYE_CROP_FACE_HEIGHTS = (0.34, 0.26)  # (width, height) of an eye's work area
MARGIN_FEATHER_PX = 0.6  # the lid margin is a crisp line of lashes
OUTER_FEATHER_PX = 1.5  # where the redrawn skin meets the warped face
CORNER_FEATHER = 0.1  # in half eye widths, beyond each corner
BLINK_RAMP = 0.1  # blink amount over which the layer fades in from nothing
MAX_BEND = 0.9  # below 1, so the top of the band is still sampled, not smeared
CONTOUR_POINTS = len(ls.RIGHT_UPPER_LID)


def _image_left_first(corners: tuple[int, int], contours: tuple[tuple[int, ...], ...],
                      reverse: bool) -> tuple[int, ...]:
    """Corners then contours, every list ordered from the image-left end."""
    if reverse:
        corners = (corners[1], corners[0])
        contours = tuple(tuple(reversed(c)) for c in contours)
    return corners + tuple(i for c in contours for i in c)


# Per eye (person's left, then right, as blink_l, blink_r): image-left corner, image-right
# corner, then the rings above the crease, the upper lid, the lower lid, below the lower lid.
EYE_LANDMARKS = (
    _image_left_first(ls.LEFT_EYE_CORNERS, (ls.LEFT_ABOVE_CREASE, ls.LEFT_UPPER_LID,
                                            ls.LEFT_LOWER_LID, ls.LEFT_BELOW_LOWER_LID), True),
    _image_left_first(ls.RIGHT_EYE_CORNERS, (ls.RIGHT_ABOVE_CREASE, ls.RIGHT_UPPER_LID,
                                             ls.RIGHT_LOWER_LID, ls.RIGHT_BELOW_LOWER_LID), False),
)
POINTS_PER_EYE = len(EYE_LANDMARKS[0])
TOP, UPPER, LOWER, BOTTOM = (slice(2 + k * CONTOUR_POINTS, 2 + (k + 1) * CONTOUR_POINTS)
                             for k in range(4))


def _lid_knots(u: torch.Tensor, v: torch.Tensor, ring: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """Knots of one lid margin with the corners at its ends (the margins meet there)."""
    return (torch.cat([u[:, :1], u[:, ring], u[:, 1:2]], 1),
            torch.cat([v[:, :1], v[:, ring], v[:, 1:2]], 1))


def _keep_margin_scale(t: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """Where in the photo's upper-lid band (0 top … 1 margin) to sample for position `t` in
    the drawn band, which is `ratio` times as tall: a quadratic that keeps the lashes at
    the margin at their own scale (as far as it can stay monotonic) and stretches the skin
    above them instead, so the lash line stays thin on a closed lid."""
    bend = torch.clamp(ratio - 1.0, 0.0, MAX_BEND)
    return (1.0 - bend) * t + bend * t * t


class Eyelids(nn.Module):
    """Draws both eyes' lids for blink amounts (B, 2), given the eye points as moved by the
    rest of the motion (B, 2, POINTS_PER_EYE, 2). The two eyes are computed as one batch."""

    def __init__(self, source_points: torch.Tensor, face_px_max: float, width: int, height: int) -> None:
        super().__init__()
        self.width, self.height = width, height
        largest_w, largest_h = crop_sides(face_px_max, EYE_CROP_FACE_HEIGHTS, width, height)
        self.register_buffer("crop_cols", torch.arange(largest_w))
        self.register_buffer("crop_rows", torch.arange(largest_h))
        self.register_buffer("to_normalised", torch.tensor([2.0 / width, 2.0 / height]))
        points = source_points.reshape(2, POINTS_PER_EYE, 2)
        source = FeatureFrame.from_corners(points[:, 0], points[:, 1])
        self.source = FixedFrame(source)
        contours = _eye_contours(*source.to_frame(points))
        self.register_buffer("photo_reach", contour_reach(contours))
        self.register_buffer("photo_table", contour_samples(contours, self.photo_reach, ordered=False))

    def forward(self, frame: torch.Tensor, person: torch.Tensor, moved: torch.Tensor,
                blink: torch.Tensor, face_px: float) -> torch.Tensor:
        """`frame` (B, 3, H, W) with both eyes' lids redrawn from `person` (1, 4, H, W);
        `face_px`, at most `face_px_max`, sizes the work areas (crops.py)."""
        batch = frame.shape[0]
        points = moved.reshape(2 * batch, POINTS_PER_EYE, 2)  # eye-major within each frame
        out = FeatureFrame.from_corners(points[:, 0], points[:, 1])
        crop_w, crop_h = crop_sides(face_px, EYE_CROP_FACE_HEIGHTS, self.width, self.height)
        crop = crop_around(out.origin, crop_w, crop_h, self.width, self.height, self.crop_cols, self.crop_rows)
        u, v = out.to_frame(crop.pixels)
        contours = _eye_contours(*out.to_frame(points))
        reach = contour_reach(contours)
        top, upper, lower, bottom = look_up(contour_samples(contours, reach, ordered=False), reach, u).unbind(-1)
        lower = torch.maximum(lower, upper)  # the lids never cross
        photo = look_up(self.photo_table.repeat(batch, 1, 1), self.photo_reach.repeat(batch, 1), u)
        s_top, s_upper, s_lower, s_bottom = photo.unbind(-1)

        amount = blink.reshape(2 * batch, 1)
        gap = lower - upper
        margin_up = upper + amount * UPPER_SHARE * gap
        margin_low = lower - amount * (1.0 - UPPER_SHARE) * gap
        in_upper = v < (margin_up + margin_low) / 2.0
        stretch = _keep_margin_scale((v - top) / torch.clamp(margin_up - top, min=1e-3),
                                     (margin_up - top) / torch.clamp(s_upper - s_top, min=1e-3))
        squeeze = (v - margin_low) / torch.clamp(bottom - margin_low, min=1e-3)
        source_v = torch.where(in_upper, s_top + stretch * (s_upper - s_top),
                               s_lower + squeeze * (s_bottom - s_lower))

        sharp_margin = out.half_width / MARGIN_FEATHER_PX
        sharp_outer = out.half_width / OUTER_FEATHER_PX
        upper_alpha = soft_step(v - top, sharp_outer) * soft_step(margin_up - v, sharp_margin)
        lower_alpha = soft_step(v - margin_low, sharp_margin) * soft_step(bottom - v, sharp_outer)
        alpha = (torch.where(in_upper, upper_alpha, lower_alpha)
                 * soft_step(1.0 + CORNER_FEATHER - torch.abs(u), 1.0 / CORNER_FEATHER)
                 * torch.clamp(amount / BLINK_RAMP, 0.0, 1.0))

        grid = ((self.source.repeated(batch).to_pixels(u, source_v) + 0.5) * self.to_normalised - 1.0)[:, None]
        skin = F.grid_sample(person[:, :3].expand(2 * batch, -1, -1, -1), grid, mode="bilinear",
                             padding_mode="border", align_corners=False)[:, :, 0]
        for eye in range(2):  # one after the other: the two work areas may overlap
            frame = composite_in_crop(frame, group_crop(crop, eye, 2), [group_layer(skin, alpha, eye, 2)])
        return frame


def _eye_contours(u: torch.Tensor, v: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The four contours' knots of each eye (top of the band, upper margin, lower margin,
    bottom of the band) from its points in its own frame (E, POINTS_PER_EYE)."""
    return [(u[:, TOP], v[:, TOP]), _lid_knots(u, v, UPPER), _lid_knots(u, v, LOWER),
            (u[:, BOTTOM], v[:, BOTTOM])]
