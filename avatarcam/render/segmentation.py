"""Separating the person from the background, and a background plate without the person.

When the renderer turns or moves the head it uncovers what was behind it; that area must
show background, not a stretched copy of the person.
"""

from __future__ import annotations

import atexit
import functools
import threading
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import mediapipe as mp

# The general model (256×256 input) rather than the landscape one (144×256, tuned for video
# calls): portraits are near-square and analysed once, so the sharper mask is worth ~5 ms.
MODEL_SELECTION = 0
FEATHER_SIGMA_FRACTION = 0.003  # mask edge blur, as a fraction of the image's short side

PERSON_THRESHOLD = 0.1  # mask values above this count as person when filling
HOLE_GROWTH_FRACTION = 0.02  # of the short side: swallows stray hair and the mask's halo
HOLE_EDGE = 0.5  # the soft hole's value at the grown border: below it, pixels are background
FILL_LONG_SIDE_PX = 256  # the fill and its edge are smooth: computed at this size, then upscaled
FULL_COVERAGE = 0.25  # a coarse pixel counts as fully known once this much of it is background
EMPTY_BACKGROUND_RGB = (128, 128, 128)  # used only when the person covers the whole photo

_segmenter_lock = threading.Lock()  # one MediaPipe graph must not run two images at once


def person_mask(image: np.ndarray) -> np.ndarray:
    """How much each pixel of an RGB uint8 image belongs to the person: float32 (H, W) in
    0..1, with slightly feathered edges so that composites show no seam."""
    with _segmenter_lock:
        mask = _segmenter().process(np.ascontiguousarray(image)).segmentation_mask
    sigma = FEATHER_SIGMA_FRACTION * min(image.shape[:2])
    return np.clip(cv2.GaussianBlur(mask, (0, 0), sigma), 0.0, 1.0).astype(np.float32)


def fill_background(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo (RGB uint8) with the person, as `person_mask` marks them, replaced by a
    smooth continuation of the background around them, blended in along a soft edge."""
    height, width = image.shape[:2]
    small_hole = _grown_hole(cv2.resize(mask, _fill_size(height, width), interpolation=cv2.INTER_AREA))
    return smooth_fill(image, cv2.resize(small_hole, (width, height), interpolation=cv2.INTER_LINEAR))


def smooth_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`image` (RGB uint8) where `hole` (float32 0..1, same size) is 1 replaced by a smooth
    continuation of the pixels around it, blended in where `hole` is between 0 and 1;
    pixels where it is below HOLE_EDGE are the ones continued."""
    height, width = image.shape[:2]
    small_size = _fill_size(height, width)
    small_hole = cv2.resize(hole, small_size, interpolation=cv2.INTER_AREA)
    known = (small_hole < HOLE_EDGE).astype(np.float32)
    if not known.any():
        return np.full_like(image, EMPTY_BACKGROUND_RGB)
    small_image = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_fill = np.clip(np.round(_push_pull(small_image, known)), 0, 255).astype(np.uint8)
    fill = cv2.resize(small_fill, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.blendLinear(image, fill, 1.0 - hole, hole)


def _fill_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) at which fills are computed: they are smooth, so small is enough."""
    factor = min(1.0, FILL_LONG_SIDE_PX / max(height, width))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _grown_hole(mask: np.ndarray) -> np.ndarray:
    """float32 0..1: 1 where the person is, grown by a safety margin, soft at the edge."""
    radius = max(1, round(HOLE_GROWTH_FRACTION * min(mask.shape)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grown = cv2.dilate((mask > PERSON_THRESHOLD).astype(np.float32), disc)
    return np.clip(cv2.GaussianBlur(grown, (0, 0), radius / 2), 0.0, 1.0)


def _push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """`image` (float32 H×W×3) with pixels where `known` (0..1) is below 1 filled from
    coarser averages of the known ones, so that the fill varies smoothly, without streaks."""
    if known.min() >= 1.0:
        return image
    weights = known[..., None]
    if min(known.shape) <= 1:
        fill = (image * weights).sum(axis=(0, 1)) / max(float(known.sum()), 1e-6)
    else:
        coverage = cv2.pyrDown(known)
        coarse = cv2.pyrDown(image * weights) / np.maximum(coverage, 1e-6)[..., None]
        coarse_fill = _push_pull(coarse, np.clip(coverage / FULL_COVERAGE, 0.0, 1.0))
        fill = cv2.pyrUp(coarse_fill, dstsize=known.shape[::-1])
    return image * weights + fill * (1.0 - weights)


@functools.cache
def _segmenter() -> mp.solutions.selfie_segmentation.SelfieSegmentation:
    """The one segmentation graph of this process, built on first use and closed at exit."""
    import mediapipe as mp  # here, not above: see face_landmarks._face_mesh

    segmenter = mp.solutions.selfie_segmentation.SelfieSegmentation(
        model_selection=MODEL_SELECTION
    )
    atexit.register(segmenter.close)
    return segmenter
