"""Portrait analysis on a real photo (scikit-image's astronaut) and variations of it:
loading, Face Mesh landmarks, head pose and its sign conventions, person mask and the
background plate."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from avatarcam.render import face_landmarks
from avatarcam.render.canonical_face import (
    CHIN,
    FOREHEAD_TOP,
    MIDLINE_LANDMARKS,
    MIRROR_X,
    canonical_face,
    mirror_pairs,
)
from avatarcam.render.derive_canonical_face import derive_canonical_face
from avatarcam.render.errors import PortraitError
from avatarcam.render.face_landmarks import (
    MIN_FACE_HEIGHT_PX,
    PortraitFace,
    detect_faces,
    find_portrait_face,
)
from avatarcam.render.head_pose import estimate_head_pose, euler_angles, rotation_matrix
from avatarcam.render.portrait_image import MAX_LONG_SIDE_PX, MIN_SHORT_SIDE_PX, load_portrait
from avatarcam.render.segmentation import fill_background, person_mask

NOSE_TIP = 1
EYE_OUTER_IMAGE_LEFT, EYE_INNER_IMAGE_LEFT = 33, 133  # the person's right eye
EYE_INNER_IMAGE_RIGHT, EYE_OUTER_IMAGE_RIGHT = 362, 263  # the person's left eye
UPPER_LIP, LOWER_LIP = 13, 14
IRIS_CENTRES = (468, 473)

HEAD_CROP = (slice(0, 260), slice(100, 360))  # astronaut's head and shoulders
FACE_CROP = (slice(40, 220), slice(135, 315))  # astronaut's face, tightly
ANGLE_TOLERANCE_DEG = 3.0


def assert_one_sentence(message: str) -> None:
    """A user-facing message is one line, one sentence, ending with a full stop."""
    assert "\n" not in message
    assert message.endswith(".")
    assert not re.search(r"\. [A-Z]", message), message


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut_face(astronaut: np.ndarray) -> PortraitFace:
    return find_portrait_face(astronaut)


@pytest.fixture(scope="module")
def astronaut_mask(astronaut: np.ndarray) -> np.ndarray:
    return person_mask(astronaut)


def rotate_in_plane(image: np.ndarray, clockwise_deg: float) -> np.ndarray:
    """The image turned about its centre, clockwise as viewed for positive angles."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -clockwise_deg, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def posed_canonical(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Canonical landmarks as a 200 px face at (300, 250) with the given pose."""
    return 200.0 * canonical_face() @ rotation_matrix(yaw, pitch, roll).T + [300.0, 250.0, 0.0]


# --- landmarks -------------------------------------------------------------------------


def test_astronaut_landmarks_have_face_geometry(astronaut_face: PortraitFace) -> None:
    points = astronaut_face.landmarks
    assert points.shape == (478, 3) and points.dtype == np.float32
    x, y = points[:, 0], points[:, 1]
    eyes_y = y[[EYE_OUTER_IMAGE_LEFT, EYE_INNER_IMAGE_LEFT, EYE_INNER_IMAGE_RIGHT,
                EYE_OUTER_IMAGE_RIGHT]].mean()
    assert y[FOREHEAD_TOP] < eyes_y < y[NOSE_TIP] < y[UPPER_LIP] < y[LOWER_LIP] < y[CHIN]
    assert x[EYE_OUTER_IMAGE_LEFT] < x[EYE_INNER_IMAGE_LEFT] < x[NOSE_TIP]
    assert x[NOSE_TIP] < x[EYE_INNER_IMAGE_RIGHT] < x[EYE_OUTER_IMAGE_RIGHT]
    left_iris, right_iris = (points[i] for i in IRIS_CENTRES)
    assert x[EYE_OUTER_IMAGE_LEFT] < left_iris[0] < x[EYE_INNER_IMAGE_LEFT]
    assert x[EYE_INNER_IMAGE_RIGHT] < right_iris[0] < x[EYE_OUTER_IMAGE_RIGHT]
    assert points[NOSE_TIP, 2] < points[EYE_OUTER_IMAGE_LEFT, 2]  # the nose is nearer the camera
    assert 90 < np.ptp(y) < 130  # her face is about 107 px tall in the 512 px photo
    assert astronaut_face.faces_found == 1


@pytest.mark.parametrize("variant", ["upscaled", "shifted", "darker"])
def test_variants_of_the_photo_give_the_same_face(
    astronaut: np.ndarray, astronaut_face: PortraitFace, variant: str
) -> None:
    expected = astronaut_face.landmarks[:, :2].copy()
    if variant == "upscaled":
        image = cv2.resize(astronaut, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
        expected *= 1.5
    elif variant == "shifted":
        image = cv2.copyMakeBorder(astronaut, 120, 0, 0, 90, cv2.BORDER_CONSTANT, value=(40,) * 3)
        expected[:, 1] += 120
    else:
        image = (astronaut * 0.4).astype(np.uint8)
    face = find_portrait_face(image)
    nose_error = np.linalg.norm(face.landmarks[NOSE_TIP, :2] - expected[NOSE_TIP])
    assert nose_error < 0.03 * face.pose.scale
    assert abs(face.pose.yaw - astronaut_face.pose.yaw) < ANGLE_TOLERANCE_DEG
    assert abs(face.pose.roll - astronaut_face.pose.roll) < ANGLE_TOLERANCE_DEG


def test_two_faces_use_the_largest_and_warn(
    astronaut: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    head = astronaut[HEAD_CROP]
    small = cv2.resize(head, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    canvas = np.full((head.shape[0], head.shape[1] + small.shape[1], 3), 200, np.uint8)
    canvas[:, : head.shape[1]] = head
    canvas[-small.shape[0]:, head.shape[1]:] = small
    with caplog.at_level(logging.WARNING):
        face = find_portrait_face(canvas)
    assert face.faces_found == 2
    assert face.landmarks[:, 0].max() < head.shape[1]  # the big face, on the left
    assert "2 faces" in caplog.text


def test_blank_image_has_no_face() -> None:
    with pytest.raises(PortraitError, match="No face was found") as caught:
        find_portrait_face(np.full((512, 512, 3), 128, np.uint8))
    assert_one_sentence(str(caught.value))


def test_small_face_is_rejected(astronaut: np.ndarray) -> None:
    small = cv2.resize(astronaut[FACE_CROP], None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    assert detect_faces(small), "the small face should still be detected"
    with pytest.raises(PortraitError, match=f"at least {MIN_FACE_HEIGHT_PX} px tall") as caught:
        find_portrait_face(small)
    assert_one_sentence(str(caught.value))


def test_turned_head_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    turned = posed_canonical(yaw=50.0, pitch=0.0, roll=0.0).astype(np.float32)
    monkeypatch.setattr(face_landmarks, "detect_faces", lambda image: [turned])
    with pytest.raises(PortraitError, match="turned sideways by 50°") as caught:
        find_portrait_face(np.zeros((512, 512, 3), np.uint8))
    assert_one_sentence(str(caught.value))


# --- head pose -------------------------------------------------------------------------


def test_astronaut_is_near_frontal(astronaut_face: PortraitFace) -> None:
    pose = astronaut_face.pose
    assert abs(pose.yaw) < 15 and abs(pose.roll) < 15 and abs(pose.pitch) < 20
    face_height = astronaut_face.landmarks[CHIN, 1] - astronaut_face.landmarks[FOREHEAD_TOP, 1]
    assert pose.scale == pytest.approx(face_height, rel=0.1)


@pytest.mark.parametrize("clockwise_deg", [10.0, -10.0])
def test_turning_the_image_changes_roll_by_the_same_angle(
    astronaut: np.ndarray, astronaut_face: PortraitFace, clockwise_deg: float
) -> None:
    turned = find_portrait_face(rotate_in_plane(astronaut, clockwise_deg))
    roll_change = turned.pose.roll - astronaut_face.pose.roll
    assert roll_change == pytest.approx(clockwise_deg, abs=ANGLE_TOLERANCE_DEG)


def test_mirrored_photo_mirrors_yaw_and_roll(
    astronaut: np.ndarray, astronaut_face: PortraitFace
) -> None:
    mirrored = find_portrait_face(np.ascontiguousarray(astronaut[:, ::-1]))
    assert mirrored.pose.yaw == pytest.approx(-astronaut_face.pose.yaw, abs=ANGLE_TOLERANCE_DEG)
    assert mirrored.pose.roll == pytest.approx(-astronaut_face.pose.roll, abs=ANGLE_TOLERANCE_DEG)
    assert mirrored.pose.pitch == pytest.approx(astronaut_face.pose.pitch, abs=ANGLE_TOLERANCE_DEG)


def test_sign_conventions() -> None:
    frontal = posed_canonical(0.0, 0.0, 0.0)
    turned_left = posed_canonical(20.0, 0.0, 0.0)
    looking_up = posed_canonical(0.0, 20.0, 0.0)
    tilted_clockwise = posed_canonical(0.0, 0.0, 20.0)
    assert turned_left[NOSE_TIP, 0] > frontal[NOSE_TIP, 0] + 10  # nose towards image right
    assert looking_up[NOSE_TIP, 1] < frontal[NOSE_TIP, 1] - 10  # nose towards image top
    assert looking_up[CHIN, 2] < frontal[CHIN, 2]  # chin comes towards the camera
    eye_line = tilted_clockwise[EYE_OUTER_IMAGE_RIGHT] - tilted_clockwise[EYE_OUTER_IMAGE_LEFT]
    assert eye_line[1] > 0  # the image-right eye drops: clockwise as viewed


@pytest.mark.parametrize("angles", [(0.0, 0.0, 0.0), (20.0, -10.0, 5.0), (-30.0, 25.0, -40.0)])
def test_pose_is_recovered_exactly_from_posed_canonical_face(
    angles: tuple[float, float, float]
) -> None:
    np.testing.assert_allclose(euler_angles(rotation_matrix(*angles)), angles, atol=1e-9)
    pose = estimate_head_pose(posed_canonical(*angles))
    np.testing.assert_allclose((pose.yaw, pose.pitch, pose.roll), angles, atol=1e-3)
    assert pose.scale == pytest.approx(200.0, rel=1e-5)
    np.testing.assert_allclose(pose.translation, [300.0, 250.0, 0.0], atol=1e-3)


def test_pose_fit_never_returns_a_reflection(astronaut_face: PortraitFace) -> None:
    mirrored_depth = astronaut_face.landmarks * [1.0, 1.0, -1.0]  # a left-handed copy
    assert np.linalg.det(estimate_head_pose(mirrored_depth).rotation) == pytest.approx(1.0)


# --- canonical face --------------------------------------------------------------------


def test_canonical_face_is_symmetric_frontal_and_unit_height() -> None:
    shape = canonical_face().astype(np.float64)
    pairs = mirror_pairs(shape)
    np.testing.assert_allclose(shape[pairs] * MIRROR_X, shape, atol=1e-6)
    assert set(np.flatnonzero(pairs == np.arange(len(shape)))) == set(MIDLINE_LANDMARKS)
    np.testing.assert_allclose(shape.mean(axis=0), 0.0, atol=1e-6)
    assert shape[CHIN, 1] - shape[FOREHEAD_TOP, 1] == pytest.approx(1.0)
    assert shape[CHIN, 2] == pytest.approx(shape[FOREHEAD_TOP, 2], abs=1e-6)


def test_derivation_reproduces_the_committed_asset(astronaut: np.ndarray) -> None:
    derived = derive_canonical_face(detect_faces(astronaut)[0])
    np.testing.assert_allclose(derived, canonical_face(), atol=1e-3)


# --- loading ---------------------------------------------------------------------------


def test_transparent_png_is_flattened_onto_white(astronaut: np.ndarray, tmp_path: Path) -> None:
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:, :100, 3] = 0
    path = tmp_path / "portrait.png"
    Image.fromarray(rgba).save(path)
    loaded = load_portrait(path)
    assert loaded.shape == astronaut.shape and loaded.dtype == np.uint8
    assert (loaded[:, :100] == 255).all()
    np.testing.assert_array_equal(loaded[:, 100:], astronaut[:, 100:])


def test_exif_orientation_is_applied(astronaut: np.ndarray, tmp_path: Path) -> None:
    image = Image.fromarray(np.ascontiguousarray(astronaut[:, :400]))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: the stored pixels must be turned 90° clockwise
    path = tmp_path / "portrait.jpg"
    image.save(path, exif=exif)
    assert load_portrait(path).shape == (400, 512, 3)


def test_huge_photo_is_downscaled_with_a_warning(
    astronaut: np.ndarray, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "huge.jpg"
    big = cv2.resize(astronaut, (4000, 4000), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    with caplog.at_level(logging.WARNING):
        loaded = load_portrait(path)
    assert loaded.shape == (MAX_LONG_SIDE_PX, MAX_LONG_SIDE_PX, 3)
    assert "downscaling" in caplog.text
    assert find_portrait_face(loaded).pose.scale > 300


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        (b"", "not an image"),
        (b"this is a text file, not a photo", "not an image"),
        ("tiny", f"at least {MIN_SHORT_SIDE_PX} px"),
        ("directory", "not a file"),
    ],
)
def test_bad_files_give_one_sentence(
    content: bytes | str | None, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "portrait.jpg"
    if content == "tiny":
        cv2.imwrite(str(path), np.zeros((100, 100, 3), np.uint8))
    elif content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(PortraitError, match=expected) as caught:
        load_portrait(path)
    assert_one_sentence(str(caught.value))


# --- segmentation and background -------------------------------------------------------


def test_person_mask_covers_the_face_not_the_backdrop(
    astronaut_face: PortraitFace, astronaut_mask: np.ndarray
) -> None:
    assert astronaut_mask.shape == (512, 512) and astronaut_mask.dtype == np.float32
    assert 0.0 <= astronaut_mask.min() and astronaut_mask.max() <= 1.0
    nose_x, nose_y = np.round(astronaut_face.landmarks[NOSE_TIP, :2]).astype(int)
    assert astronaut_mask[nose_y, nose_x] > 0.9
    assert astronaut_mask[:20, :20].max() < 0.1 and astronaut_mask[:20, -20:].max() < 0.1


def test_filled_background_replaces_the_person(
    astronaut: np.ndarray, astronaut_face: PortraitFace, astronaut_mask: np.ndarray
) -> None:
    plate = fill_background(astronaut, astronaut_mask)
    assert plate.shape == astronaut.shape and plate.dtype == np.uint8
    x0, y0 = astronaut_face.landmarks[:, :2].min(axis=0).astype(int)
    x1, y1 = astronaut_face.landmarks[:, :2].max(axis=0).astype(int)
    face_before = astronaut[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    face_after = plate[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    beside_face = (slice(y0, y1), slice(x0 - 80, x1 + 80))
    backdrop = astronaut[beside_face][astronaut_mask[beside_face] < 0.01].mean(axis=0)
    assert np.linalg.norm(face_after - face_before) > 30
    assert np.linalg.norm(face_after - backdrop) < 25
    assert plate[y0:y1, x0:x1].std(axis=(0, 1)).max() < 15  # smooth: no features left behind
    background = astronaut_mask < 0.01
    assert np.abs(plate[background].astype(int) - astronaut[background]).mean() < 2
