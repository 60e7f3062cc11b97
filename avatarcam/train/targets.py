"""The full motion target for one item at 25 fps: mouth from phones, head and brows from
prosody, eyelids from blinks, plus a voice-activity label, all within the motion space."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatarcam.constants import MOTION_FPS, SAMPLES_PER_MOTION_FRAME
from avatarcam.motion.space import MotionTrack, clamp, index_of, neutral
from avatarcam.train.blinks import Blink, eyelid_track, schedule
from avatarcam.train.head_motion import head_motion
from avatarcam.train.phonemes import SILENCE, Phone
from avatarcam.train.prosody import measure
from avatarcam.train.visemes import MOUTH_FIELDS, mouth_targets

SHORT_PAUSE_S = 0.3  # pauses shorter than this inside speech still count as speaking


@dataclass(frozen=True)
class Targets:
    """An item's motion track, its per-frame VAD label (1 = speech) and its blinks."""

    track: MotionTrack
    vad: npt.NDArray[np.float32]
    blinks: tuple[Blink, ...]


def frame_count(samples: int) -> int:
    """Motion frames for `samples` of 16 kHz audio (the last partial frame dropped)."""
    return samples // SAMPLES_PER_MOTION_FRAME


def speech_frames(phones: Sequence[Phone], count: int) -> npt.NDArray[np.bool_]:
    """True at frames inside speech, bridging pauses shorter than `SHORT_PAUSE_S`."""
    times = np.arange(count) / MOTION_FPS
    speech = np.zeros(count, dtype=bool)
    for phone in phones:
        if phone.name != SILENCE or phone.end - phone.start < SHORT_PAUSE_S:
            speech |= (times >= phone.start) & (times < phone.end)
    first, last = np.flatnonzero(speech)[[0, -1]] if speech.any() else (0, -1)
    speech[:first] = False
    speech[last + 1:] = False
    return speech


def phrase_ends(speech: npt.NDArray[np.bool_]) -> list[float]:
    """Times (s) where speech stops."""
    return [float(i + 1) / MOTION_FPS for i in np.flatnonzero(speech[:-1] & ~speech[1:])]


def make_targets(
    samples: npt.NDArray[np.float32], phones: Sequence[Phone], rng: np.random.Generator
) -> Targets:
    """Targets for clean speech `samples` whose `phones` cover it end to end."""
    count = frame_count(samples.size)
    times = np.arange(count) / MOTION_FPS
    frames = neutral(count)
    mouth = mouth_targets(phones, times)
    for column, name in enumerate(MOUTH_FIELDS):
        frames[:, index_of(name)] = mouth[:, column]
    speech = speech_frames(phones, count)
    head = head_motion(measure(samples, count), speech, rng)
    for name in ("yaw", "pitch", "roll", "tx", "ty", "scale", "brow_up"):
        frames[:, index_of(name)] = getattr(head, name)
    blinks = tuple(schedule(count / MOTION_FPS, phrase_ends(speech), rng))
    eyelids = eyelid_track(blinks, count)
    frames[:, index_of("blink_l")] = eyelids
    frames[:, index_of("blink_r")] = eyelids
    return Targets(MotionTrack.at_fps(clamp(frames), MOTION_FPS), speech.astype(np.float32), blinks)
