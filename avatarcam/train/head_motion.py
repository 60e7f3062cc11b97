"""Head motion and brow raises that follow the voice: the chin rises with pitch, emphasis
brings small nods and turns, and slow drift and breathing keep the head alive in pauses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter1d

from avatarcam.constants import MOTION_FPS
from avatarcam.train.prosody import Prosody

Track = npt.NDArray[np.float32]

PITCH_PER_SEMITONE_Z = 1.5  # degrees of chin raise per standard deviation of F0
PITCH_Z_LIMIT = 2.0  # F0 excursions beyond this (often octave errors) move the head no further
NOD_DEG = 2.5  # nod depth on a full emphasis (loudness rising above its slow average)
EMPHASIS_FULL = 0.15  # loudness rise (0..1 units) that counts as a full emphasis
TURN_DEG = 3.0  # yaw toward a side while speaking loudly
TILT_DEG = 1.2  # roll with F0
DRIFT_DEG = {"yaw": 3.0, "pitch": 1.5, "roll": 1.0}  # slow sway amplitude, speech or not
DRIFT_HZ = (0.03, 0.25)
DRIFT_PARTIALS = 3  # incommensurate sinusoids per axis, so the sway never visibly loops
BREATH_HZ = (0.2, 0.33)
BREATH_PITCH_DEG = 0.4
BREATH_SHIFT = 0.004  # face heights of vertical travel per breath
SHIFT_PER_YAW_DEG = 0.002  # face heights of sideways shift per degree of turn
SCALE_DRIFT = 0.01  # ln size ratio: leaning in and out a little
BROW_PER_Z = 0.2
BROW_MAX = 0.4
STYLE_RANGE = (0.6, 1.4)  # per-speaker head-motion expressiveness
LOUDNESS_SPAN_DB = 40.0  # loudness normalised over this many dB below the item's peak
SMOOTH_FAST_S = 0.08
SMOOTH_SLOW_S = 0.6


@dataclass(frozen=True)
class HeadMotion:
    """Per-frame head pose, head shift and brow raise for one item."""

    yaw: Track
    pitch: Track
    roll: Track
    tx: Track
    ty: Track
    scale: Track
    brow_up: Track


def _smooth(x: npt.NDArray[np.floating], seconds: float) -> npt.NDArray[np.float64]:
    """Gaussian smoothing with a standard deviation of `seconds`."""
    return gaussian_filter1d(np.asarray(x, dtype=np.float64), seconds * MOTION_FPS, mode="nearest")


def _pitch_z(f0_hz: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """F0 in standard deviations (of semitones) from the item's median; held over unvoiced gaps."""
    voiced = np.flatnonzero(f0_hz > 0)
    if voiced.size < 2:
        return np.zeros(f0_hz.size)
    semitones = 12.0 * np.log2(f0_hz[voiced] / np.median(f0_hz[voiced]))
    z = semitones / max(float(np.std(semitones)), 1.0)
    return np.clip(np.interp(np.arange(f0_hz.size), voiced, z), -PITCH_Z_LIMIT, PITCH_Z_LIMIT)


def _loudness(level_db: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Level as 0 (quiet) … 1 (the item's loudest)."""
    peak = float(np.percentile(level_db, 99))
    return np.clip((level_db - (peak - LOUDNESS_SPAN_DB)) / LOUDNESS_SPAN_DB, 0.0, 1.0)


def _drift(rng: np.random.Generator, count: int, amplitude: float) -> npt.NDArray[np.float64]:
    """Slow sway: a sum of sinusoids with random frequencies and phases."""
    t = np.arange(count) / MOTION_FPS
    freqs = rng.uniform(*DRIFT_HZ, DRIFT_PARTIALS)
    phases = rng.uniform(0.0, 2.0 * np.pi, DRIFT_PARTIALS)
    weights = rng.uniform(0.5, 1.0, DRIFT_PARTIALS)
    waves = np.sin(2.0 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])
    return amplitude * (weights @ waves) / weights.sum()


def head_motion(prosody: Prosody, speech: npt.NDArray[np.bool_], rng: np.random.Generator) -> HeadMotion:
    """Head and brow tracks for frames where `speech` marks speaking, from the voice's prosody."""
    count = speech.size
    style = rng.uniform(*STYLE_RANGE)
    side, tilt_side = rng.choice((-1.0, 1.0), 2)
    speaking = _smooth(speech.astype(np.float64), SMOOTH_FAST_S)
    pitch_z = _smooth(_pitch_z(prosody.f0_hz), SMOOTH_FAST_S) * speaking
    loud = _loudness(prosody.level_db) * speaking
    emphasis = _smooth(loud, SMOOTH_FAST_S) - _smooth(loud, SMOOTH_SLOW_S)
    breath = np.sin(2.0 * np.pi * rng.uniform(*BREATH_HZ) * np.arange(count) / MOTION_FPS
                    + rng.uniform(0.0, 2.0 * np.pi))
    yaw = style * (TURN_DEG * side * _smooth(loud, SMOOTH_SLOW_S)) + _drift(rng, count, DRIFT_DEG["yaw"])
    nod = NOD_DEG * np.clip(emphasis / EMPHASIS_FULL, -1.0, 1.0)
    pitch = (style * (PITCH_PER_SEMITONE_Z * pitch_z - nod) + _drift(rng, count, DRIFT_DEG["pitch"])
             + BREATH_PITCH_DEG * breath)
    roll = style * TILT_DEG * tilt_side * pitch_z + _drift(rng, count, DRIFT_DEG["roll"])
    scale = _drift(rng, count, SCALE_DRIFT)
    brow = np.clip(BROW_PER_Z * style * np.maximum(pitch_z, 0.0), 0.0, BROW_MAX)
    return HeadMotion(
        yaw=_f32(yaw), pitch=_f32(pitch), roll=_f32(roll), tx=_f32(SHIFT_PER_YAW_DEG * yaw),
        ty=_f32(BREATH_SHIFT * breath), scale=_f32(scale), brow_up=_f32(brow),
    )


def _f32(x: npt.NDArray[np.floating]) -> Track:
    """A track as float32, the motion space's type."""
    return np.asarray(x, dtype=np.float32)
