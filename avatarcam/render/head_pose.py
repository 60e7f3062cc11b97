"""Head pose of a detected face: rotation, scale and position against the canonical face.

Sign conventions (all angles in degrees, the person seen facing the camera):

- yaw > 0: the person turns to their own left, so the nose moves towards image right.
- pitch > 0: the person looks up, so the nose moves towards the image top.
- roll > 0: the head tilts clockwise as the image is viewed (the top of the head moves
  towards image right, i.e. towards the person's left shoulder).

In image axes (x right, y down, z away from the camera, right-handed) the rotation is
R = Rz(roll) · Rx(-pitch) · Ry(-yaw), with Ra(θ) the right-handed rotation about axis a:
yaw, then pitch, then roll, each about the fixed image axes, so that turning the photo
in its plane changes roll alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avatarcam.render.canonical_face import canonical_face

# Landmarks that expressions barely move: forehead, nose bridge and tip, eye corners.
CORE_RIGID_LANDMARKS = (10, 151, 9, 108, 337, 109, 338, 67, 297, 168, 6, 197, 195, 5, 4, 1,
                        33, 133, 362, 263)
# Cheekbones, temples and face sides: they steady yaw, but smiles lift the cheeks a little
# and the depth of the face outline is the least certain, so they count for less.
OUTER_RIGID_LANDMARKS = (116, 345, 123, 352, 127, 356, 234, 454)
OUTER_WEIGHT = 0.5

RIGID_LANDMARKS = np.array(CORE_RIGID_LANDMARKS + OUTER_RIGID_LANDMARKS)
RIGID_WEIGHTS = np.array(
    [1.0] * len(CORE_RIGID_LANDMARKS) + [OUTER_WEIGHT] * len(OUTER_RIGID_LANDMARKS)
)

X_AXIS, Y_AXIS, Z_AXIS = 0, 1, 2


@dataclass(frozen=True)
class HeadPose:
    """Where the canonical face must be put to match a detected face:
    `landmarks ≈ scale · canonical @ rotation.T + translation` on the rigid landmarks."""

    yaw: float  # degrees, > 0 when the person turns to their left (see module docstring)
    pitch: float  # degrees, > 0 when the person looks up
    roll: float  # degrees, > 0 when the head tilts clockwise in the image
    scale: float  # face height (forehead top to chin) in pixels
    translation: np.ndarray  # (3,) pixels: where the canonical face's centre lands
    rotation: np.ndarray  # (3, 3) canonical axes to image axes

    def largest_turn(self) -> tuple[str, float]:
        """Which of yaw and pitch is larger in magnitude, and its value in degrees."""
        return ("yaw", self.yaw) if abs(self.yaw) >= abs(self.pitch) else ("pitch", self.pitch)


def estimate_head_pose(landmarks: np.ndarray) -> HeadPose:
    """The pose of a face from its Face Mesh landmarks (pixels, z on the x scale)."""
    scale, rotation, translation = fit_similarity(
        canonical_face()[RIGID_LANDMARKS], landmarks[RIGID_LANDMARKS], RIGID_WEIGHTS
    )
    yaw, pitch, roll = euler_angles(rotation)
    return HeadPose(yaw, pitch, roll, scale, translation, rotation)


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The rotation (3, 3) from canonical to image axes for angles in degrees."""
    return (
        _axis_rotation(Z_AXIS, math.radians(roll))
        @ _axis_rotation(X_AXIS, -math.radians(pitch))
        @ _axis_rotation(Y_AXIS, -math.radians(yaw))
    )


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a rotation; the inverse of `rotation_matrix`."""
    pitch = -math.asin(float(np.clip(rotation[2, 1], -1.0, 1.0)))
    yaw = math.atan2(rotation[2, 0], rotation[2, 2])
    roll = math.atan2(-rotation[0, 1], rotation[1, 1])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def fit_similarity(
    source: np.ndarray, target: np.ndarray, weights: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation and translation minimising the weighted squared distance between
    `scale · source @ rotation.T + translation` and `target` (both (N, 3)).

    A proper rotation is always returned, never a reflection, even for noisy or
    degenerate points.
    """
    w = weights / weights.sum()
    source_mean = w @ source
    target_mean = w @ target
    src = source - source_mean
    tgt = target - target_mean
    covariance = (tgt * w[:, None]).T @ src
    u, singular, vt = np.linalg.svd(covariance)
    signs = np.array([1.0, 1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = (u * signs) @ vt
    scale = float((singular * signs).sum() / (w @ (src**2).sum(axis=1)))
    translation = target_mean - scale * rotation @ source_mean
    return scale, rotation, translation


def _axis_rotation(axis: int, angle: float) -> np.ndarray:
    """The right-handed rotation by `angle` radians about image axis `axis`."""
    first, second = ((Y_AXIS, Z_AXIS), (Z_AXIS, X_AXIS), (X_AXIS, Y_AXIS))[axis]
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = np.eye(3)
    matrix[first, first] = matrix[second, second] = cos
    matrix[first, second] = -sin
    matrix[second, first] = sin
    return matrix
