"""The project's canonical 3D face: a symmetric, frontal, unit-height Face Mesh shape.

Head pose is measured against it, and the renderer defines expression offsets on it. It is
derived from a real photo by `python -m avatarcam.render.derive_canonical_face` and stored
in assets/, because the mediapipe wheel ships no canonical face model of its own.

Axes follow the image: x to image right (the person's left), y down, z away from the
camera. The shape is centred on its mean landmark, symmetric about x = 0, scaled so that
forehead top to chin is 1, and frontal: forehead top and chin lie at the same depth (the
upright-head convention of common face models). Its mouth keeps the source photo's smile,
so only the rigid landmarks (see head_pose) describe a neutral face.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

CANONICAL_FACE_PATH = Path(__file__).resolve().parent / "assets" / "canonical_face.npy"

NUM_LANDMARKS = 478  # Face Mesh with refined iris landmarks
FOREHEAD_TOP = 10  # landmark at the top centre of the forehead
CHIN = 152  # landmark at the bottom of the chin
# Landmarks on the face's vertical centre line, forehead top to chin: their own mirror image.
MIDLINE_LANDMARKS = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 164, 0, 11, 12, 13,
                     14, 15, 16, 17, 18, 200, 199, 175, 152)

MIRROR_X = np.array([-1.0, 1.0, 1.0])  # reflection through the face's symmetry plane x = 0


@functools.cache
def canonical_face() -> np.ndarray:
    """The canonical shape, float32 (NUM_LANDMARKS, 3), read-only."""
    shape = np.load(CANONICAL_FACE_PATH)
    if shape.shape != (NUM_LANDMARKS, 3):
        raise RuntimeError(
            f"{CANONICAL_FACE_PATH} holds a {shape.shape} array, not ({NUM_LANDMARKS}, 3); "
            "regenerate it with `python -m avatarcam.render.derive_canonical_face`."
        )
    shape = shape.astype(np.float32)
    shape.setflags(write=False)
    return shape


def mirror_pairs(shape: np.ndarray) -> np.ndarray:
    """For each landmark of `shape`, the index of its mirror partner (itself on the midline).

    Lets callers symmetrise a shape or tell left from right features. `shape` must be
    near-frontal with its symmetry plane at x = 0; partners are the nearest mirrored
    landmarks, and a ValueError says when they do not pair up one-to-one.
    """
    mirrored = shape * MIRROR_X
    distances = np.linalg.norm(shape[:, None, :] - mirrored[None, :, :], axis=-1)
    pairs = distances.argmin(axis=1)
    unpaired = np.flatnonzero(pairs[pairs] != np.arange(len(shape)))
    if unpaired.size:
        raise ValueError(
            f"{unpaired.size} landmarks have no one-to-one mirror partner (first: "
            f"{unpaired[:5].tolist()}); the shape is not frontal or not centred."
        )
    return pairs
