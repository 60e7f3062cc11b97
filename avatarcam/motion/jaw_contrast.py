"""Jaw contrast: a causal lead on jaw_open that gives back the syllable rhythm the model's
mean blurs.

The stream samples the motion model at temperature 0, its conditional mean. Where the audio
leaves a syllable's timing uncertain, the mean averages neighbouring jaw cycles into a
shallow wave: the mouth moves, but a viewer no longer sees it open once per syllable. This
layer adds a share of each frame's jaw change to the frame, `jaw + gain · (jaw − previous
jaw)`, so every rise and fall shows more while a steady jaw stays where it is (a mouth shut
in silence stays shut). It reads only frames already made, so it adds no delay, and it acts
on the emitted frames only, never on the model's context.

The gain was chosen on a tuning corpus apart from the evaluation sets (`models/MODEL_CARD.md`,
"Session 10"): the largest tried that costs at most 0.01 of jaw correlation there.
"""

from __future__ import annotations

import numpy as np

from avatarcam.motion.space import Vector, clamp, index_of

JAW = index_of("jaw_open")


class JawContrast:
    """Per-frame jaw contrast for one stream; `gain` 0 leaves frames as they are."""

    def __init__(self, gain: float) -> None:
        if gain < 0.0:
            raise ValueError(f"jaw contrast must be ≥ 0, got {gain}")
        self.gain = gain
        self._previous: float | None = None

    def apply(self, vector: Vector) -> Vector:
        """`vector` with its jaw_open change since the previous frame amplified (a copy)."""
        jaw = float(vector[JAW])
        out = self.lead(vector, jaw if self._previous is None else self._previous)
        self._previous = jaw
        return out

    def lead(self, vector: Vector, previous_jaw: float) -> Vector:
        """`vector` with its jaw_open change from `previous_jaw` (one frame period before)
        amplified, leaving the stream's state alone (a copy)."""
        out = np.array(vector, dtype=np.float32, copy=True)
        out[JAW] = out[JAW] + self.gain * (out[JAW] - previous_jaw)
        return clamp(out)
