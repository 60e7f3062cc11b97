"""Thin-plate spline interpolation of values given at scattered 2D points.

The warp rig uses it once per portrait to spread control-point displacements over a dense
grid: the smoothest surface through the points, so skin and hair bend without creases.
"""

from __future__ import annotations

import numpy as np

EVAL_CHUNK = 4096  # grid points per kernel block: bounds memory at ~20 MB per block


def _kernel(distance_sq: np.ndarray) -> np.ndarray:
    """The thin-plate radial function r² log r, written in r² (0 at r = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(distance_sq > 0.0, 0.5 * distance_sq * np.log(distance_sq), 0.0)


def _pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances (len(a), len(b)) between two point sets."""
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)


def _affine_terms(points: np.ndarray) -> np.ndarray:
    """[1, x, y] per point: the spline's affine part."""
    return np.hstack([np.ones((len(points), 1)), points])


def thin_plate(points: np.ndarray, values: np.ndarray, query: np.ndarray,
               smoothing: float | np.ndarray) -> np.ndarray:
    """Values (len(query), C) of the thin-plate splines through `values` (N, C) at
    `points` (N, 2), evaluated at `query` (M, 2).

    `smoothing` (in the points' units squared; one value, or one per point) lets the
    surface pass near rather than through points, which keeps nearly coincident points
    with different values from making it ring.
    """
    count = len(points)
    system = np.zeros((count + 3, count + 3))
    system[:count, :count] = _kernel(_pairwise_sq(points, points)) + np.diag(np.broadcast_to(smoothing, (count,)))
    affine = _affine_terms(points)
    system[:count, count:] = affine
    system[count:, :count] = affine.T
    rhs = np.vstack([values, np.zeros((3, values.shape[1]))])
    coefficients = np.linalg.solve(system, rhs)
    out = np.empty((len(query), values.shape[1]))
    for start in range(0, len(query), EVAL_CHUNK):
        block = query[start:start + EVAL_CHUNK]
        out[start:start + EVAL_CHUNK] = (
            _kernel(_pairwise_sq(block, points)) @ coefficients[:count]
            + _affine_terms(block) @ coefficients[count:]
        )
    return out
