"""Where the head sits in each output size: the crop of the portrait a frame shows.

A frame is a fixed canvas cut from the portrait around the head, so that every later step
(textures, warp rig, mouth) works in that canvas's pixels and the renderer never resizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from avatarcam.errors import AvatarcamError


@dataclass(frozen=True)
class OutputSize:
    """One output format: its pixels, how big the face is in it, and where it sits."""

    name: str  # as given to --size
    width: int
    height: int
    face_fraction: float  # face height (forehead top to chin) over frame height
    centre: tuple[float, float]  # face centre as fractions of width and height
    flow_grid: tuple[int, int]  # (width, height) of the low-resolution warp field


SIZES: dict[str, OutputSize] = {
    # A head-and-shoulders close-up, as video calls crop it.
    "512": OutputSize("512", 512, 512, 0.40, (0.5, 0.46), (128, 128)),
    # A webcam frame with room around the head.
    "720p": OutputSize("720p", 1280, 720, 0.30, (0.5, 0.44), (160, 90)),
}
DEFAULT_SIZE = "512"


class UnknownSizeError(AvatarcamError, ValueError):
    """An output size that is not one of SIZES."""


def output_size(name: str) -> OutputSize:
    """The output size called `name`, or one sentence listing the valid names."""
    try:
        return SIZES[name]
    except KeyError:
        raise UnknownSizeError(
            f"{name!r} is not an output size; use one of: {', '.join(SIZES)}."
        ) from None


@dataclass(frozen=True)
class Framing:
    """The similarity from portrait pixels to canvas pixels: canvas = zoom * portrait + shift."""

    zoom: float
    shift: np.ndarray  # (2,) canvas pixels

    @property
    def matrix(self) -> np.ndarray:
        """The 2×3 affine matrix of the map, as OpenCV takes it."""
        return np.array([[self.zoom, 0.0, self.shift[0]], [0.0, self.zoom, self.shift[1]]])

    def points(self, portrait_points: np.ndarray) -> np.ndarray:
        """Portrait-pixel points (N, 2 or 3) in canvas pixels; depth scales like x and y."""
        out = portrait_points * self.zoom
        out[:, :2] += self.shift
        return out

    def image(self, image: np.ndarray, size: OutputSize, border: int) -> np.ndarray:
        """`image` resampled onto the canvas; `border` is an OpenCV border mode."""
        return cv2.warpAffine(image, self.matrix, (size.width, size.height),
                              flags=cv2.INTER_CUBIC, borderMode=border)


def frame_head(face_centre: np.ndarray, face_height_px: float, size: OutputSize) -> Framing:
    """The framing that puts a face of `face_height_px` centred at `face_centre` (portrait
    pixels) where `size` wants it."""
    zoom = size.face_fraction * size.height / face_height_px
    target = np.array([size.centre[0] * size.width, size.centre[1] * size.height])
    return Framing(zoom, target - zoom * np.asarray(face_centre[:2], np.float64))
