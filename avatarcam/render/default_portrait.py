"""The embedded default portrait: scikit-image's astronaut, a real photo that ships inside a
dependency, so benchmarks, the frame strip and the demo need no download."""

from __future__ import annotations

from pathlib import Path

import cv2
import skimage.data


def write_default_portrait(path: Path) -> Path:
    """Write the astronaut photo to `path` as an image file and return the path."""
    cv2.imwrite(str(path), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return path
