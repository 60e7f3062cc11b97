"""Eye blinks at a human rate (about 15 a minute), more likely just after a phrase ends,
each a fast close and slower reopening lasting 100–300 ms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatarcam.constants import MOTION_FPS

BASE_INTERVAL_GAMMA = (2.0, 2.2)  # shape, scale (s) of the gaps between spontaneous blinks
REFRACTORY_S = 1.0  # no blink sooner than this after another
PHRASE_END_CHANCE = 0.5  # chance of a blink just after a phrase ends
PHRASE_END_DELAY_S = (0.1, 0.4)
DURATION_S = (0.1, 0.3)
CLOSING_SHARE = 1.0 / 3.0  # eyelids close faster than they open


@dataclass(frozen=True)
class Blink:
    """One blink: the eyes are fully closed at `peak` seconds; it lasts `duration` seconds."""

    peak: float
    duration: float


def schedule(duration: float, phrase_ends: Sequence[float], rng: np.random.Generator) -> list[Blink]:
    """Blinks over `duration` seconds: spontaneous ones plus some right after `phrase_ends`."""
    times: list[float] = []
    t = rng.uniform(0.0, REFRACTORY_S)
    while t < duration:
        times.append(t)
        t += REFRACTORY_S + rng.gamma(*BASE_INTERVAL_GAMMA)
    for end in phrase_ends:
        candidate = end + rng.uniform(*PHRASE_END_DELAY_S)
        lucky = rng.uniform() < PHRASE_END_CHANCE
        if lucky and candidate < duration and all(abs(candidate - other) >= REFRACTORY_S for other in times):
            times.append(candidate)
    # Peaks fall on frame times so every blink reaches full closure in the 25 fps targets.
    peaks = sorted({round(peak * MOTION_FPS) / MOTION_FPS for peak in times})
    return [Blink(peak, rng.uniform(*DURATION_S)) for peak in peaks]


def eyelid_track(blinks: Sequence[Blink], count: int) -> npt.NDArray[np.float32]:
    """Eyelid closure 0 … 1 at frames 0..`count`-1."""
    t = np.arange(count) / MOTION_FPS
    closure = np.zeros(count)
    for blink in blinks:
        closing = CLOSING_SHARE * blink.duration
        opening = blink.duration - closing
        rel = t - blink.peak
        shape = np.where(
            rel < 0.0,
            0.5 * (1.0 + np.cos(np.pi * np.clip(rel / closing, -1.0, 0.0))),
            0.5 * (1.0 + np.cos(np.pi * np.clip(rel / opening, 0.0, 1.0))),
        )
        closure = np.maximum(closure, shape)
    return closure.astype(np.float32)
