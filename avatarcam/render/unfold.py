"""Keep a head turn's warp one-to-one.

Turning a face in 3D hides the far cheek behind itself: projected, the cheek's points run
over one another and the warp folds. A folded warp has two sources for some output pixels,
and which one the renderer's inversion finds can switch between neighbouring angles, so the
cheek's edge jumps by several pixels from one frame to the next. A portrait shows no hidden
side to switch to, so the fold is smoothed away where it forms, once, when the rig is built.
A turn is relaxed as it shows on the neutral face (the photo's own expression taken off),
the state a talking avatar is nearest to most of the time.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_DETERMINANT = 0.2  # area kept by every cell of the warp (1 = unchanged, 0 = folded flat)
SMOOTHING_SIGMA = 1.0  # grid cells, per relaxation step
NEAR_FOLD = 2  # cells around a fold that are relaxed with it
MAX_STEPS = 200


def warp_determinant(displacement: np.ndarray, cell: tuple[float, float]) -> np.ndarray:
    """Area ratio (h, w) of the map x → x + displacement(x), from a displacement (2, h, w)
    in pixels sampled every `cell` = (dx, dy) pixels; below 0 where the map folds."""
    dxdy, dxdx = np.gradient(displacement[0], cell[1], cell[0])  # np.gradient: rows (y) first
    dydy, dydx = np.gradient(displacement[1], cell[1], cell[0])
    return (1.0 + dxdx) * (1.0 + dydy) - dxdy * dydx


def unfold(displacement: np.ndarray, cell: tuple[float, float], offset: np.ndarray) -> np.ndarray:
    """`displacement` (2, h, w, pixels, sampled every `cell` pixels) changed so that its
    sum with `offset` (same shape) is relaxed where that sum's warp shrinks an area below
    MIN_DETERMINANT; left as it is elsewhere, and where `offset` alone already does."""
    out = (displacement + offset).astype(np.float32)
    kernel = np.ones((2 * NEAR_FOLD + 1, 2 * NEAR_FOLD + 1), np.uint8)
    free = warp_determinant(offset, cell) >= MIN_DETERMINANT
    for _ in range(MAX_STEPS):
        folded = ((warp_determinant(out, cell) < MIN_DETERMINANT) & free).astype(np.uint8)
        if not folded.any():
            break
        near = cv2.dilate(folded, kernel) > 0
        for channel in out:
            smooth = cv2.GaussianBlur(channel, (0, 0), SMOOTHING_SIGMA, borderType=cv2.BORDER_REPLICATE)
            channel[near] = smooth[near]
    return out - offset
