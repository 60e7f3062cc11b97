"""What a canvas shows beyond the edges of the photo.

A head-and-shoulders photo framed into a 16:9 canvas rarely fills it: the canvas reaches
past the photo's sides (and sometimes its top or bottom). Copying the photo's edge pixels
outward smears the shoulders into horizontal bands, and mirroring it doubles flags and
furniture. Instead the background plate is continued smoothly past the photo, like an
out-of-focus backdrop, and the person fades out towards the photo's sides and top (where
a body cut by the photo would end abruptly); below the photo the body carries on, as it
would below a webcam's frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from avatarcam.render.framing import Framing, OutputSize
from avatarcam.render.segmentation import smooth_fill

FADE_FRACTION = 0.03  # of the canvas height: how far inside the photo's edge the fade begins


def photo_ramp(framing: Framing, photo_shape: tuple[int, int], size: OutputSize,
               bottom: bool) -> np.ndarray:
    """float32 (H, W) canvas weights: 1 deeper than the fade inside the photo, falling to 0
    at those of its left, right and top edges (and bottom edge, when `bottom`) that lie
    inside the canvas, and 0 beyond them."""
    photo_h, photo_w = photo_shape
    fade = FADE_FRACTION * size.height
    left, top = framing.shift
    right, lower = left + framing.zoom * photo_w, top + framing.zoom * photo_h
    xs = np.arange(size.width, dtype=np.float64) + 0.5
    ys = np.arange(size.height, dtype=np.float64) + 0.5
    across, down = np.ones_like(xs), np.ones_like(ys)
    # An edge beyond the canvas cuts nothing that shows, so it fades nothing.
    if left > 0:
        across *= np.clip((xs - left) / fade, 0.0, 1.0)
    if right < size.width:
        across *= np.clip((right - xs) / fade, 0.0, 1.0)
    if top > 0:
        down *= np.clip((ys - top) / fade, 0.0, 1.0)
    if bottom and lower < size.height:
        down *= np.clip((lower - ys) / fade, 0.0, 1.0)
    return np.outer(down, across).astype(np.float32)


def canvas_plate(background: np.ndarray, framing: Framing, size: OutputSize) -> np.ndarray:
    """The background plate (RGB uint8, photo pixels) on the canvas, continued smoothly
    wherever the canvas reaches past the photo."""
    plate = framing.image(background, size, cv2.BORDER_REPLICATE)
    return smooth_fill(plate, 1.0 - photo_ramp(framing, background.shape[:2], size, bottom=True))


def person_alpha(mask: np.ndarray, framing: Framing, size: OutputSize) -> np.ndarray:
    """The person mask (float 0..1, photo pixels) as canvas alpha (uint8), faded out towards
    the photo's sides and top and carried on below its bottom edge."""
    alpha = framing.image(np.round(mask * 255).astype(np.uint8), size, cv2.BORDER_REPLICATE)
    ramp = photo_ramp(framing, mask.shape[:2], size, bottom=False)
    return np.round(alpha * ramp).astype(np.uint8)
