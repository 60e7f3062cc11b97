"""Fidelity of rendered motion, judged by an independent measurement: MediaPipe Face Mesh
run again on the output frames. Portraits: scikit-image's astronaut (smiling, teeth
showing) and variations of the photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from scipy.stats import spearmanr

from avatarcam.motion.space import from_dict, neutral
from avatarcam.render import landmark_sets as ls
from avatarcam.render.avatar import Avatar, prepare_avatar
from avatarcam.render.face_landmarks import detect_faces
from avatarcam.render.graph import build_graph, render_frames
from avatarcam.render.head_pose import estimate_head_pose

JAW_STEPS = 6
CLOSED_GAP = 0.02  # face heights: inner lips this close count as closed
MIN_SPEARMAN = 0.9
SEEN_YAW_DEG = 3.0  # a commanded ±15° turn must be seen as at least this much
MAX_BLINK_RATIO = 0.3


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip opening at the middle of the mouth, in face heights."""
    opening = np.linalg.norm(landmarks[ls.INNER_LOWER_MID, :2] - landmarks[ls.INNER_UPPER_MID, :2])
    return float(opening / estimate_head_pose(landmarks).scale)


def eye_aspect_ratio(landmarks: np.ndarray) -> float:
    """Mean lid opening over eye width of both eyes."""
    ratios = []
    for upper, lower, (outer, inner) in ((ls.RIGHT_UPPER_LID, ls.RIGHT_LOWER_LID, ls.RIGHT_EYE_CORNERS),
                                         (ls.LEFT_UPPER_LID, ls.LEFT_LOWER_LID, ls.LEFT_EYE_CORNERS)):
        opening = np.linalg.norm(landmarks[list(upper[2:5]), :2] - landmarks[list(lower[2:5]), :2], axis=1)
        ratios.append(opening.mean() / np.linalg.norm(landmarks[outer, :2] - landmarks[inner, :2]))
    return float(np.mean(ratios))


def redetect(avatar: Avatar, motions: list[np.ndarray]) -> list[np.ndarray]:
    """Landmarks MediaPipe finds on each rendered frame; fails if any frame has no face."""
    frames = render_frames(build_graph(avatar, "512"), np.stack(motions))
    found = []
    for index, frame in enumerate(frames):
        faces = detect_faces(frame)
        assert faces, f"no face detected in rendered frame {index}"
        found.append(faces[0])
    return found


def _variant(image: np.ndarray, name: str) -> np.ndarray:
    """The astronaut photo changed as a user's photo might differ."""
    if name == "scaled":
        return cv2.resize(image, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC)
    if name == "darker":
        return (image * 0.45).astype(np.uint8)
    if name == "rotated":
        matrix = cv2.getRotationMatrix2D((256, 256), -12.0, 1.0)
        return cv2.warpAffine(image, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
    if name == "cropped tight":
        return np.ascontiguousarray(image[30:250, 120:340])
    if name == "small in a large frame":
        return cv2.copyMakeBorder(image, 60, 60, 120, 120, cv2.BORDER_REFLECT)
    return image


def _prepared(image: np.ndarray, folder: Path) -> Avatar:
    path = folder / "portrait.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return prepare_avatar(path, folder / "avatar", sizes=("512",))


@pytest.fixture(scope="module")
def astronaut_avatar(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return _prepared(skimage.data.astronaut(), tmp_path_factory.mktemp("astronaut"))


def check_jaw_opens_from_closed(avatar: Avatar) -> list[float]:
    """jaw_open 0 → 1 opens the seen lip gap monotonically from closed lips."""
    jaw = np.linspace(0.0, 1.0, JAW_STEPS)
    gaps = [lip_gap(face) for face in redetect(avatar, [from_dict({"jaw_open": j}) for j in jaw])]
    print("jaw_open", np.round(jaw, 2).tolist(), "→ seen lip gap (face heights)", np.round(gaps, 3).tolist())
    rho = spearmanr(jaw, gaps).statistic
    assert gaps[0] < CLOSED_GAP, f"lips not closed at jaw_open 0: gap {gaps[0]:.3f}"
    assert rho >= MIN_SPEARMAN, f"Spearman {rho:.2f}"
    return gaps


def test_jaw_open_opens_the_lips_from_closed(astronaut_avatar: Avatar) -> None:
    check_jaw_opens_from_closed(astronaut_avatar)


def test_neutral_is_closed_and_the_photo_is_open(astronaut_avatar: Avatar) -> None:
    photo, calm = redetect(astronaut_avatar, [astronaut_avatar.motion, neutral()])
    print(f"seen lip gap: photo {lip_gap(photo):.3f}, neutral {lip_gap(calm):.3f} face heights")
    assert lip_gap(photo) > 2 * CLOSED_GAP and lip_gap(calm) < CLOSED_GAP


def test_yaw_is_seen_with_the_right_sign_and_order(astronaut_avatar: Avatar) -> None:
    commanded = [-15.0, 0.0, 15.0]
    seen = [estimate_head_pose(face).yaw
            for face in redetect(astronaut_avatar, [from_dict({"yaw": y}) for y in commanded])]
    print("yaw commanded", commanded, "→ seen", np.round(seen, 1).tolist())
    assert seen[0] < -SEEN_YAW_DEG and seen[2] > SEEN_YAW_DEG
    assert seen[0] < seen[1] < seen[2]


def test_blink_closes_the_eyes(astronaut_avatar: Avatar) -> None:
    opened, closed = redetect(astronaut_avatar, [neutral(), from_dict({"blink_l": 1.0, "blink_r": 1.0})])
    ratio = eye_aspect_ratio(closed) / eye_aspect_ratio(opened)
    print(f"eye aspect ratio closed/open: {ratio:.2f}")
    assert ratio < MAX_BLINK_RATIO


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["scaled", "darker", "rotated", "cropped tight", "small in a large frame"])
def test_variants_close_and_open_the_lips(variant: str, tmp_path: Path) -> None:
    avatar = _prepared(_variant(skimage.data.astronaut(), variant), tmp_path)
    check_jaw_opens_from_closed(avatar)


OUTER_UPPER_MID, OUTER_LOWER_MID = 0, 17  # Face Mesh: middle of the outer lip line, top and bottom
MIN_SHAPE_CHANGE = 0.01  # face heights a lip shape must change what is seen by, at least


def lip_shape(landmarks: np.ndarray) -> dict[str, float]:
    """What a lip shape changes, in face heights: mouth width (outer corners), how far the
    corners sit above the lips' middle, and the lips' thickness at the middle."""
    scale = estimate_head_pose(landmarks).scale
    left, right = (landmarks[i, :2] for i in ls.OUTER_LIP_CORNERS)
    middle_y = (landmarks[ls.INNER_UPPER_MID, 1] + landmarks[ls.INNER_LOWER_MID, 1]) / 2.0
    thickness = ((landmarks[ls.INNER_UPPER_MID, 1] - landmarks[OUTER_UPPER_MID, 1])
                 + (landmarks[OUTER_LOWER_MID, 1] - landmarks[ls.INNER_LOWER_MID, 1]))
    return {"width": float(np.linalg.norm(right - left) / scale),
            "corner_lift": float((middle_y - (left[1] + right[1]) / 2.0) / scale),
            "thickness": float(thickness / scale)}


def test_lip_shapes_are_seen(astronaut_avatar: Avatar) -> None:
    """round narrows the mouth, wide and smile widen it, smile lifts the corners and frown
    drops them, press thins the lips: each by at least MIN_SHAPE_CHANGE as re-detected."""
    names = ["mouth_round", "mouth_wide", "smile", "frown", "lip_press"]
    seen = redetect(astronaut_avatar, [neutral()] + [from_dict({name: 1.0}) for name in names])
    calm, *shaped = [lip_shape(face) for face in seen]
    change = {name: {k: round(s[k] - calm[k], 4) for k in calm} for name, s in zip(names, shaped)}
    print("lip shapes, change from neutral (face heights):", change)
    assert change["mouth_round"]["width"] < -MIN_SHAPE_CHANGE
    assert change["mouth_wide"]["width"] > MIN_SHAPE_CHANGE
    assert change["smile"]["width"] > MIN_SHAPE_CHANGE and change["smile"]["corner_lift"] > MIN_SHAPE_CHANGE
    assert change["frown"]["corner_lift"] < -MIN_SHAPE_CHANGE
    assert change["lip_press"]["thickness"] < -MIN_SHAPE_CHANGE
