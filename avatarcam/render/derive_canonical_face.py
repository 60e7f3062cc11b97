"""Derive assets/canonical_face.npy from a real frontal photo.

Run `python -m avatarcam.render.derive_canonical_face [--photo PATH]`; by default the
photo is scikit-image's astronaut, a frontal studio portrait that every install has.
Kept beside the asset so that it is reproduced, not trusted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import skimage.data

from avatarcam.render.canonical_face import (
    CANONICAL_FACE_PATH,
    CHIN,
    FOREHEAD_TOP,
    MIDLINE_LANDMARKS,
    MIRROR_X,
    mirror_pairs,
)
from avatarcam.render.face_landmarks import detect_faces
from avatarcam.render.portrait_image import load_portrait


def derive_canonical_face(landmarks: np.ndarray) -> np.ndarray:
    """A symmetric, frontal, unit-height version of one face's landmarks, float32 (478, 3).

    The face is turned so that the plane through its midline landmarks is x = 0 and
    forehead top and chin lie straight below each other at equal depth, then averaged with
    its mirror image, centred and scaled to unit face height.
    """
    shape = _frontalise(landmarks.astype(np.float64))
    symmetric = (shape + shape[mirror_pairs(shape)] * MIRROR_X) / 2.0
    symmetric -= symmetric.mean(axis=0)
    return (symmetric / (symmetric[CHIN, 1] - symmetric[FOREHEAD_TOP, 1])).astype(np.float32)


def _frontalise(shape: np.ndarray) -> np.ndarray:
    """`shape` moved and turned so that its midline plane is x = 0 and the line from
    forehead top to chin points straight down the image (+y)."""
    midline = shape[list(MIDLINE_LANDMARKS)]
    centre = midline.mean(axis=0)
    _, _, vt = np.linalg.svd(midline - centre)
    normal = vt[2] * np.sign(vt[2][0])  # the plane's normal, towards image right
    down = shape[CHIN] - shape[FOREHEAD_TOP]
    down -= normal * (down @ normal)
    down /= np.linalg.norm(down)
    frame = np.stack([normal, down, np.cross(normal, down)])
    return (shape - centre) @ frame.T


def main(argv: list[str] | None = None) -> None:
    """Write the canonical face derived from `--photo` (default: the astronaut) to `--out`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, help="a frontal portrait with one face")
    parser.add_argument("--out", type=Path, default=CANONICAL_FACE_PATH)
    args = parser.parse_args(argv)
    image = load_portrait(args.photo) if args.photo else skimage.data.astronaut()
    faces = detect_faces(image)
    if len(faces) != 1:
        raise SystemExit(f"expected exactly one face in the photo, found {len(faces)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, derive_canonical_face(faces[0]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
