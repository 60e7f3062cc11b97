"""Idle liveliness: blinks, breathing, sway and a head leash laid over the motion model's frames.

The motion model is sampled at temperature 0, its conditional mean. Blinks, whose timing
audio does not predict, average away, and over minutes of silence the head drifts. This
layer adds what the mean leaves out, one frame at a time after the model (never into its
context, which stays the raw model output):

- blinks from a seeded event process (a refractory gap plus a gamma-distributed wait), with
  an extra chance shortly after speech stops, as people tend to blink at phrase ends;
- a leash that subtracts a slow low-pass of the head's deviation from what the preset asks,
  so drift goes while fast nods and a preset's pose pass;
- breathing (quasi-periodic pitch and vertical shift, each breath's period and depth drawn
  afresh) and slow sway (smoothed noise, which never repeats) on the head rotations.

Each frame costs O(1) and the output is a function of the seed and the frames given.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from avatarcam.constants import MOTION_FPS
from avatarcam.motion.quality import BLINK_EDGE
from avatarcam.motion.space import NUM_FIELDS, Vector, clamp, field_mask, index_of

# Blinks
BLINK_REFRACTORY_S = 1.2  # no blink starts sooner than this after the previous one began
BLINK_WAIT_SHAPE = 2.0  # gamma shape of the wait after the refractory gap (1 would be memoryless)
BLINK_WAIT_MEAN_S = 3.0  # mean of that wait: a blink every 4.2 s on average, about 14 a minute
BLINK_DURATION_S = (0.12, 0.26)  # time above BLINK_EDGE; 25 fps sampling measures up to 0.04 s more, still ≤ 0.3 s
BLINK_HOLD_S = 0.04  # lids fully shut this long at the peak, so a 25 fps frame always shows 1.0
BLINK_CLOSE_SHARE = 0.35  # share of the ramps spent closing: a fast close, a slower open
SPEECH_END_BLINK_CHANCE = 0.5  # chance of an extra blink when speech stops
SPEECH_END_BLINK_DELAY_S = (0.1, 0.3)  # how long after speech stops that blink begins

# Head leash
LEASH_FIELDS = ("yaw", "pitch", "roll", "tx", "ty")  # head pose fields held near the preset
LEASH_TIME_S = 3.0  # time constant of the drift taken out; faster head motion passes

# Breathing
BREATH_PERIOD_S = (3.5, 5.5)  # range each breath's period is drawn from
BREATH_PITCH_DEG = (0.3, 0.5)  # range of each breath's pitch amplitude; the chin rises on inhale
BREATH_TY_PER_DEG = 0.005  # face heights the head rises per degree of breathing pitch

# Sway
SWAY_FIELDS = ("yaw", "pitch", "roll")  # head rotations that wander
SWAY_STD_DEG = (0.8, 0.3, 0.6)  # standard deviation of the wander per field, in SWAY_FIELDS order
SWAY_TIME_S = 2.0  # time constant of both noise stages: the head wanders over about 6 … 20 s
SMOOTHING_VARIANCE_KEPT = 0.5  # a one-pole smoother halves the variance of noise of its own time constant

_LEASH = field_mask(LEASH_FIELDS)
_SWAY = field_mask(SWAY_FIELDS)
_EYES = field_mask(("blink_l", "blink_r"))
_PITCH, _TY = index_of("pitch"), index_of("ty")


def blink_closure(elapsed: float, duration: float) -> float:
    """Eyelid closure `elapsed` seconds into a blink that stays above BLINK_EDGE for
    `duration` seconds: a linear close, a hold at 1 (shut), a slower linear open.

    The ramps are sized from `duration` so the time above the edge, which is what
    `quality.blink_durations` measures, is the duration drawn."""
    ramps = (duration - BLINK_HOLD_S) / (1.0 - BLINK_EDGE)  # closing plus opening time, 0 … 1 … 0
    closing, opening = BLINK_CLOSE_SHARE * ramps, (1.0 - BLINK_CLOSE_SHARE) * ramps
    if elapsed < 0.0:
        return 0.0
    if elapsed < closing:
        return elapsed / closing
    into_opening = elapsed - closing - BLINK_HOLD_S
    return 1.0 if into_opening < 0.0 else max(0.0, 1.0 - into_opening / opening)


class _Blinks:
    """The blink event process and the eyelid closure it makes."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._start = -math.inf  # when the latest blink began
        self._duration = BLINK_DURATION_S[0]  # its time above BLINK_EDGE
        self._due: float | None = None  # when the next blink begins
        self._speaking = False

    def closure(self, time: float, speech: bool) -> float:
        """Closure at `time`; starts a blink at the first frame at or after one is due."""
        if self._due is None:
            self._due = time + self._wait()
        if self._speaking and not speech:
            self._due = self._after_speech(time, self._due)
        self._speaking = speech
        if time >= self._due:
            self._start, self._duration = time, float(self._rng.uniform(*BLINK_DURATION_S))
            self._due = time + self._wait()
        return self.closure_at(time)

    def closure_at(self, time: float) -> float:
        """Closure at `time` within the blink under way, starting none and changing nothing."""
        return blink_closure(time - self._start, self._duration)

    def _wait(self) -> float:
        """Seconds from one blink's start to the next's: a refractory gap plus a gamma wait."""
        return BLINK_REFRACTORY_S + float(self._rng.gamma(BLINK_WAIT_SHAPE, BLINK_WAIT_MEAN_S / BLINK_WAIT_SHAPE))

    def _after_speech(self, time: float, due: float) -> float:
        """When the next blink is due, speech having just stopped at `time`: by chance
        shortly after, unless that is within the refractory gap or `due` comes sooner."""
        if self._rng.random() >= SPEECH_END_BLINK_CHANCE:
            return due
        soon = time + float(self._rng.uniform(*SPEECH_END_BLINK_DELAY_S))
        return min(due, soon) if soon >= self._start + BLINK_REFRACTORY_S else due


class _Breathing:
    """A quasi-periodic breath: a sine whose period and depth are drawn anew each breath."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._phase = float(rng.random())  # fraction of the current breath done
        self._period, self._depth = self._draw()

    def _draw(self) -> tuple[float, float]:
        """One breath's period (s) and pitch amplitude (degrees)."""
        return float(self._rng.uniform(*BREATH_PERIOD_S)), float(self._rng.uniform(*BREATH_PITCH_DEG))

    def pitch(self, dt: float) -> float:
        """Breathing pitch in degrees after `dt` more seconds; a new breath starts at each
        zero crossing upward, so changing period and depth never makes a jump."""
        self._phase += dt / self._period
        while self._phase >= 1.0:
            self._phase -= 1.0
            self._period, self._depth = self._draw()
        return self._depth * math.sin(2.0 * math.pi * self._phase)


class _Sway:
    """Slow wander of the head rotations: noise through two one-pole stages.

    The first stage is an Ornstein-Uhlenbeck process, the second smooths it; being noise,
    the wander never repeats, so it cannot show as a loop."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._noise_std = np.array(SWAY_STD_DEG) / math.sqrt(SMOOTHING_VARIANCE_KEPT)
        self._noise = np.zeros(len(SWAY_FIELDS))
        self._smooth = np.zeros(len(SWAY_FIELDS))

    def offset(self, dt: float) -> npt.NDArray[np.float64]:
        """Degrees to add to SWAY_FIELDS after `dt` more seconds."""
        keep = math.exp(-dt / SWAY_TIME_S)
        shock = self._rng.standard_normal(len(SWAY_FIELDS)) * self._noise_std
        self._noise = keep * self._noise + math.sqrt(1.0 - keep * keep) * shock
        self._smooth = keep * self._smooth + (1.0 - keep) * self._noise
        return self._smooth


class _Leash:
    """Takes out the slow part of the head's deviation from the preset's pose."""

    def __init__(self) -> None:
        self._drift = np.zeros(len(LEASH_FIELDS))

    def apply(self, head: npt.NDArray[np.float32], anchor: npt.NDArray[np.float32], dt: float) -> npt.NDArray[np.float64]:
        """`head` (LEASH_FIELDS) less the low-pass of its deviation from `anchor`."""
        self._drift += (1.0 - math.exp(-dt / LEASH_TIME_S)) * (head - anchor - self._drift)
        return head - self._drift


class Liveliness:
    """Per-frame layer adding blinks, breathing and sway and leashing head drift, seeded.

    Give it every emitted frame in time order; it keeps its own state between frames."""

    def __init__(self, seed: int) -> None:
        blink_rng, breath_rng, sway_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
        self._blinks = _Blinks(blink_rng)
        self._breathing = _Breathing(breath_rng)
        self._sway = _Sway(sway_rng)
        self._leash = _Leash()
        self._last_time: float | None = None

    def apply(self, time: float, vector: npt.ArrayLike, speech: bool,
              preset_target: npt.ArrayLike, preset_weight: npt.ArrayLike) -> Vector:
        """The frame at `time` (seconds, increasing) made lively: `vector` is the model's
        (NUM_FIELDS,) output, `speech` the VAD state it was made with, and the preset's
        target and per-field weight say which head pose the leash holds. Clamped."""
        dt = self._step(time)
        out = np.array(vector, dtype=np.float32)
        if out.shape != (NUM_FIELDS,):
            raise ValueError(f"liveliness takes one frame of shape ({NUM_FIELDS},), got {out.shape}")
        anchor = (np.asarray(preset_weight, np.float32) * np.asarray(preset_target, np.float32))[_LEASH]
        out[_LEASH] = self._leash.apply(out[_LEASH], anchor, dt)
        breath = self._breathing.pitch(dt)
        out[_PITCH] += breath
        out[_TY] -= breath * BREATH_TY_PER_DEG  # ty > 0 is down: the head rises on inhale
        out[_SWAY] += self._sway.offset(dt)
        out[_EYES] = np.maximum(out[_EYES], self._blinks.closure(time, speech))
        return clamp(out)

    def eyelids_at(self, time: float) -> float:
        """The blink closure at `time` (after the latest frame given), changing nothing: for
        a frame shown between two frames of the stream."""
        return self._blinks.closure_at(time)

    def _step(self, time: float) -> float:
        """Seconds since the previous frame (one frame period for the first)."""
        dt = 1.0 / MOTION_FPS if self._last_time is None else time - self._last_time
        if not dt > 0.0:
            raise ValueError(f"frame times must increase; got {time} after {self._last_time}")
        self._last_time = time
        return dt
