"""The expression controls of a running avatar: which preset is active, eased in over its
transition time, plus the toggles (mute, freeze, look at camera).

Hotkeys change it from pynput's thread; the engine reads it from its own threads, so every
method takes the lock. What the engine reads is a full motion-space target and a weight per
field (0: the motion model decides, 1: the field follows the target), the form the motion
streamer is conditioned on.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from avatarcam.control.presets import Preset
from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import NUM_FIELDS, index_of

TOGGLES = ("mute", "freeze", "look_at_camera")
LOOK_FIELDS = {"gaze_x": 1.0, "gaze_y": 1.0, "yaw": 0.7, "pitch": 0.7}  # field -> weight; target 0
LOOK_TRANSITION_S = 0.3
WEIGHT_FLOOR = 1e-6  # below this a field's target is irrelevant (weight ~ 0)


class UnknownActionError(AvatarcamError):
    """A hotkey binding names an action that does not exist."""


@dataclass(frozen=True)
class ControlState:
    """What the controls say at one instant."""

    target: np.ndarray  # (NUM_FIELDS,) values the weighted fields move toward
    weight: np.ndarray  # (NUM_FIELDS,) 0 … 1 per field
    preset: str | None  # the active (or incoming) preset
    muted: bool  # the avatar idles whatever the microphone hears
    frozen: bool  # the picture is held, with a visible mark
    look_at_camera: bool


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class _Pose:
    """A weighted target kept as (weight·target, weight), which eases without jumps even
    where a field's weight starts from 0."""

    weighted: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, preset: Preset | None) -> _Pose:
        weighted, weight = np.zeros(NUM_FIELDS), np.zeros(NUM_FIELDS)
        if preset is not None:
            for field, value in preset.values.items():
                weight[index_of(field)] = preset.strength
                weighted[index_of(field)] = preset.strength * value
        return cls(weighted, weight)

    def towards(self, other: _Pose, share: float) -> _Pose:
        return _Pose(self.weighted + share * (other.weighted - self.weighted),
                     self.weight + share * (other.weight - self.weight))


def _look_pose() -> _Pose:
    weight = np.zeros(NUM_FIELDS)
    for field, w in LOOK_FIELDS.items():
        weight[index_of(field)] = w
    return _Pose(np.zeros(NUM_FIELDS), weight)


class PresetController:
    """Active preset and toggles, eased over time; safe to use from several threads."""

    def __init__(self, presets: Mapping[str, Preset]) -> None:
        self.presets = dict(presets)
        self._lock = threading.Lock()
        self._from = self._to = _Pose.of(None)
        self._since, self._duration = 0.0, 0.0
        self._name: str | None = None
        self._flags = dict.fromkeys(TOGGLES, False)
        # look-at-camera eases from `_look_from` (its share when last toggled) since `_look_since`
        self._look_from, self._look_since = 0.0, 0.0

    def check_action(self, action: str) -> None:
        """Raise UnknownActionError with one sentence if `action` cannot be performed."""
        kind, _, name = action.partition(":")
        if kind == "preset" and name in self.presets or kind == "toggle" and name in TOGGLES:
            return
        raise UnknownActionError(
            f"{action!r} is not an action; use preset:NAME (one of {', '.join(self.presets)}) or "
            f"toggle:NAME (one of {', '.join(TOGGLES)}).")

    def perform(self, action: str, now: float) -> None:
        """Do `action` ("preset:smile", "toggle:mute", …) at time `now`."""
        self.check_action(action)
        kind, _, name = action.partition(":")
        if kind == "preset":
            self.select(name, now)
        else:
            self.toggle(name, now)

    def select(self, name: str, now: float) -> None:
        """Start easing toward preset `name` from wherever the face is now."""
        preset = self.presets[name]
        with self._lock:
            self._from = self._eased(now)
            self._to = _Pose.of(preset)
            self._since, self._duration, self._name = now, preset.transition_s, name

    def toggle(self, flag: str, now: float) -> None:
        """Flip one of TOGGLES; look-at-camera eases from wherever it is now."""
        with self._lock:
            if flag == "look_at_camera":
                self._look_from, self._look_since = self._look_share(now), now
            self._flags[flag] = not self._flags[flag]

    def _eased(self, now: float) -> _Pose:
        share = 1.0 if self._duration <= 0 else _smoothstep((now - self._since) / self._duration)
        return self._from.towards(self._to, share)

    def _look_share(self, now: float) -> float:
        """How far look-at-camera is eased in at `now`: 0 off … 1 fully on."""
        goal = 1.0 if self._flags["look_at_camera"] else 0.0
        share = _smoothstep((now - self._look_since) / LOOK_TRANSITION_S)
        return self._look_from + share * (goal - self._look_from)

    def state(self, now: float) -> ControlState:
        """The controls at time `now`."""
        with self._lock:
            pose = self._eased(now)
            look_share = self._look_share(now)
            flags, name = dict(self._flags), self._name
        look = _look_pose()
        look_weight = look_share * look.weight
        weight = 1.0 - (1.0 - pose.weight) * (1.0 - look_weight)
        weighted = pose.weighted * (1.0 - look_weight)  # the look target is 0
        target = np.where(weight > WEIGHT_FLOOR, weighted / np.maximum(weight, WEIGHT_FLOOR), 0.0)
        return ControlState(target.astype(np.float32), np.clip(weight, 0.0, 1.0).astype(np.float32),
                            name, flags["mute"], flags["freeze"], flags["look_at_camera"])
