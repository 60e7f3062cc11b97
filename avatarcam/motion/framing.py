"""Which audio belongs to which motion frame, defined once for training and streaming.

Motion frame k spans samples [640k, 640k + 640) of the 16 kHz stream. It takes four
log-mel windows, by default the ones that end inside that span (so its audio is complete
when the span is; a model's `feature_lag` can start them earlier), and the live VAD state
as it stood when the last of those windows ended. Training builds these
per-frame arrays from whole files, the streamer from features as they arrive; both go
through the functions here so the model sees the same framing in both.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from avatarcam.audio.vad import StreamingVad, VadConfig
from avatarcam.constants import (
    FEATURES_PER_MOTION_FRAME,
    HOP_LENGTH,
    N_MELS,
    SAMPLE_RATE,
    WIN_LENGTH,
)
from avatarcam.motion.model import DEFAULT_FEATURE_LAG, FRAME_FEATURES, SILENCE_FEATURE

Floats = npt.NDArray[np.float32]


def first_feature(frame: int, feature_lag: int = DEFAULT_FEATURE_LAG) -> int:
    """Index of the first log-mel window of motion frame `frame` (negative at the start)."""
    return FEATURES_PER_MOTION_FRAME * frame - feature_lag


def audio_end_sample(frame: int, feature_lag: int = DEFAULT_FEATURE_LAG) -> int:
    """Sample index just after the last log-mel window of motion frame `frame`."""
    last = first_feature(frame, feature_lag) + FEATURES_PER_MOTION_FRAME - 1
    return last * HOP_LENGTH + WIN_LENGTH


def audio_end_to_frame_instant_s(feature_lag: int = DEFAULT_FEATURE_LAG) -> float:
    """From the end of a frame's audio back to the instant the frame depicts (the start of
    its span, where its training target is sampled): a frame's time stamp is its audio's
    end plus this (negative: the audio runs past the instant)."""
    return -audio_end_sample(0, feature_lag) / SAMPLE_RATE


def silence_features(count: int) -> Floats:
    """`count` log-mel frames of digital silence, used to pad before the stream starts."""
    return np.full((count, N_MELS), SILENCE_FEATURE, dtype=np.float32)


def frame_features(mel: Floats, frames: int, feature_lag: int = DEFAULT_FEATURE_LAG) -> Floats:
    """Per-motion-frame features (frames, FRAME_FEATURES) from log-mel windows 0, 1, …;
    windows before the start and after the end of `mel` read as silence."""
    needed = FEATURES_PER_MOTION_FRAME * frames
    padded = np.concatenate((silence_features(feature_lag), np.asarray(mel, np.float32)))
    if len(padded) < needed:
        padded = np.concatenate((padded, silence_features(needed - len(padded))))
    return padded[:needed].reshape(frames, FRAME_FEATURES)


def frame_vad(verdict_ends: npt.ArrayLike, states: npt.ArrayLike, frame_ends: npt.ArrayLike) -> Floats:
    """Per frame, the live VAD state (1 speech, 0 silence) of the latest verdict ending no
    later than the frame's audio end; 0 before the first verdict. All in one time unit."""
    ends = np.asarray(verdict_ends, dtype=np.float64)
    speech = np.asarray(states, dtype=np.float32)
    latest = np.searchsorted(ends, np.asarray(frame_ends, dtype=np.float64), side="right") - 1
    padded = np.concatenate(([0.0], speech))  # index 0: the state before any verdict
    return padded[latest + 1].astype(np.float32)


def file_vad(samples: Floats, frames: int, feature_lag: int = DEFAULT_FEATURE_LAG,
             config: VadConfig | None = None) -> Floats:
    """The live VAD state per motion frame for a whole 16 kHz signal, as the streaming VAD
    would have reported it while the signal was being captured."""
    vad = StreamingVad(config or VadConfig())
    verdicts = vad.process(np.asarray(samples, dtype=np.float32))
    frame_length = vad.config.frame_length
    verdict_ends = (np.arange(len(verdicts)) + 1) * frame_length
    frame_ends = [audio_end_sample(k, feature_lag) for k in range(frames)]
    return frame_vad(verdict_ends, [v.is_speech for v in verdicts], frame_ends)
