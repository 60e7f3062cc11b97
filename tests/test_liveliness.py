"""The liveliness layer: blinks, breathing and sway on silence, the head leash, speech-end
blinks, seeding, and its place in the streamer (after the model, never in its context)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.constants import MOTION_FPS, SAMPLE_RATE
from avatarcam.motion.liveliness import Liveliness
from avatarcam.motion.quality import BLINK_EDGE, IdleFigures, idle_figures
from avatarcam.motion.space import FIELDS, NUM_FIELDS, index_of
from avatarcam.motion.stream import LoadedMotionModel, MotionFrame, MotionStreamer, StreamConfig

TEN_MINUTES = 10 * 60 * MOTION_FPS
NO_PRESET = np.zeros(NUM_FIELDS, np.float32)
MOUTH = [i for i, f in enumerate(FIELDS) if f.group == "mouth"]
YAW, PITCH = index_of("yaw"), index_of("pitch")


def _run(inputs: np.ndarray, speech: np.ndarray | None = None, seed: int = 0,
         target: np.ndarray = NO_PRESET, weight: np.ndarray = NO_PRESET) -> np.ndarray:
    """The layer over `inputs` (T, NUM_FIELDS) at 25 fps from t = 0."""
    layer = Liveliness(seed)
    flags = np.zeros(len(inputs), bool) if speech is None else speech
    return np.stack([layer.apply(k / MOTION_FPS, v, bool(s), target, weight)
                     for k, (v, s) in enumerate(zip(inputs, flags))])


def _eyelids(frames: np.ndarray) -> np.ndarray:
    return 0.5 * (frames[:, index_of("blink_l")] + frames[:, index_of("blink_r")])


def _blink_starts(frames: np.ndarray) -> np.ndarray:
    """Frame indices where the eyelids first rise above BLINK_EDGE."""
    above = _eyelids(frames) > BLINK_EDGE
    return np.flatnonzero(above[1:] & ~above[:-1]) + 1


def _yaw_input(values: np.ndarray) -> np.ndarray:
    inputs = np.zeros((len(values), NUM_FIELDS), np.float32)
    inputs[:, YAW] = values
    return inputs


@pytest.fixture(scope="module")
def silence() -> np.ndarray:
    return _run(np.zeros((TEN_MINUTES, NUM_FIELDS), np.float32))


@pytest.fixture(scope="module")
def silence_figures(silence: np.ndarray) -> IdleFigures:
    return idle_figures(silence)


def test_silence_blinks_at_a_human_rate_and_length(silence_figures: IdleFigures) -> None:
    assert 8.0 <= silence_figures.blinks_per_minute <= 20.0
    assert all(0.1 <= d <= 0.3 for d in silence_figures.blink_durations_s)


def test_blinks_shut_both_eyes_fully(silence: np.ndarray) -> None:
    left, right = silence[:, index_of("blink_l")], silence[:, index_of("blink_r")]
    assert np.array_equal(left, right)
    peaks = [left[s : s + 8].max() for s in _blink_starts(silence)]
    assert min(peaks) == 1.0


def test_silence_sways_and_breathes_without_looping(silence_figures: IdleFigures) -> None:
    assert all(0.1 < std < 3.0 for std in silence_figures.sway_std_deg.values())
    assert silence_figures.breathing_ty_std > 0.0005
    assert silence_figures.loop_autocorrelation < 0.8


def test_mouth_is_left_alone(silence: np.ndarray, silence_figures: IdleFigures) -> None:
    assert not silence[:, MOUTH].any()
    assert silence_figures.jaw_closed_share == 1.0


def test_model_blinks_are_kept(silence: np.ndarray) -> None:
    inputs = np.zeros((30 * MOTION_FPS, NUM_FIELDS), np.float32)
    inputs[:, index_of("blink_l")] = 0.3
    eyelid = _run(inputs)[:, index_of("blink_l")]
    assert eyelid.min() == pytest.approx(0.3)
    assert np.array_equal(eyelid, np.maximum(0.3, silence[: len(inputs), index_of("blink_l")]))


def test_slow_drift_is_removed_and_fast_nods_pass(silence: np.ndarray) -> None:
    minute = 60 * MOTION_FPS
    ramp = np.linspace(0.0, 10.0, minute)
    kept = _run(_yaw_input(ramp))[:, YAW] - silence[:minute, YAW]  # what is left of the input
    late = kept[20 * MOTION_FPS :]
    assert np.abs(late).max() < 1.0 and late.std() < 0.1  # the ramp itself spans 6.7° there

    nod = 3.0 * np.sin(2 * np.pi * 2.0 * np.arange(minute) / MOTION_FPS)
    nods = np.zeros((minute, NUM_FIELDS), np.float32)
    nods[:, PITCH] = nod
    passed = _run(nods)[:, PITCH] - silence[:minute, PITCH]
    assert np.abs(passed - nod)[MOTION_FPS:].max() < 0.3


def test_a_preset_turn_is_kept_and_an_unasked_one_is_not(silence: np.ndarray) -> None:
    seconds = 30 * MOTION_FPS
    turned = _yaw_input(np.full(seconds, 10.0))
    target, weight = NO_PRESET.copy(), NO_PRESET.copy()
    target[YAW], weight[YAW] = 10.0, 1.0
    kept = _run(turned, target=target, weight=weight)[:, YAW] - silence[:seconds, YAW]
    assert np.allclose(kept, 10.0, atol=1e-3)
    unasked = _run(turned)[:, YAW] - silence[:seconds, YAW]
    assert np.abs(unasked[-5 * MOTION_FPS :]).max() < 0.1


def test_blinks_come_soon_after_speech_stops() -> None:
    rng = np.random.default_rng(7)
    speech = np.zeros(TEN_MINUTES, bool)
    k, ends = 0, []
    while k < TEN_MINUTES:
        talk, pause = (int(rng.uniform(*span) * MOTION_FPS) for span in ((1.5, 4.0), (1.0, 3.0)))
        speech[k : k + talk] = True
        k += talk
        ends.append(k)
        k += pause
    starts = _blink_starts(_run(np.zeros((TEN_MINUTES, NUM_FIELDS), np.float32), speech))
    window = int(0.4 * MOTION_FPS)
    followed = np.mean([np.any((starts > end) & (starts <= end + window)) for end in ends])
    chance = len(starts) / TEN_MINUTES * window  # share of windows holding a start, were starts uniform
    assert followed > 2.5 * chance


def test_seed_fixes_the_output() -> None:
    inputs = np.zeros((60 * MOTION_FPS, NUM_FIELDS), np.float32)
    first, again, other = _run(inputs, seed=3), _run(inputs, seed=3), _run(inputs, seed=4)
    assert np.array_equal(first, again)
    assert not np.array_equal(_blink_starts(first), _blink_starts(other))


def test_frames_must_come_in_time_order() -> None:
    layer = Liveliness(0)
    frame = np.zeros(NUM_FIELDS, np.float32)
    layer.apply(1.0, frame, False, NO_PRESET, NO_PRESET)
    with pytest.raises(ValueError):
        layer.apply(1.0, frame, False, NO_PRESET, NO_PRESET)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread while a test runs: a model this small gains nothing from more, and
    its threads' spin-waits slow it many times over when another process holds a core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _stream_silence(model: LoadedMotionModel, config: StreamConfig, seconds: float) -> list[MotionFrame]:
    """Frames for `seconds` of faint noise pushed through the front end 10 ms at a time."""
    samples = np.random.default_rng(0).normal(0.0, 0.001, int(seconds * SAMPLE_RATE)).astype(np.float32)
    frontend, streamer = AudioFrontend(SAMPLE_RATE), MotionStreamer(model, config)
    block = SAMPLE_RATE // 100
    frames: list[MotionFrame] = []
    for i in range(0, len(samples), block):
        frames += streamer.push(frontend.process(AudioChunk(samples[i : i + block], SAMPLE_RATE, i / SAMPLE_RATE)))
    return frames


@pytest.mark.usefixtures("one_torch_thread")
def test_streamer_applies_the_layer_after_the_model(random_model: LoadedMotionModel) -> None:
    raw = _stream_silence(random_model, StreamConfig(liveliness=False), 30.0)
    lively = _stream_silence(random_model, StreamConfig(), 30.0)
    assert not any(f.speech for f in raw)
    layer = Liveliness(0)
    expected = np.stack([layer.apply(f.time, f.vector, f.speech, NO_PRESET, NO_PRESET) for f in raw])
    assert np.array_equal(np.stack([f.vector for f in lively]), expected)  # the model saw its raw output
    assert idle_figures(expected).blinks_per_minute >= 4.0
