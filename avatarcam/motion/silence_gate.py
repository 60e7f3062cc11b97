"""Closes the mouth once the voice activity detector has heard silence for a moment.

The model is conditioned on the live VAD state, but over long silences its own rollout can
drift: it feeds on its past frames, and a jaw left a little open stays open. The VAD is the
authority on whether anyone is speaking, so after `CLOSE_AFTER_S` of silence the gate eases
jaw_open to 0 over `CLOSE_RAMP_S`; the first frame with speech lifts it at once. The
streamer feeds the gated frames back as the model's context, which is what training showed
the model (closed mouths in pauses), so the rollout stays closed instead of drifting.
"""

from __future__ import annotations

import numpy as np

from avatarcam.constants import MOTION_FPS
from avatarcam.motion.space import Vector, index_of

CLOSE_AFTER_S = 0.08  # silence the gate waits for before it starts closing
CLOSE_RAMP_S = 0.12  # from open to closed: shut 200 ms after the VAD went silent
_JAW = index_of("jaw_open")


class SilenceGate:
    """Per-frame jaw closing on VAD silence, for one stream."""

    def __init__(self) -> None:
        self._silent_frames = 0

    def apply(self, vector: Vector, speech: bool) -> Vector:
        """`vector` with jaw_open scaled down by how long the VAD has been silent."""
        self._silent_frames = 0 if speech else self._silent_frames + 1
        silent_s = self._silent_frames / MOTION_FPS
        openness = 1.0 - float(np.clip((silent_s - CLOSE_AFTER_S) / CLOSE_RAMP_S, 0.0, 1.0))
        if openness == 1.0:
            return vector
        gated = vector.copy()
        gated[_JAW] *= openness
        return gated
