"""The silence gate: the mouth closes within 200 ms of VAD silence and opens with speech."""

from __future__ import annotations

import numpy as np

from avatarcam.constants import MOTION_FPS
from avatarcam.motion.silence_gate import SilenceGate
from avatarcam.motion.space import from_dict, index_of

JAW = index_of("jaw_open")


def test_jaw_closes_within_200_ms_of_silence_and_reopens_with_speech() -> None:
    gate = SilenceGate()
    open_mouth = from_dict({"jaw_open": 0.5, "smile": 0.4})
    assert gate.apply(open_mouth, True)[JAW] == 0.5
    silent = [gate.apply(open_mouth, False)[JAW] for _ in range(int(0.4 * MOTION_FPS))]
    assert silent[0] == 0.5  # a single silent frame (a VAD flicker) changes nothing
    assert all(np.diff(silent) <= 0.0)  # eases shut, never back open
    assert silent[int(0.2 * MOTION_FPS) - 1] == 0.0 and silent[-1] == 0.0
    assert gate.apply(open_mouth, True)[JAW] == 0.5


def test_gate_touches_only_the_jaw() -> None:
    gate = SilenceGate()
    face = from_dict({"jaw_open": 0.5, "smile": 0.4, "yaw": 5.0})
    for _ in range(10):
        closed = gate.apply(face, False)
    changed = np.flatnonzero(closed != face)
    assert changed.tolist() == [JAW] and face[JAW] == 0.5  # the input is not modified
