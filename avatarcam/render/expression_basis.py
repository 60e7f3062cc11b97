"""The face's expression in the motion space: a neutral face and one offset per field.

Every non-head motion field has a hand-designed displacement of the 478 canonical landmarks
at value 1, built from face anatomy with smooth regional falloffs (units: face heights, in
the canonical frame of `canonical_face`). The same offsets serve both ways: rendering adds
them to the neutral face, and preparing a portrait measures its own vector by fitting them
to its landmarks, so a photo's measured vector reproduces that photo.

The neutral face is the canonical shape with the astronaut's open smile taken out: some jaw
opening, smile and upper-lip raise removed, then the inner lips closed exactly, so that the
all-zero vector has closed lips and a relaxed mouth on every portrait.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from avatarcam.motion.space import FIELD_NAMES, LOWER_BOUNDS, UPPER_BOUNDS, NUM_FIELDS
from avatarcam.render import landmark_sets as ls
from avatarcam.render.canonical_face import NUM_LANDMARKS, canonical_face
from avatarcam.render.head_pose import HeadPose

HEAD_FIELDS = FIELD_NAMES[:6]  # yaw, pitch, roll, tx, ty, scale: handled by the head pose
EXPRESSION_FIELDS = FIELD_NAMES[6:]
EXPRESSION_SLICE = slice(len(HEAD_FIELDS), NUM_FIELDS)

# How much of each field the canonical (astronaut) face shows; removed to get the neutral.
CANONICAL_EXPRESSION = {"jaw_open": 0.2, "smile": 0.8, "upper_lip_raise": 0.3}

LIP_LINE_Y = 0.178  # canonical height where closed lips meet
MOUTH_HALF_WIDTH = 0.19
DEPTH_WEIGHT = 0.3  # Face Mesh depth is less certain than x and y: it counts less in fits
RIDGE = 1e-3  # pull towards 0, relative to each offset's size: keeps correlated fields apart
BLINK_UPPER_SHARE = 0.9  # the upper lid does most of a blink; the lower lid meets it
# A photo's jaw opening is taken as at least this when easing the lip seal in, so a photo
# measured closed (whose small unexplained gap the seal then always closes) divides safely.
MIN_SEALED_JAW = 0.02
JAW_CORNER_SHARE = 0.2  # the lower lip's drop at its corners, as a share of its middle's
OPENING_TAPER = 1.5  # how fast the lower lip's drop falls off toward the corners


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, a smooth ramp in between."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(points: np.ndarray, centre: tuple[float, float], sigma: float) -> np.ndarray:
    """A Gaussian weight (N,) around an (x, y) canonical position."""
    d2 = (points[:, 0] - centre[0]) ** 2 + (points[:, 1] - centre[1]) ** 2
    return np.exp(-d2 / (2.0 * sigma**2))


def _mirrored_gauss(points: np.ndarray, centre: tuple[float, float], sigma: float) -> np.ndarray:
    """`_gauss` around a point and its mirror image on the other side of the face."""
    return np.maximum(_gauss(points, centre, sigma), _gauss(points, (-centre[0], centre[1]), sigma))


def _index_mask(indices: Iterable[int]) -> np.ndarray:
    """True (NUM_LANDMARKS,) at `indices`."""
    mask = np.zeros(NUM_LANDMARKS, bool)
    mask[list(indices)] = True
    return mask


def _lip_profile(x: np.ndarray, flatness: float = 0.5) -> np.ndarray:
    """1 at the mouth's centre falling to 1 - flatness at its corners."""
    return 1.0 - flatness * np.clip(np.abs(x) / MOUTH_HALF_WIDTH, 0.0, 1.0) ** 2


def _opening_profile(x: np.ndarray, corner: float) -> np.ndarray:
    """How far a lower-lip point drops with the jaw, as a share of the middle's drop: from
    1 at the centre down to `corner` at the corners, flattening toward them, so the opening
    narrows to its corners like a real mouth's instead of ending in straight sides (lip
    points crowd near the corners, and a share that stays high there makes a wall)."""
    across = np.clip(np.abs(x) / MOUTH_HALF_WIDTH, 0.0, 1.0)
    return corner + (1.0 - corner) * (1.0 - across ** 2) ** OPENING_TAPER


def _cornerness(x: np.ndarray) -> np.ndarray:
    """0 at the mouth's centre, 1 at its corners: how much a lip point follows a corner."""
    return np.clip(np.abs(x) / MOUTH_HALF_WIDTH, 0.0, 1.0) ** 2


class _Builder:
    """Accumulates one field's displacement (NUM_LANDMARKS, 3) on a reference shape."""

    def __init__(self, shape: np.ndarray) -> None:
        self.shape = shape
        self.x, self.y = shape[:, 0], shape[:, 1]
        self.delta = np.zeros_like(shape)

    def move(self, indices: Iterable[int] | np.ndarray, dx: object = 0.0, dy: object = 0.0,
             dz: object = 0.0) -> _Builder:
        """Add (dx, dy, dz) at `indices`; each may be a scalar or one value per index."""
        idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices)
        self.delta[idx, 0] += dx
        self.delta[idx, 1] += dy
        self.delta[idx, 2] += dz
        return self

    def move_weighted(self, weights: np.ndarray, dx: object = 0.0, dy: object = 0.0,
                      dz: object = 0.0, exclude: Iterable[int] = ()) -> _Builder:
        """Add weights * (dx, dy, dz) everywhere except at `exclude`."""
        w = np.where(_index_mask(exclude), 0.0, weights)
        self.delta += w[:, None] * np.stack(np.broadcast_arrays(dx, dy, dz, w)[:3], axis=1)
        return self


def _corner_follow(b: _Builder, dx: float, dy: float, share: float) -> None:
    """Skin around the mouth corners follows a corner move (dx toward the image's right on
    the right corner, mirrored on the left) by `share`."""
    weights = _mirrored_gauss(b.shape, (MOUTH_HALF_WIDTH, LIP_LINE_Y), 0.07) * share
    b.move_weighted(weights, dx * np.sign(b.x), dy, exclude=ls.ALL_LIPS)


def _jaw_open(shape: np.ndarray) -> np.ndarray:
    """Jaw dropped ~0.25 face heights: lower lip most, chin and jaw line a little less."""
    b = _Builder(shape)
    below = _smoothstep((b.y - LIP_LINE_Y + 0.01) / 0.08)
    sides = np.exp(-((np.maximum(np.abs(b.x) - 0.12, 0.0) / 0.3) ** 2))
    b.move_weighted(below * sides, dy=0.2, dz=0.04, exclude=ls.ALL_LIPS)
    inner_lower = ls.without_corners(ls.INNER_LOWER_LIP)
    outer_lower = ls.without_corners(ls.OUTER_LOWER_LIP)
    b.move(inner_lower, dy=0.25 * _opening_profile(b.x[list(inner_lower)], JAW_CORNER_SHARE))
    b.move(outer_lower, dy=0.24 * _opening_profile(b.x[list(outer_lower)], JAW_CORNER_SHARE), dz=0.03)
    inner_upper = ls.without_corners(ls.INNER_UPPER_LIP)
    b.move(inner_upper, dy=-0.01 * _lip_profile(b.x[list(inner_upper)]))
    b.move(ls.LIP_CORNERS, dx=-0.02 * np.sign(b.x[list(ls.LIP_CORNERS)]), dy=0.05)
    _corner_follow(b, -0.01, 0.035, 1.0)
    return b.delta


def _corner_pull(shape: np.ndarray, dx: float, dy: float, cheek_dy: float) -> _Builder:
    """Mouth corners moved by (dx outward, dy), lips following by how near a corner they are."""
    b = _Builder(shape)
    lips = np.array(ls.ALL_LIPS)
    follow = _cornerness(b.x[lips])
    b.move(lips, dx=dx * np.sign(b.x[lips]) * follow, dy=dy * follow)
    _corner_follow(b, dx, dy, 0.7)
    b.move_weighted(_mirrored_gauss(shape, (0.25, 0.0), 0.08), dy=cheek_dy, exclude=ls.ALL_LIPS)
    return b


def _smile(shape: np.ndarray) -> np.ndarray:
    """Corners up and back, cheeks raised, lower lids pushed up a little."""
    b = _corner_pull(shape, 0.045, -0.045, -0.02)
    b.move(ls.RIGHT_LOWER_LID + ls.LEFT_LOWER_LID, dy=-0.006)
    return b.delta


def _frown(shape: np.ndarray) -> np.ndarray:
    """Corners pulled down, chin pushed up."""
    b = _corner_pull(shape, -0.01, 0.04, 0.0)
    b.move_weighted(_gauss(shape, (0.0, 0.42), 0.08), dy=-0.015, exclude=ls.ALL_LIPS)
    return b.delta


def _mouth_wide(shape: np.ndarray) -> np.ndarray:
    """Corners stretched sideways, lips thinned."""
    b = _corner_pull(shape, 0.06, 0.0, 0.0)
    b.move(ls.without_corners(ls.OUTER_UPPER_LIP), dy=0.008)
    b.move(ls.without_corners(ls.OUTER_LOWER_LIP), dy=-0.01)
    return b.delta


def _mouth_round(shape: np.ndarray) -> np.ndarray:
    """Lips drawn together and pushed forward around a small round opening."""
    b = _Builder(shape)
    lips = np.array(ls.ALL_LIPS)
    b.move(lips, dx=-0.35 * b.x[lips], dz=-0.04)
    _corner_follow(b, -0.07, 0.0, 0.6)
    for contour, dy in ((ls.OUTER_UPPER_LIP, -0.012), (ls.OUTER_LOWER_LIP, 0.015),
                        (ls.INNER_UPPER_LIP, -0.015), (ls.INNER_LOWER_LIP, 0.025)):
        points = ls.without_corners(contour)
        b.move(points, dy=dy * _lip_profile(b.x[list(points)], 0.8))
    return b.delta


def _lip_press(shape: np.ndarray) -> np.ndarray:
    """Lips pressed thin: outer edges move toward the closed lip line."""
    b = _Builder(shape)
    for contour, dy in ((ls.OUTER_UPPER_LIP, 0.015), (ls.OUTER_LOWER_LIP, -0.018)):
        points = ls.without_corners(contour)
        b.move(points, dy=dy * _lip_profile(b.x[list(points)]))
    return b.delta


def _upper_lip_raise(shape: np.ndarray) -> np.ndarray:
    """Upper lip lifted off the teeth; the skin under the nose follows."""
    b = _Builder(shape)
    for contour, dy in ((ls.INNER_UPPER_LIP, -0.035), (ls.OUTER_UPPER_LIP, -0.03)):
        points = ls.without_corners(contour)
        b.move(points, dy=dy * _lip_profile(b.x[list(points)], 0.3))
    below_nose = np.maximum(_gauss(shape, (0.0, 0.12), 0.05), _mirrored_gauss(shape, (0.1, 0.12), 0.04))
    b.move_weighted(below_nose, dy=-0.012, exclude=ls.ALL_LIPS)
    return b.delta


def _lid_profile(b: _Builder, lid: tuple[int, ...]) -> np.ndarray:
    """1 at the middle of a lid, 0.3 toward its corners."""
    x = b.x[list(lid)]
    centre = x.mean()
    half = max(float(np.ptp(x)) / 2.0, 1e-6)
    return 1.0 - 0.7 * np.clip(np.abs(x - centre) / half, 0.0, 1.0) ** 2


EyeParts = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]
EYES: dict[str, EyeParts] = {  # upper lid, lower lid, crease, iris
    "r": (ls.RIGHT_UPPER_LID, ls.RIGHT_LOWER_LID, ls.RIGHT_LID_CREASE, ls.RIGHT_IRIS),
    "l": (ls.LEFT_UPPER_LID, ls.LEFT_LOWER_LID, ls.LEFT_LID_CREASE, ls.LEFT_IRIS),
}


def blink_delta(shape: np.ndarray, eye: str) -> np.ndarray:
    """One eye closed on `shape`: the lids meet (the upper doing most of the travel), the
    iris slides to the closing line and the crease follows the upper lid halfway.

    Defined on any shape, so a portrait's own lid gap closes exactly.
    """
    upper, lower, crease, iris = (list(p) for p in EYES[eye])
    b = _Builder(shape)
    gap = shape[lower] - shape[upper]
    b.move(upper, *(BLINK_UPPER_SHARE * gap).T)
    b.move(lower, *(-(1.0 - BLINK_UPPER_SHARE) * gap).T)
    b.move(crease, dy=0.5 * BLINK_UPPER_SHARE * gap[:, 1])
    closing_y = (shape[upper, 1] + BLINK_UPPER_SHARE * gap[:, 1]).mean()
    b.move(iris, dy=closing_y - shape[iris, 1])
    return b.delta


def _gaze(shape: np.ndarray, axis: int) -> np.ndarray:
    """Irises moved across (axis 0, toward image right) or up (axis 1) inside the eyes;
    the lids follow a vertical gaze a little."""
    b = _Builder(shape)
    irises = ls.RIGHT_IRIS + ls.LEFT_IRIS
    if axis == 0:
        b.move(irises, dx=0.035)
    else:
        b.move(irises, dy=-0.02)
        b.move(ls.RIGHT_UPPER_LID + ls.LEFT_UPPER_LID, dy=-0.006)
        b.move(ls.RIGHT_LOWER_LID + ls.LEFT_LOWER_LID, dy=-0.004)
    return b.delta


def _eye_opening(shape: np.ndarray, upper_dy: float, lower_dy: float, crease_dy: float,
                 cheek_dy: float) -> np.ndarray:
    """Both eyes opened or narrowed by moving the lids (strongest mid-lid)."""
    b = _Builder(shape)
    for upper, lower, crease, _ in EYES.values():
        b.move(upper, dy=upper_dy * _lid_profile(b, upper))
        b.move(lower, dy=lower_dy * _lid_profile(b, lower))
        b.move(crease, dy=crease_dy)
    b.move_weighted(_mirrored_gauss(shape, (0.2, -0.1), 0.05), dy=cheek_dy,
                    exclude=ls.RIGHT_LOWER_LID + ls.LEFT_LOWER_LID)
    return b.delta


def _innerness(x: np.ndarray) -> np.ndarray:
    """1 at the inner ends of the brows, falling off toward their outer ends."""
    return np.exp(-(((np.abs(x) - 0.09) / 0.1) ** 2))


def _brow_up(shape: np.ndarray) -> np.ndarray:
    """Whole brows raised, the forehead skin and lid creases partly following."""
    b = _Builder(shape)
    brows = ls.RIGHT_BROW + ls.LEFT_BROW
    b.move(brows, dy=-0.05)
    b.move(ls.RIGHT_LID_CREASE + ls.LEFT_LID_CREASE, dy=-0.012)
    forehead = np.exp(-(((b.y + 0.31) / 0.1) ** 2)) * (b.y < -0.3)
    b.move_weighted(forehead, dy=-0.04, exclude=brows)
    return b.delta


def _brow_down(shape: np.ndarray) -> np.ndarray:
    """Brows lowered and drawn together, most at their inner ends."""
    b = _Builder(shape)
    brows = np.array(ls.RIGHT_BROW + ls.LEFT_BROW)
    inner = _innerness(b.x[brows])
    b.move(brows, dx=-0.02 * np.sign(b.x[brows]) * inner, dy=0.03 * (0.5 + 0.5 * inner))
    b.move(ls.RIGHT_LID_CREASE + ls.LEFT_LID_CREASE, dy=0.008)
    b.move_weighted(_gauss(shape, (0.0, -0.29), 0.05), dy=0.01, exclude=brows)
    return b.delta


def _brow_inner_up(shape: np.ndarray) -> np.ndarray:
    """Inner brow ends raised, with the forehead above them."""
    b = _Builder(shape)
    brows = np.array(ls.RIGHT_BROW + ls.LEFT_BROW)
    b.move(brows, dy=-0.045 * _innerness(b.x[brows]))
    b.move_weighted(_mirrored_gauss(shape, (0.09, -0.36), 0.06), dy=-0.025, exclude=brows)
    return b.delta


_BUILDERS = {
    "jaw_open": _jaw_open,
    "lip_press": _lip_press,
    "mouth_wide": _mouth_wide,
    "mouth_round": _mouth_round,
    "smile": _smile,
    "frown": _frown,
    "upper_lip_raise": _upper_lip_raise,
    "blink_l": lambda s: blink_delta(s, "l"),
    "blink_r": lambda s: blink_delta(s, "r"),
    "gaze_x": lambda s: _gaze(s, 0),
    "gaze_y": lambda s: _gaze(s, 1),
    "eye_wide": lambda s: _eye_opening(s, -0.018, 0.004, -0.01, 0.0),
    "squint": lambda s: _eye_opening(s, 0.006, -0.018, 0.0, -0.008),
    "brow_up": _brow_up,
    "brow_down": _brow_down,
    "brow_inner_up": _brow_inner_up,
}
assert tuple(_BUILDERS) == EXPRESSION_FIELDS, "one builder per expression field, in order"


def _close_inner_lips(shape: np.ndarray) -> np.ndarray:
    """`shape` with each facing pair of inner-lip points moved to their midpoint."""
    closed = shape.copy()
    for upper, lower in ls.INNER_LIP_PAIRS:
        closed[[upper, lower]] = (shape[upper] + shape[lower]) / 2.0
    return closed


@dataclass(frozen=True)
class ExpressionBasis:
    """The neutral face (NUM_LANDMARKS, 3) and one offset per expression field
    (len(EXPRESSION_FIELDS), NUM_LANDMARKS, 3), in canonical face-height units."""

    neutral: np.ndarray
    deltas: np.ndarray

    def landmarks(self, motion: np.ndarray) -> np.ndarray:
        """The canonical-frame landmarks (NUM_LANDMARKS, 3) of a full motion vector's
        expression fields (head fields are ignored here)."""
        weights = np.asarray(motion, np.float64)[EXPRESSION_SLICE]
        return self.neutral + np.tensordot(weights, self.deltas, axes=1)


@functools.cache
def expression_basis() -> ExpressionBasis:
    """The project's neutral face and field offsets, built once from the canonical face."""
    shape = canonical_face().astype(np.float64)
    on_canonical = {name: build(shape) for name, build in _BUILDERS.items()}
    neutral = shape.copy()
    for name, amount in CANONICAL_EXPRESSION.items():
        neutral -= amount * on_canonical[name]
    neutral = _close_inner_lips(neutral)
    deltas = np.stack([build(neutral) for build in _BUILDERS.values()])
    neutral.setflags(write=False)
    deltas.setflags(write=False)
    return ExpressionBasis(neutral, deltas)


def expression_landmarks(motion: np.ndarray) -> np.ndarray:
    """Canonical-frame landmarks (NUM_LANDMARKS, 3) of the face state `motion` describes."""
    return expression_basis().landmarks(motion)


def to_canonical(landmarks: np.ndarray, pose: HeadPose) -> np.ndarray:
    """Image landmarks (pixels) brought into the canonical frame by undoing the head pose."""
    return ((landmarks - pose.translation) @ pose.rotation) / pose.scale


def measure_expression(aligned: np.ndarray) -> np.ndarray:
    """The expression fields (len(EXPRESSION_FIELDS),) that best explain canonical-frame
    landmarks, each within its range: bounded least squares against the basis."""
    # Imported here: scipy.optimize takes a third of a second to import, and only preparing
    # an avatar measures expressions, not each run of a prepared one.
    from scipy.optimize import lsq_linear

    basis = expression_basis()
    axis_weights = np.array([1.0, 1.0, DEPTH_WEIGHT])
    design = (basis.deltas * axis_weights).reshape(len(EXPRESSION_FIELDS), -1).T
    target = ((aligned - basis.neutral) * axis_weights).ravel()
    count = len(EXPRESSION_FIELDS)
    design = np.vstack([design, np.sqrt(RIDGE) * np.diag(np.linalg.norm(design, axis=0))])
    target = np.concatenate([target, np.zeros(count)])
    fit = lsq_linear(design, target, bounds=(LOWER_BOUNDS[EXPRESSION_SLICE],
                                             UPPER_BOUNDS[EXPRESSION_SLICE]))
    return fit.x.astype(np.float32)


def measure_motion(landmarks: np.ndarray, pose: HeadPose) -> np.ndarray:
    """A portrait's own motion vector (NUM_FIELDS,): its expression as fitted, its head
    rotation as measured, and tx = ty = scale = 0 (the photo's framing is the reference)."""
    motion = np.zeros(NUM_FIELDS, np.float32)
    motion[:3] = (pose.yaw, pose.pitch, pose.roll)
    motion[EXPRESSION_SLICE] = measure_expression(to_canonical(landmarks, pose))
    return motion


def lip_seal(aligned: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """The inner-lip offset (NUM_LANDMARKS, 3) that closes whatever lip gap the fitted
    vector leaves unexplained (teeth showing in a smile, say).

    The renderer applies it in full at jaw_open 0 and not at all from the photo's own jaw
    opening up, so the lips of any photo shut at 0 without the jaw field itself being
    bent: opening wider then moves the whole lower lip, not its inner edge alone.
    """
    residual = aligned - expression_basis().landmarks(motion)
    seal = np.zeros_like(aligned)
    for upper, lower in ls.INNER_LIP_PAIRS:
        half_gap = (residual[lower] - residual[upper]) / 2.0
        seal[upper] += half_gap
        seal[lower] -= half_gap
    return seal
