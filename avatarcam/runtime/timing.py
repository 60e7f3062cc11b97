"""Summaries of measured durations, shared by every benchmark and the engine's stats."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile_summary(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """p50, p95, max and mean of `values` times `scale`, rounded for printing."""
    arr = np.asarray(values, dtype=np.float64) * scale
    if arr.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "mean": float("nan")}
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
        "mean": round(float(arr.mean()), 3),
    }
