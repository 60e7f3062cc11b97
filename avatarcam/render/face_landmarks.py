"""Finding the portrait's face with MediaPipe Face Mesh and checking it can be animated."""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from avatarcam.render.canonical_face import NUM_LANDMARKS
from avatarcam.render.errors import PortraitError
from avatarcam.render.head_pose import HeadPose, estimate_head_pose

if TYPE_CHECKING:
    import mediapipe as mp

MAX_FACES = 4  # enough to notice a crowded photo and still pick its main face
MIN_DETECTION_CONFIDENCE = 0.5
MIN_FACE_HEIGHT_PX = 80  # forehead top to chin; below this the mouth is too few pixels to animate
MAX_HEAD_TURN_DEG = 35.0  # |yaw| or |pitch| beyond which the hidden side would have to be invented

log = logging.getLogger(__name__)

_face_mesh_lock = threading.Lock()  # one MediaPipe graph must not run two images at once


@dataclass(frozen=True)
class PortraitFace:
    """The face an avatar is built from."""

    landmarks: np.ndarray  # float32 (478, 3) px: x right, y down, z away from camera (x's scale)
    pose: HeadPose
    faces_found: int  # faces in the photo; only the largest is used


def find_portrait_face(image: np.ndarray) -> PortraitFace:
    """The largest face of an RGB uint8 portrait, checked to be large and frontal enough.

    Raises PortraitError, with what to do, when there is no face, it is too small or the
    head is turned too far.
    """
    faces = detect_faces(image)
    if not faces:
        # The short-range face detector misses faces under about 15 % of the image's long
        # side however many pixels they have, hence the advice to crop.
        raise PortraitError(
            "No face was found in the portrait; use a frontal, well-lit photo, cropped so "
            f"that the face fills at least a fifth of it and is at least {MIN_FACE_HEIGHT_PX} "
            "px tall."
        )
    if len(faces) > 1:
        log.warning("The portrait shows %d faces; using the largest one.", len(faces))
    landmarks = faces[0]
    height = float(np.ptp(landmarks[:, 1]))
    if height < MIN_FACE_HEIGHT_PX:
        raise PortraitError(
            f"The face in the portrait is only {height:.0f} px tall; use a closer or larger "
            f"photo with the face at least {MIN_FACE_HEIGHT_PX} px tall."
        )
    pose = estimate_head_pose(landmarks)
    axis, angle = pose.largest_turn()
    if abs(angle) > MAX_HEAD_TURN_DEG:
        direction = "sideways" if axis == "yaw" else "up or down"
        raise PortraitError(
            f"The head is turned {direction} by {abs(angle):.0f}° (at most "
            f"{MAX_HEAD_TURN_DEG:.0f}° works); use a more frontal photo."
        )
    return PortraitFace(landmarks, pose, len(faces))


def detect_faces(image: np.ndarray) -> list[np.ndarray]:
    """Landmarks of every face found in an RGB uint8 image, largest first.

    Each is float32 (478, 3) in pixels: x right, y down, and z away from the camera on
    the same scale as x (relative to the head centre).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got {image.dtype} {image.shape}")
    with _face_mesh_lock:
        result = _face_mesh().process(np.ascontiguousarray(image))
    height, width = image.shape[:2]
    to_pixels = np.array([width, height, width], np.float32)  # MediaPipe scales z like x
    faces = [
        np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32) * to_pixels
        for face in result.multi_face_landmarks or []
    ]
    return sorted(faces, key=_bounding_box_area, reverse=True)


@functools.cache
def _face_mesh() -> mp.solutions.face_mesh.FaceMesh:
    """The one Face Mesh graph of this process, built on first use and closed at exit."""
    # Imported here: MediaPipe (and the matplotlib it loads) takes about a second to import,
    # and only preparing a new avatar needs it, not every run of a prepared one.
    import mediapipe as mp

    if mp.solutions.face_mesh.FACEMESH_NUM_LANDMARKS_WITH_IRISES != NUM_LANDMARKS:
        raise RuntimeError(f"this MediaPipe's Face Mesh does not have the {NUM_LANDMARKS} landmarks "
                           "avatarcam was built for; install the version pyproject.toml names.")
    face_mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True,
        max_num_faces=MAX_FACES,
        refine_landmarks=True,  # adds the 10 iris landmarks: 478 in all
        min_detection_confidence=MIN_DETECTION_CONFIDENCE,
    )
    atexit.register(face_mesh.close)
    return face_mesh


def _bounding_box_area(landmarks: np.ndarray) -> float:
    """Area in square pixels of the image rectangle around a face's landmarks."""
    return float(np.ptp(landmarks[:, 0]) * np.ptp(landmarks[:, 1]))

