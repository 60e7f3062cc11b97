"""The run-time motion path: audio features in, timestamped motion frames out, chunk by chunk.

Every time the front end has delivered the audio of `chunk_frames` more motion frames (plus
their lookahead), the streamer samples those frames with the denoiser, the frames it already
produced fixed as context, so chunks join without seams. The live VAD state is part of the
model's input, which is how it settles into idle motion on silence and back out of it.
Each frame is stamped with the capture-clock instant it depicts — the start of its 40 ms
span, the instant its training target was sampled at (`train/targets.py`) — so the engine
measures microphone-to-frame latency from the sound the face shows, not from a later one.
With `sub_steps`, shown-only frames 10–30 ms after each one follow it (`motion/sub_steps.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from avatarcam.audio.frontend import FrontendStep
from avatarcam.constants import FEATURES_PER_MOTION_FRAME, HOP_LENGTH, N_MELS, SAMPLE_RATE, exact_div
from avatarcam.errors import AvatarcamError
from avatarcam.motion.chunk_runner import ChunkRunner, open_chunk_runner
from avatarcam.motion.framing import audio_end_to_frame_instant_s, frame_vad, silence_features
from avatarcam.motion.jaw_contrast import JAW, JawContrast
from avatarcam.motion.liveliness import Liveliness
from avatarcam.motion.model import FRAME_FEATURES, MotionDenoiser, model_from_payload
from avatarcam.motion.sampler import check_steps, draw_noise
from avatarcam.motion.space import NUM_FIELDS, Vector, clamp, neutral
from avatarcam.motion.sub_steps import SUB_STEP_CHOICES, shifted_context, sub_step_vector

MODEL_FILE = "motion.pt"
LOW_LATENCY_MODEL_FILE = "motion-lookahead0.pt"  # shipped beside it: no lookahead, 40 ms sooner, weaker lips
FEATURE_PERIOD_S = HOP_LENGTH / SAMPLE_RATE


class MotionModelError(AvatarcamError):
    """The motion model's weights file is missing, unreadable or not a motion model."""


def default_model_path() -> Path:
    """The shipped weights: `models/motion.pt` at the root of the avatarcam checkout."""
    return Path(__file__).resolve().parents[2] / "models" / MODEL_FILE


def live_model_path(voice_delayed: bool) -> Path:
    """The shipped weights a live run uses when none are named. Heard live, the voice leads
    the picture by the whole latency, and viewers reject a lead over 90 ms (ITU-R BT.1359),
    so `motion-lookahead0.pt`, 40 ms sooner, is used. Delayed to match the lips, the voice
    no longer leads, and `motion.pt`, whose lookahead closes the lips better, is used."""
    return default_model_path() if voice_delayed else default_model_path().with_name(LOW_LATENCY_MODEL_FILE)


@dataclass(frozen=True, eq=False)
class LoadedMotionModel:
    """A denoiser ready for inference, with where it came from and its training record."""

    network: MotionDenoiser
    path: Path
    device: str
    info: dict[str, object] = field(default_factory=dict)


def load_motion_model(path: Path | None = None, device: str = "cpu") -> LoadedMotionModel:
    """Load motion weights (default: the shipped `models/motion.pt`) onto `device`."""
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise MotionModelError(
            f"The motion model {str(path)!r} does not exist; pass --model with a weights file "
            "or train one with `avatarcam train fit`."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network, info = model_from_payload(payload)
    except Exception as err:  # torch raises many types for a damaged or foreign file
        raise MotionModelError(
            f"The motion model {str(path)!r} is damaged or not an avatarcam motion model; "
            "train it again with `avatarcam train fit` or pass another --model."
        ) from err
    return LoadedMotionModel(network.to(device), path, device, info)


@dataclass(frozen=True)
class StreamConfig:
    """How the streamer trades delay, CPU and smoothness; frozen so a running stream keeps it."""

    chunk_frames: int = 1  # motion frames sampled per model call: more saves CPU, adds 40 ms each
    # further frames of audio a frame waits for (1 = 40 ms more); fixed by training, so
    # None takes the model's and a number only checks it
    lookahead_frames: int | None = None
    # Euler steps per chunk, 1 … 4: more cost CPU (about 2 ms each on one thread). With the
    # shipped weights two steps from the noise's mean (temperature 0) give the best lips per
    # millisecond; sampling (temperature > 0) adds variety but opens the mouth now and then in
    # silence (at 1: shut in 96 % of 60 s of room noise, against 100 % at 0).
    steps: int = 2
    temperature: float = 0.0  # scale of the starting noise: 0 = the most likely motion, 1 = sampled
    context_frames: int | None = None  # past frames fed back; None = the model's receptive field
    liveliness: bool = True  # blinks, breathing, sway and a head leash on the frames (motion/liveliness.py)
    jaw_contrast: float = 0.35  # share of each frame's jaw change added to it (motion/jaw_contrast.py); 0 = off
    # frames per 40 ms: above 1, shown-only frames between the stream's (motion/sub_steps.py),
    # for outputs whose ticks cannot each sit just after a 25 fps frame; 1, 2 or 4
    sub_steps: int = 1

    def __post_init__(self) -> None:
        check_steps(self.steps)
        if not 0.0 <= self.temperature <= 1.0:
            raise ValueError(f"temperature must lie in 0 … 1, got {self.temperature}")
        if self.chunk_frames < 1:
            raise ValueError(f"chunk_frames must be ≥ 1, got {self.chunk_frames}")
        if self.context_frames is not None and self.context_frames < 0:
            raise ValueError(f"context_frames must be ≥ 0, got {self.context_frames}")
        if self.sub_steps not in SUB_STEP_CHOICES:
            raise ValueError(f"sub_steps must be one of {SUB_STEP_CHOICES}, got {self.sub_steps}")


@dataclass(frozen=True)
class MotionFrame:
    """One motion frame as the renderer takes it."""

    time: float  # capture-clock instant the frame depicts: the start of its 40 ms span
    vector: Vector  # (NUM_FIELDS,) float32 motion, clamped to the fields' ranges
    speech: bool  # the live VAD state the frame was made with
    sub_step: bool = False  # between two frames of the stream, shown only (motion/sub_steps.py)


def _as_field_vector(values: npt.ArrayLike, name: str) -> Vector:
    """`values` as a finite (NUM_FIELDS,) float32 vector, else ValueError."""
    vector = np.asarray(values, dtype=np.float32)
    if vector.shape != (NUM_FIELDS,) or not np.all(np.isfinite(vector)):
        raise ValueError(f"a preset {name} must be {NUM_FIELDS} finite values, got shape {vector.shape}")
    return vector


class MotionStreamer:
    """Turns front-end steps into motion frames with the causal denoiser, chunk by chunk."""

    def __init__(self, model: LoadedMotionModel, config: StreamConfig = StreamConfig(), seed: int = 0,
                 graphs: Path | None = None) -> None:
        """`graphs`: a folder for exported chunk graphs; given, chunks run in ONNX Runtime on
        the CPU (the graph exported on first use), else in torch."""
        network = model.network
        self._lookahead = network.config.lookahead_frames
        if config.lookahead_frames not in (None, self._lookahead):
            raise ValueError(
                f"this model was trained with a lookahead of {network.config.lookahead_frames} "
                f"frame(s); the stream asks for {config.lookahead_frames}"
            )
        self.model, self.config = model, config
        self._context = network.config.context_frames if config.context_frames is None else config.context_frames
        self.runner: ChunkRunner = open_chunk_runner(network, model.path, model.device, config.steps,
                                                     config.chunk_frames, self._context, graphs)
        self._motion_mean = network.motion_mean.cpu().numpy()
        self._motion_std = network.motion_std.cpu().numpy()
        self._generator = torch.Generator().manual_seed(seed)
        self._sub_generator = torch.Generator().manual_seed(seed + 1)  # the stream's own noise stays as without
        self._lag = network.config.feature_lag
        self._to_instant_s = audio_end_to_frame_instant_s(self._lag)
        self._rows = silence_features(self._lag)  # log-mel rows from feature index -self._lag
        self._row_base = -self._lag  # feature index of self._rows[0]
        self._row_times = np.full(self._lag, np.nan)  # capture time after each row's window; pad: set with the first row
        self._vad_ends: list[float] = []
        self._vad_states: list[float] = []
        self._done = 0  # motion frames emitted so far
        self._history = np.repeat(self._normalise(neutral())[None], self._context, axis=0)
        self._preset = (np.zeros(NUM_FIELDS, np.float32), np.zeros(NUM_FIELDS, np.float32))  # target, weight
        self._liveliness = Liveliness(seed) if config.liveliness else None
        self._jaw_contrast = JawContrast(config.jaw_contrast)
        self._newest_shown: Vector | None = None  # the newest frame as emitted
        self._sub_done = (-1, 0)  # the frame and the sub-step after it made last
        self._sub_rows = exact_div(FEATURES_PER_MOTION_FRAME, config.sub_steps)  # log-mel rows per sub-step
        self._sub_stride = 1  # every this many of the config's sub-steps is made (`set_sub_steps`)

    @property
    def frames_emitted(self) -> int:
        """Motion frames produced so far."""
        return self._done

    def set_preset(self, target: npt.ArrayLike, weight: npt.ArrayLike) -> None:
        """Condition the chunks from the next one on: `target` values, per-field `weight`
        0 … 1 (0 leaves a field to the model). Easing between presets is the caller's."""
        target_v, weight_v = _as_field_vector(target, "target"), _as_field_vector(weight, "weight")
        if np.any(weight_v < 0.0) or np.any(weight_v > 1.0):
            raise ValueError("preset weights must lie in 0 … 1")
        self._preset = (target_v.copy(), weight_v.copy())

    def set_sub_steps(self, count: int) -> None:
        """From now on make `count` frames per 40 ms, a divisor of `config.sub_steps`: fewer
        when the machine has no time to spare for the shown-only ones (the stream's own
        frames are the same either way)."""
        if count < 1 or self.config.sub_steps % count:
            raise ValueError(f"sub-steps per frame must divide {self.config.sub_steps}, got {count}")
        self._sub_stride = self.config.sub_steps // count

    def push(self, step: FrontendStep) -> list[MotionFrame]:
        """Take one front-end step; return every motion frame its audio completed."""
        self._append(step.features, step.feature_times)
        self._vad_ends += [float(t) for t in step.vad_times]
        self._vad_states += [1.0 if v.is_speech else 0.0 for v in step.vad]
        return self._run(self._ready_frames(), whole_chunks=True) + self._sub_step_frames()

    def flush(self) -> list[MotionFrame]:
        """At the end of a stream: make the frames whose audio is complete, their
        lookahead read as silence."""
        last = self._ready_frames()
        pad = FEATURES_PER_MOTION_FRAME * self._lookahead
        last_time = float(self._row_times[-1])
        self._append(silence_features(pad), last_time + FEATURE_PERIOD_S * np.arange(1, pad + 1))
        return self._run(last, whole_chunks=False)

    def _append(self, features: np.ndarray, times: npt.ArrayLike) -> None:
        """Add log-mel rows and their capture times."""
        rows = np.asarray(features, dtype=np.float32).reshape(-1, N_MELS)
        stamps = np.asarray(times, dtype=np.float64)
        if len(stamps) and np.isnan(self._row_times).any():  # the silence before the stream: just before its first row
            pad = np.isnan(self._row_times)
            self._row_times[pad] = stamps[0] - FEATURE_PERIOD_S * np.arange(pad.sum(), 0, -1)
        self._rows = np.concatenate((self._rows, rows))
        self._row_times = np.concatenate((self._row_times, stamps))

    def _ready_frames(self) -> int:
        """How many motion frames have all their audio (not counting lookahead)."""
        heard = self._row_base + len(self._rows)  # log-mel rows of real audio so far
        return (heard + self._lag) // FEATURES_PER_MOTION_FRAME if heard > 0 else 0

    def _run(self, complete: int, whole_chunks: bool) -> list[MotionFrame]:
        """Sample chunks while their frames and lookahead are complete."""
        available = complete - self._lookahead if whole_chunks else complete
        frames: list[MotionFrame] = []
        while self._done < available:
            size = min(self.config.chunk_frames, available - self._done)
            if whole_chunks and size < self.config.chunk_frames:
                break
            frames += self._chunk(size)
        self._forget()
        return frames

    def _frame_audio(self, first: int, count: int, rows_early: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (count, FRAME_FEATURES), VAD (count,) and time stamps of frames
        first … first + count - 1, their windows `rows_early` log-mel rows earlier than
        the stream's; audio before the stream is silence."""
        start = first * FEATURES_PER_MOTION_FRAME - self._lag - rows_early - self._row_base
        stop = start + count * FEATURES_PER_MOTION_FRAME
        before = min(stop - start, max(0, -start))  # rows before the stream began
        rows = np.concatenate((silence_features(before), self._rows[start + before : stop]))
        row_times = np.concatenate((np.full(before, -np.inf), self._row_times[start + before : stop]))
        ends = row_times[FEATURES_PER_MOTION_FRAME - 1 :: FEATURES_PER_MOTION_FRAME]
        vad = frame_vad(self._vad_ends, self._vad_states, ends)
        return rows.reshape(count, FRAME_FEATURES), vad, ends + self._to_instant_s

    def _chunk(self, size: int) -> list[MotionFrame]:
        """Sample the next `size` frames with the past frames as context."""
        first = self._done - self._context
        features, vad, times = self._frame_audio(first, self._context + size + self._lookahead)
        noise = self._noise(size, self._generator)
        target, weight = self._preset
        generated = self.runner((self._history[None], noise, features[None], vad[None],
                                 target[None], weight[None]))
        vectors = clamp(generated[0] * self._motion_std + self._motion_mean)
        self._history = np.concatenate((self._history, self._normalise(vectors)))[len(vectors):]
        speech = vad[self._context:] > 0.5
        out = [self._frame(float(times[self._context + i]), vectors[i], bool(speech[i]))
               for i in range(size)]
        self._done += size
        self._newest_shown = out[-1].vector
        return out

    def _sub_step_frames(self) -> list[MotionFrame]:
        """The sub-steps after the newest frame whose audio and lookahead are in, each once,
        none once the next frame is made."""
        newest = self._done - 1
        if self._newest_shown is None or len(self._history) < 2:
            return []
        heard = self._row_base + len(self._rows)
        step = self._sub_done[1] + 1 if self._sub_done[0] == newest else 1
        frames = []
        while step < self.config.sub_steps:
            rows_early = (self.config.sub_steps - step) * self._sub_rows  # before where frame newest + 1 reads
            if heard < FEATURES_PER_MOTION_FRAME * (newest + 2 + self._lookahead) - self._lag - rows_early:
                break
            if step % self._sub_stride == 0:
                frames.append(self._sub_step(newest, step / self.config.sub_steps, rows_early))
            self._sub_done = (newest, step)
            step += 1
        return frames

    def _sub_step(self, newest: int, share: float, rows_early: int) -> MotionFrame:
        """The frame `share` of a frame period after frame `newest`."""
        features, vad, times = self._frame_audio(newest + 1 - self._context, self._context + 1 + self._lookahead,
                                                 rows_early=rows_early)
        noise = self._noise(1, self._sub_generator)
        target, weight = self._preset
        generated = self.runner((shifted_context(self._history, share)[None], noise, features[None], vad[None],
                                 target[None], weight[None]))
        raw = clamp(generated[0, 0] * self._motion_std + self._motion_mean)
        before, last = self._history[-2:] * self._motion_std + self._motion_mean  # raw frames newest - 1, newest
        time = float(times[self._context])
        eyelids = self._liveliness.eyelids_at(time) if self._liveliness is not None else None
        previous_jaw = float(share * last[JAW] + (1.0 - share) * before[JAW])  # 40 ms before the sub-step
        vector = sub_step_vector(raw, last, self._newest_shown, previous_jaw, self._jaw_contrast, eyelids)
        return MotionFrame(time, vector, bool(vad[self._context] > 0.5), sub_step=True)

    def _noise(self, frames: int, generator: torch.Generator) -> np.ndarray:
        """The flow's starting point for `frames` frames: zeros at temperature 0 (the most
        likely motion) without spending a draw, else scaled noise from `generator`."""
        if self.config.temperature == 0.0:
            return np.zeros((1, frames, NUM_FIELDS), np.float32)
        return self.config.temperature * draw_noise((1, frames, NUM_FIELDS), generator).numpy()

    def _normalise(self, vectors: np.ndarray) -> np.ndarray:
        """Motion units → the flow's unit-variance space (float32)."""
        return ((vectors - self._motion_mean) / self._motion_std).astype(np.float32)

    def _frame(self, time: float, vector: Vector, speech: bool) -> MotionFrame:
        """The emitted frame: the model's vector with jaw contrast and, when it is on, the
        liveliness layer."""
        vector = self._jaw_contrast.apply(vector)
        if self._liveliness is not None:
            vector = self._liveliness.apply(time, vector, speech, *self._preset)
        return MotionFrame(time, vector, speech)

    def _forget(self) -> None:
        """Drop log-mel rows no future window needs."""
        # sub-steps read their windows up to a frame's worth of rows earlier than the stream
        keep_from = (self._done - self._context - 1) * FEATURES_PER_MOTION_FRAME - self._lag
        drop = max(0, keep_from - self._row_base)
        if drop:
            self._rows, self._row_times = self._rows[drop:], self._row_times[drop:]
            self._row_base += drop
        stale = int(np.searchsorted(self._vad_ends, self._row_times[0], side="right")) - 1
        if stale > 0:
            del self._vad_ends[:stale], self._vad_states[:stale]
