"""The warp rig: dense, low-resolution displacement fields, one per way the face can move.

Built once per portrait and output size. Control points are the 478 landmarks plus anchors
that carry the hair and head (rigid with the face), the neck and shoulders (following the
head partly) and the canvas border (fixed, so frames never tear at the edge). Each
motion field's displacement of the control points is spread over a coarse grid by a
thin-plate spline; per frame the renderer only blends these fields linearly:

    forward displacement = Σ_k coefficient_k · basis_k

One more basis, the lip seal, closes the photo's own lip gap as jaw_open goes to 0.
Expression fields are linear already. Yaw and pitch are not: their bases are taken at
sample angles every ANGLE_STEP_DEG from the portrait's own angle and blended with hat
weights (piecewise-linear in the angle). Roll, shift and scale are a similarity
p' = c + a·(p - c) + b·J(p - c) + t, linear in (a - 1, b, t): four bases weighted by how
much each point follows the head. Each turn's field is relaxed where it would fold
(`unfold.py`), so the far cheek's edge moves smoothly with the angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avatarcam.motion.space import MAX_ROTATION_DEG
from avatarcam.render import landmark_sets as ls
from avatarcam.render.canonical_face import NUM_LANDMARKS, canonical_face
from avatarcam.render.expression_basis import EXPRESSION_FIELDS
from avatarcam.render.eyelids import EYE_LANDMARKS
from avatarcam.render.framing import OutputSize
from avatarcam.render.head_pose import rotation_matrix
from avatarcam.render.thin_plate import thin_plate
from avatarcam.render.unfold import unfold

ANGLE_STEP_DEG = 10.0
# Where the head turns about, in canonical units: behind the face, level with the mouth.
PIVOT = np.array([0.0, 0.15, 0.45])
# Hair and skull: the upper face outline pushed outward by these factors, rigid with the head.
HEAD_ANCHOR_FACTORS = (1.3, 1.65)
HEAD_ANCHOR_MAX_Y = 0.15  # only outline points above this canonical height are pushed out
HEAD_ANCHOR_DEPTH = 0.5  # extra depth per unit of push: the skull curves away from the camera
# (x, y, z, how much it follows the head) in canonical units, for the neck and shoulders.
BODY_ANCHORS = (
    (-0.22, 0.75, 0.35, 0.5), (0.0, 0.8, 0.35, 0.5), (0.22, 0.75, 0.35, 0.5),
    (-0.3, 1.0, 0.35, 0.15), (0.0, 1.05, 0.35, 0.15), (0.3, 1.0, 0.35, 0.15),
    (-1.1, 1.3, 0.3, 0.0), (-0.7, 1.15, 0.3, 0.0), (0.0, 1.3, 0.3, 0.0),
    (0.7, 1.15, 0.3, 0.0), (1.1, 1.3, 0.3, 0.0),
)
BORDER_ANCHORS_PER_SIDE = 9
# Anchors on the canvas sides start this far down: above, the head may move out of frame.
SIDE_ANCHORS_FROM = 0.6
# Turning uses the face's depth scaled by this: a portrait shows no hidden sides, so full
# parallax would fold the far cheek under the nose. At 0.85 a commanded ±20° yaw is seen by
# Face Mesh on the output as about -15.5/+17.8° (half depth gave half the angle) and the
# warp still stays one-to-one.
TURN_DEPTH_SCALE = 0.85
SMOOTHING = 1e-4  # thin-plate smoothing in face heights squared: spares close points' conflicts
PRECISE_SMOOTHING = 1e-6  # for the lips, whose place must match the mouth interior drawn
PRECISE_LANDMARKS = ls.ALL_LIPS
SIMILARITY_BASES = 4  # a - 1, b, tx, ty
SEAL_BASES = 1  # the lip seal, eased in below the photo's own jaw opening
# Fields the warp leaves alone: too fine for a low-resolution field, drawn by layers instead.
DRAWN_NOT_WARPED = ("blink_l", "blink_r")


@dataclass(frozen=True)
class Rig:
    """Everything the render graph needs to move one portrait in one output size."""

    bases: np.ndarray  # float32 (K, 2, grid_h, grid_w) canvas-pixel displacement per unit
    mouth_points: np.ndarray  # float32 (P, 2) canvas pixels of MOUTH_TRACKED
    mouth_deltas: np.ndarray  # float32 (K, P, 2) their displacement per unit coefficient
    eye_points: np.ndarray  # float32 (2 * POINTS_PER_EYE, 2) canvas pixels of EYE_LANDMARKS
    eye_deltas: np.ndarray  # float32 (K, 2 * POINTS_PER_EYE, 2) likewise
    yaw_offsets: np.ndarray  # float32 (Y,) degrees from the portrait's yaw, one per yaw basis
    pitch_offsets: np.ndarray  # float32 (Q,) likewise for pitch
    centre: np.ndarray  # float32 (2,) canvas pixels: the centre of roll and scale (PIVOT)
    face_px: float  # face height in canvas pixels: the unit of tx and ty


@dataclass(frozen=True)
class RigInput:
    """The portrait as the rig sees it, in canvas pixels."""

    landmarks: np.ndarray  # (NUM_LANDMARKS, 3) canvas pixels
    canonical: np.ndarray  # (NUM_LANDMARKS, 3) the same points in the canonical frame
    rotation: np.ndarray  # (3, 3) the portrait's head rotation
    scale: float  # face height in canvas pixels
    translation: np.ndarray  # (3,) canvas pixels of the canonical origin
    yaw: float
    pitch: float
    roll: float
    deltas: np.ndarray  # (len(EXPRESSION_FIELDS), NUM_LANDMARKS, 3) field offsets
    seal: np.ndarray  # (NUM_LANDMARKS, 3) the offset closing the photo's unexplained lip gap
    own_expression: np.ndarray  # (len(EXPRESSION_FIELDS),) the photo's own expression values


def angle_offsets(own_deg: float) -> np.ndarray:
    """Sample offsets (degrees, nonzero, multiples of ANGLE_STEP_DEG) from a portrait's own
    angle that cover every angle the motion space allows."""
    low = math.floor((-MAX_ROTATION_DEG - own_deg) / ANGLE_STEP_DEG)
    high = math.ceil((MAX_ROTATION_DEG - own_deg) / ANGLE_STEP_DEG)
    return np.array([k * ANGLE_STEP_DEG for k in range(low, high + 1) if k], np.float32)


def _head_anchors() -> np.ndarray:
    """Canonical positions (N, 3) of the hair and skull anchors, derived from the outline."""
    outline = canonical_face()[list(ls.FACE_OVAL)].astype(np.float64)
    outline = outline[outline[:, 1] < HEAD_ANCHOR_MAX_Y]
    pushed = []
    for factor in HEAD_ANCHOR_FACTORS:
        ring = outline.copy()
        ring[:, :2] *= factor
        ring[:, 2] += (factor - 1.0) * HEAD_ANCHOR_DEPTH
        pushed.append(ring)
    return np.vstack(pushed)


def _border_anchors(size: OutputSize) -> np.ndarray:
    """Fixed canvas-pixel points (N, 2) along the bottom border and the lower sides, where
    the body meets the frame edge; the top is left free for the head to move in."""
    xs = np.linspace(-0.5, size.width - 0.5, BORDER_ANCHORS_PER_SIDE)
    ys = np.linspace(SIDE_ANCHORS_FROM * size.height, size.height - 0.5,
                     BORDER_ANCHORS_PER_SIDE // 2)[:-1]
    bottom = np.stack([xs, np.full_like(xs, size.height - 0.5)], 1)
    left = np.stack([np.full_like(ys, -0.5), ys], 1)
    right = np.stack([np.full_like(ys, size.width - 0.5), ys], 1)
    return np.vstack([bottom, left, right])


def _project(rig_in: RigInput, rotation: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """Canvas (x, y) of canonical points under `rotation`, turning about PIVOT."""
    pivot_image = rig_in.scale * rig_in.rotation @ PIVOT
    world = rig_in.scale * (canonical - PIVOT) @ rotation.T + pivot_image + rig_in.translation
    return world[:, :2]


def _turn_displacements(rig_in: RigInput, canonical: np.ndarray, follow: np.ndarray,
                        axis: str, offsets: np.ndarray) -> list[np.ndarray]:
    """Per sample angle, the canvas displacement (N, 2) of canonical points when the head
    turns `axis` ("yaw" or "pitch") by that offset, scaled by how much each point follows."""
    canonical = canonical * np.array([1.0, 1.0, TURN_DEPTH_SCALE])
    here = _project(rig_in, rig_in.rotation, canonical)
    out = []
    for offset in offsets:
        angles = {"yaw": rig_in.yaw, "pitch": rig_in.pitch, "roll": rig_in.roll}
        angles[axis] += float(offset)
        turned = _project(rig_in, rotation_matrix(**angles), canonical)
        out.append((turned - here) * follow[:, None])
    return out


def _grid(size: OutputSize) -> np.ndarray:
    """Canvas-pixel centres (grid_h * grid_w, 2) of the low-resolution field's cells."""
    grid_w, grid_h = size.flow_grid
    xs = (np.arange(grid_w) + 0.5) * size.width / grid_w - 0.5
    ys = (np.arange(grid_h) + 0.5) * size.height / grid_h - 0.5
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def build_rig(rig_in: RigInput, size: OutputSize) -> Rig:
    """The rig of one portrait (as `rig_in` describes it) for one output size."""
    head_canonical = _head_anchors()
    body = np.array(BODY_ANCHORS)
    moving_canonical = np.vstack([rig_in.canonical, head_canonical, body[:, :3]])
    follow = np.concatenate([np.ones(NUM_LANDMARKS + len(head_canonical)), body[:, 3]])
    moving = np.vstack([rig_in.landmarks[:, :2],
                        _project(rig_in, rig_in.rotation, moving_canonical[NUM_LANDMARKS:])])
    border = _border_anchors(size)
    points = np.vstack([moving, border])

    def on_canvas(delta: np.ndarray) -> np.ndarray:
        return np.vstack([rig_in.scale * (delta @ rig_in.rotation.T)[:, :2],
                          np.zeros((len(points) - NUM_LANDMARKS, 2))])

    expression = [on_canvas(delta) * (name not in DRAWN_NOT_WARPED)
                  for name, delta in zip(EXPRESSION_FIELDS, rig_in.deltas)]
    yaw_offsets = angle_offsets(rig_in.yaw)
    pitch_offsets = angle_offsets(rig_in.pitch)
    padding = np.zeros((len(border), 2))
    turns = [
        np.vstack([d, padding])
        for axis, offsets in (("yaw", yaw_offsets), ("pitch", pitch_offsets))
        for d in _turn_displacements(rig_in, moving_canonical, follow, axis, offsets)
    ]
    centre = _project(rig_in, rig_in.rotation, PIVOT[None])[0]
    weight = np.concatenate([follow, np.zeros(len(border))])[:, None]
    relative = points - centre
    similarity = [
        weight * relative,
        weight * np.stack([-relative[:, 1], relative[:, 0]], 1),
        weight * np.array([rig_in.scale, 0.0]),
        weight * np.array([0.0, rig_in.scale]),
    ]
    displacements = np.stack(expression + turns + [on_canvas(rig_in.seal)] + similarity)  # (K, N, 2)

    grid_w, grid_h = size.flow_grid
    unit = rig_in.scale
    values = displacements.transpose(1, 0, 2).reshape(len(points), -1) / unit
    smoothing = np.full(len(points), SMOOTHING)
    smoothing[list(PRECISE_LANDMARKS)] = PRECISE_SMOOTHING
    dense = thin_plate((points - centre) / unit, values, (_grid(size) - centre) / unit, smoothing)
    count = len(displacements)
    bases = (dense * unit).reshape(grid_h, grid_w, count, 2).transpose(2, 3, 0, 1)
    cell = (size.width / grid_w, size.height / grid_h)
    first_turn = len(expression)
    neutral_face = np.tensordot(-rig_in.own_expression, bases[:first_turn], 1)
    for k in range(first_turn, first_turn + len(turns)):
        bases[k] = unfold(bases[k], cell, neutral_face)
    mouth = list(ls.MOUTH_TRACKED)
    eyes = [i for eye in EYE_LANDMARKS for i in eye]
    return Rig(
        bases=np.ascontiguousarray(bases, np.float32),
        mouth_points=points[mouth].astype(np.float32),
        mouth_deltas=displacements[:, mouth].astype(np.float32),
        eye_points=points[eyes].astype(np.float32),
        eye_deltas=displacements[:, eyes].astype(np.float32),
        yaw_offsets=yaw_offsets,
        pitch_offsets=pitch_offsets,
        centre=centre.astype(np.float32),
        face_px=float(rig_in.scale),
    )


def basis_count(rig: Rig) -> int:
    """How many coefficients a frame of this rig takes."""
    return (len(EXPRESSION_FIELDS) + len(rig.yaw_offsets) + len(rig.pitch_offsets) + SEAL_BASES
            + SIMILARITY_BASES)
