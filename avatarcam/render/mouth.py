"""Mouth assets made once per portrait: a lip-filled source and the mouth interior.

The warp moves the lips; what shows between them is drawn separately, so that a photo
taken smiling with teeth showing can still close its lips (the warp then only ever samples
lip texture there) and open wide (revealing a cavity, teeth and tongue that match the
photo's colours). Positions around the mouth are given in a "mouth frame": u runs from the
inner-lip corner on the image's left (-1) to the one on its right (+1), v runs down from
the line between the corners, both in units of half the mouth width. The interior texture
hangs from the middle of the upper lip (the upper teeth move with it): its rows are v
minus the upper lip's v there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from avatarcam.render import landmark_sets as ls

TEXTURE_U = (-1.25, 1.25)  # the interior texture's extent in the mouth frame
TEXTURE_V = (-0.6, 1.8)
TEXTURE_SIZE = (120, 120)  # (width, height) texels

DEFAULT_TEETH_RGB = (226, 219, 204)
DEFAULT_LIP_RGB = (168, 92, 92)
TEETH_MIN_LUMA = 120.0  # bright, unsaturated pixels between the lips are taken as teeth
TEETH_MAX_SATURATION = 90.0
MIN_GAP_PIXELS = 20  # fewer visible interior pixels than this: nothing to sample
TEETH_HEIGHT = 0.3  # of the upper teeth band below the upper lip, in half mouth widths
TEETH_GAP_SPACING = 0.21  # between tooth edges along u
CAVITY_SHADE = 0.22  # cavity colour as a fraction of the lip colour
TONGUE_SHADE = (0.85, 0.6, 0.62)  # tongue colour as a fraction of the lip colour, per channel
PASTE_EDGE_PX = 1.5  # feather of the photo's own interior pasted into the texture

MOUTH_CORNER_LEFT, MOUTH_CORNER_RIGHT = 0, len(ls.INNER_UPPER_LIP) - 1  # in INNER_LIP_POLYGON
UPPER_LIP_MID = ls.INNER_LIP_POLYGON.index(ls.INNER_UPPER_MID)
LOWER_LIP_MID = ls.INNER_LIP_POLYGON.index(ls.INNER_LOWER_MID)


@dataclass(frozen=True)
class MouthFrame:
    """The mouth frame of one set of inner-lip points."""

    origin: np.ndarray  # (2,) pixels: midway between the corners
    axis_u: np.ndarray  # (2,) unit vector from the left corner to the right one
    axis_v: np.ndarray  # (2,) unit vector perpendicular to it, pointing down the face
    half_width: float  # pixels

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Pixel points (..., 2) as mouth-frame (u, v)."""
        rel = points - self.origin
        return np.stack([rel @ self.axis_u, rel @ self.axis_v], -1) / self.half_width

    def to_pixels(self, uv: np.ndarray) -> np.ndarray:
        """Mouth-frame points (..., 2) as pixels."""
        return self.origin + self.half_width * (uv[..., :1] * self.axis_u + uv[..., 1:] * self.axis_v)


@dataclass(frozen=True)
class MouthAssets:
    """What the renderer draws between the lips, matched to one portrait."""

    texture: np.ndarray  # uint8 (h, w, 3) RGB over TEXTURE_U × TEXTURE_V (v from the upper lip)
    tongue_rgb: np.ndarray  # float32 (3,) 0..1
    teeth_rgb: np.ndarray  # float32 (3,) 0..1, for the lower teeth (the upper are in `texture`)
    teeth_seen: bool  # whether the teeth colour came from the photo


def mouth_frame(polygon: np.ndarray) -> MouthFrame:
    """The mouth frame of INNER_LIP_POLYGON points (P, 2) in pixels."""
    left, right = polygon[MOUTH_CORNER_LEFT], polygon[MOUTH_CORNER_RIGHT]
    span = right - left
    half_width = float(np.linalg.norm(span)) / 2.0
    axis_u = span / (2.0 * half_width)
    return MouthFrame((left + right) / 2.0, axis_u, np.array([-axis_u[1], axis_u[0]]), half_width)


def _lip_curves(polygon: np.ndarray, frame: MouthFrame) -> tuple[np.ndarray, np.ndarray]:
    """The upper and lower inner-lip contours as (u, v) arrays sorted by u."""
    uv = frame.to_frame(polygon)
    upper = uv[: MOUTH_CORNER_RIGHT + 1]
    lower = np.vstack([uv[:1], uv[MOUTH_CORNER_RIGHT + 1:][::-1], uv[MOUTH_CORNER_RIGHT:MOUTH_CORNER_RIGHT + 1]])
    return upper[np.argsort(upper[:, 0])], lower[np.argsort(lower[:, 0])]


def _gap_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """uint8 mask (255 inside) of the mouth opening, at the pixel resolution of `shape`."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask


def fill_mouth_gap(image: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """`image` with the mouth opening covered by the lips mirrored into it, each lip
    filling the half nearest to it, so that a warp closing the mouth finds lips there."""
    frame = mouth_frame(polygon)
    upper, lower = _lip_curves(polygon, frame)
    margin = 1.0 / frame.half_width  # one pixel, in frame units
    x0, y0 = np.floor(polygon.min(axis=0) - 3).astype(int)
    x1, y1 = np.ceil(polygon.max(axis=0) + 3).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, image.shape[1] - 1), min(y1, image.shape[0] - 1)
    gx, gy = np.meshgrid(np.arange(x0, x1 + 1, dtype=np.float64), np.arange(y0, y1 + 1, dtype=np.float64))
    uv = frame.to_frame(np.stack([gx, gy], -1))
    top = np.interp(uv[..., 0], upper[:, 0], upper[:, 1]) - margin
    bottom = np.interp(uv[..., 0], lower[:, 0], lower[:, 1]) + margin
    inside = (uv[..., 1] > top) & (uv[..., 1] < bottom) & (np.abs(uv[..., 0]) < 1.0)
    mirrored_v = np.where(uv[..., 1] < (top + bottom) / 2.0, 2.0 * top - uv[..., 1], 2.0 * bottom - uv[..., 1])
    source = frame.to_pixels(np.stack([uv[..., 0], np.where(inside, mirrored_v, uv[..., 1])], -1))
    patch = cv2.remap(image, source[..., 0].astype(np.float32), source[..., 1].astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = image.copy()
    out[y0:y1 + 1, x0:x1 + 1] = patch
    return out


def _region_colour(image: np.ndarray, mask: np.ndarray, default: tuple[int, int, int]) -> np.ndarray:
    """Median RGB (3,) float of the pixels where `mask` is set, or `default` if too few."""
    pixels = image[mask > 127]
    return np.median(pixels, axis=0) if len(pixels) >= MIN_GAP_PIXELS else np.array(default, float)


def _teeth_colour(image: np.ndarray, gap: np.ndarray) -> tuple[np.ndarray, bool]:
    """The colour of the teeth visible in the mouth opening, and whether any are."""
    pixels = image[cv2.erode(gap, np.ones((3, 3), np.uint8)) > 127].astype(np.float32)
    if len(pixels) >= MIN_GAP_PIXELS:
        hsv = cv2.cvtColor(pixels[None].astype(np.uint8), cv2.COLOR_RGB2HSV)[0].astype(np.float32)
        teeth = pixels[(hsv[:, 2] > TEETH_MIN_LUMA) & (hsv[:, 1] < TEETH_MAX_SATURATION)]
        if len(teeth) >= MIN_GAP_PIXELS:
            return np.median(teeth, axis=0), True
    return np.array(DEFAULT_TEETH_RGB, np.float32), False


def _synthetic_interior(polygon: np.ndarray, frame: MouthFrame, lip: np.ndarray,
                        teeth: np.ndarray) -> np.ndarray:
    """float RGB texture: a dark cavity with an upper-teeth band under the upper lip."""
    width, height = TEXTURE_SIZE
    u = np.linspace(*TEXTURE_U, width)[None, :].repeat(height, 0)
    v = np.linspace(*TEXTURE_V, height)[:, None].repeat(width, 1)
    upper, _ = _lip_curves(polygon, frame)
    upper_mid_v = frame.to_frame(polygon[UPPER_LIP_MID])[1]
    teeth_top = np.interp(u, upper[:, 0], upper[:, 1]) - upper_mid_v - 0.05
    depth = np.clip(v / TEXTURE_V[1], 0.0, 1.0)  # the cavity darkens toward the throat
    cavity = lip[None, None] * CAVITY_SHADE * (1.0 - 0.6 * depth)[..., None]
    band = np.clip((v - teeth_top) / 0.04, 0, 1) * np.clip((teeth_top + TEETH_HEIGHT - v) / 0.06, 0, 1)
    tooth_edges = 1.0 - 0.18 * np.exp(-(((u / TEETH_GAP_SPACING) - np.round(u / TEETH_GAP_SPACING)) / 0.12) ** 2)
    side_shade = np.clip(1.0 - 0.55 * np.abs(u) ** 2, 0.3, 1.0)
    teeth_rgb = teeth[None, None] * (tooth_edges * side_shade)[..., None]
    return cavity + band[..., None] * (teeth_rgb - cavity)


def mouth_assets(image: np.ndarray, landmarks: np.ndarray) -> MouthAssets:
    """The mouth interior of a portrait (RGB uint8 canvas, landmarks in its pixels): its own
    visible interior where the photo shows one, a matched synthetic cavity and teeth
    elsewhere, and a tongue colour."""
    polygon = landmarks[list(ls.INNER_LIP_POLYGON), :2].astype(np.float64)
    frame = mouth_frame(polygon)
    gap = _gap_mask(image.shape[:2], polygon)
    outer = _gap_mask(image.shape[:2], landmarks[list(ls.OUTER_UPPER_LIP + ls.OUTER_LOWER_LIP[::-1]), :2])
    lip = _region_colour(image, cv2.subtract(outer, gap), DEFAULT_LIP_RGB)
    teeth, teeth_seen = _teeth_colour(image, gap)
    synthetic = _synthetic_interior(polygon, frame, lip, teeth)

    width, height = TEXTURE_SIZE
    uv = np.stack(np.meshgrid(np.linspace(*TEXTURE_U, width), np.linspace(*TEXTURE_V, height)), -1)
    uv[..., 1] += frame.to_frame(polygon[UPPER_LIP_MID])[1]
    source = frame.to_pixels(uv).astype(np.float32)
    photo = cv2.remap(image, source[..., 0], source[..., 1], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REFLECT).astype(np.float64)
    inside = cv2.GaussianBlur(gap.astype(np.float32) / 255.0, (0, 0), PASTE_EDGE_PX / 2)
    inside = np.clip(cv2.dilate(inside, np.ones((3, 3), np.uint8)) * 1.5, 0.0, 1.0)
    alpha = cv2.remap(inside, source[..., 0], source[..., 1], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)[..., None]
    texture = synthetic + alpha * (photo - synthetic)
    tongue = np.clip(lip * np.array(TONGUE_SHADE) / 255.0, 0.0, 1.0)
    return MouthAssets(np.clip(np.round(texture), 0, 255).astype(np.uint8),
                       tongue.astype(np.float32), (teeth / 255.0).astype(np.float32), teeth_seen)
