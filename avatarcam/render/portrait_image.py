"""Reading a portrait photo from disk into the RGB array every later step expects."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from avatarcam.render.errors import PortraitError

MIN_SHORT_SIDE_PX = 128  # smaller photos cannot hold a face big enough to animate
MAX_LONG_SIDE_PX = 2048  # detail beyond this is never rendered; larger photos only cost time

log = logging.getLogger(__name__)


def load_portrait(path: str | Path) -> np.ndarray:
    """The photo at `path` as upright RGB uint8 (H, W, 3), at most MAX_LONG_SIDE_PX long.

    Any format OpenCV decodes is accepted; transparency is flattened onto white, as image
    viewers show it. Raises PortraitError when the file is missing, unreadable, not an
    image or too small.
    """
    path = Path(path)
    return conform_portrait(_decode_rgb(_read_bytes(path), path), source=str(path))


def conform_portrait(image: np.ndarray, source: str) -> np.ndarray:
    """`image` checked to be large enough and downscaled (with a warning) when huge.

    `source` names the photo in messages.
    """
    height, width = image.shape[:2]
    if min(height, width) < MIN_SHORT_SIDE_PX:
        raise PortraitError(
            f"The portrait {source} is only {width}×{height} px; use a photo at least "
            f"{MIN_SHORT_SIDE_PX} px on its short side."
        )
    long_side = max(height, width)
    if long_side <= MAX_LONG_SIDE_PX:
        return image
    factor = MAX_LONG_SIDE_PX / long_side
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    log.warning(
        "The portrait %s is %d×%d px; downscaling it to %d×%d px.", source, width, height, *size
    )
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _read_bytes(path: Path) -> bytes:
    """The file's content (read as bytes so that non-ASCII paths work on every OS)."""
    if not path.exists():
        raise PortraitError(f"The portrait {path} does not exist; check the path.")
    if not path.is_file():
        raise PortraitError(f"The portrait {path} is not a file; pass the path of a photo.")
    try:
        return path.read_bytes()
    except OSError as err:
        raise PortraitError(
            f"The portrait {path} cannot be read ({err.strerror}); check its permissions."
        ) from err


def _decode_rgb(data: bytes, path: Path) -> np.ndarray:
    """Decoded RGB uint8 pixels of an encoded image."""
    buffer = np.frombuffer(data, np.uint8)
    try:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    except cv2.error:
        decoded = None
    if decoded is None:
        raise PortraitError(
            f"The portrait {path} is not an image OpenCV can read; save it as JPEG or PNG."
        )
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        return _flatten_on_white(decoded)
    # Decoding again as colour applies the EXIF orientation that IMREAD_UNCHANGED ignores,
    # and turns grey or 16-bit images into 8-bit colour.
    return cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _flatten_on_white(bgra: np.ndarray) -> np.ndarray:
    """RGB uint8 of a BGRA image of any depth composited onto a white background."""
    full_scale = np.iinfo(bgra.dtype).max if np.issubdtype(bgra.dtype, np.integer) else 1.0
    pixels = np.clip(bgra.astype(np.float32) / full_scale, 0.0, 1.0)
    alpha = pixels[..., 3:]
    bgr = pixels[..., :3] * alpha + (1.0 - alpha)
    return cv2.cvtColor(np.round(bgr * 255.0).astype(np.uint8), cv2.COLOR_BGR2RGB)
