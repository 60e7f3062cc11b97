"""Half-step frames: each comes 20 ms after a stream frame as soon as its audio is in,
leaves the stream's own frames exactly as they are without it, and lies between its
neighbours on real speech rather than zig-zagging around them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.constants import MOTION_FPS, SAMPLE_RATE
from avatarcam.motion.framing import audio_end_to_frame_instant_s
from avatarcam.motion.half_step import half_step_context, half_step_vector
from avatarcam.motion.jaw_contrast import JAW, JawContrast
from avatarcam.motion.liveliness import Liveliness
from avatarcam.motion.model import ModelConfig
from avatarcam.motion.space import NUM_FIELDS, index_of, neutral
from avatarcam.motion.stream import LoadedMotionModel, MotionFrame, MotionStreamer, StreamConfig, load_motion_model
from avatarcam.runtime.session import stream_config
from avatarcam.train.lipsync_eval import read_16k
from tests.conftest import make_random_model

REAL_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-speech"
HALF_S = 0.5 / MOTION_FPS
BLOCK = SAMPLE_RATE // 100  # 10 ms capture blocks, as a microphone delivers them
START = 100.0


def _clips() -> list[Path]:
    clips = sorted(REAL_SPEECH.glob("*.wav"))
    if not clips:
        pytest.skip(f"no real speech in {REAL_SPEECH}")
    return clips


def _stream(model: LoadedMotionModel, samples: np.ndarray, half_steps: bool) -> list[tuple[MotionFrame, float]]:
    """Every frame pushed out, with the capture time of the end of the block that made it."""
    frontend = AudioFrontend(SAMPLE_RATE)
    streamer = MotionStreamer(model, StreamConfig(half_steps=half_steps), seed=0)
    out = []
    for i in range(0, len(samples), BLOCK):
        chunk = AudioChunk(samples[i : i + BLOCK], SAMPLE_RATE, START + i / SAMPLE_RATE)
        out += [(frame, chunk.end_time) for frame in streamer.push(frontend.process(chunk))]
    return out


@pytest.mark.parametrize("feature_lag", [ModelConfig.feature_lag, ModelConfig.feature_lag + 2])
def test_a_half_step_comes_20_ms_after_its_frame_as_soon_as_its_audio_is_in(feature_lag: int, tmp_path: Path) -> None:
    model = make_random_model(tmp_path, feature_lag)
    samples = (0.01 * np.random.default_rng(0).standard_normal(2 * SAMPLE_RATE)).astype(np.float32)
    emitted = _stream(model, samples, half_steps=True)
    main = [(f, t) for f, t in emitted if not f.half_step]
    halves = [(f, t) for f, t in emitted if f.half_step]
    assert len(halves) >= len(main) - 1 >= 40
    times = [f.time for f, _ in emitted]
    assert np.allclose(np.diff(times), HALF_S)  # 50 frames a second, in time order, alternating
    assert [f.half_step for f, _ in emitted] == [k % 2 == 1 for k in range(len(emitted))]
    waits = -audio_end_to_frame_instant_s(feature_lag) + model.network.config.lookahead_frames / MOTION_FPS
    for frame, arrived in halves:
        assert waits - 1e-9 <= arrived - frame.time <= waits + BLOCK / SAMPLE_RATE + 1e-9
        assert frame.vector.shape == (NUM_FIELDS,) and frame.vector.dtype == np.float32


def test_the_stream_frames_are_the_same_with_half_steps(random_model: LoadedMotionModel) -> None:
    samples = read_16k(_clips()[0])
    with_halves = [f for f, _ in _stream(random_model, samples, half_steps=True) if not f.half_step]
    without = [f for f, _ in _stream(random_model, samples, half_steps=False)]
    assert len(with_halves) == len(without) > 40
    assert all(a.time == b.time and np.array_equal(a.vector, b.vector) and a.speech == b.speech
               for a, b in zip(with_halves, without))


def test_half_steps_lie_between_their_neighbours_on_real_speech() -> None:
    model = load_motion_model()
    off_midpoint, half_change = [], []
    for clip in _clips()[:3]:
        frames = [f for f, _ in _stream(model, read_16k(clip), half_steps=True)]
        for before, half, after in zip(frames[0::2], frames[1::2], frames[2::2]):
            off_midpoint.append(half.vector - 0.5 * (before.vector + after.vector))
            half_change.append(0.5 * (after.vector - before.vector))
    off, change = np.array(off_midpoint), np.array(half_change)
    for name in ("jaw_open", "lip_press", "mouth_round"):
        i = index_of(name)
        # a frame drawn independently of both neighbours would sit ~1.4 half-changes off
        assert np.sqrt(np.mean(off[:, i] ** 2)) < 0.9 * np.sqrt(np.mean(change[:, i] ** 2)), name


def test_half_step_context_sits_halfway_between_the_kept_frames() -> None:
    history = np.arange(12, dtype=np.float32).reshape(4, 3)
    shifted = half_step_context(history)
    assert shifted.shape == history.shape and shifted.dtype == np.float32
    assert np.array_equal(shifted[0], history[0])
    assert np.allclose(shifted[1:], 0.5 * (history[:-1] + history[1:]))


def test_half_step_vector_keeps_the_newest_frames_offsets_and_leads_the_jaw() -> None:
    newest_raw, raw = neutral(), neutral()
    newest_raw[JAW], raw[JAW] = 0.2, 0.4
    yaw = index_of("yaw")
    raw[yaw] = 2.0
    shown = newest_raw.copy()
    shown[yaw] = 1.5  # the liveliness layer turned the newest frame 1.5 degrees
    out = half_step_vector(raw, newest_raw, shown, previous_jaw=0.1, contrast=JawContrast(0.5), eyelids=None)
    assert out[yaw] == pytest.approx(3.5)
    assert out[JAW] == pytest.approx(0.4 + 0.5 * (0.4 - 0.1))
    blink = index_of("blink_l")
    assert half_step_vector(raw, newest_raw, shown, 0.1, JawContrast(0.0), eyelids=0.7)[blink] == pytest.approx(0.7)


def test_lead_leaves_the_layers_state_alone() -> None:
    layer = JawContrast(0.5)
    frames = [neutral() for _ in range(2)]
    frames[1][JAW] = 0.4
    layer.apply(frames[0])
    assert layer.lead(frames[1], 0.2)[JAW] == pytest.approx(0.5)
    assert layer.apply(frames[1])[JAW] == pytest.approx(0.6)  # still led from the last frame applied


def test_eyelids_at_match_the_blink_a_stream_frame_gets_and_change_nothing() -> None:
    probed, untouched = Liveliness(seed=3), Liveliness(seed=3)
    blink = index_of("blink_l")
    zeros = np.zeros(NUM_FIELDS, np.float32)
    closures = []
    for k in range(400):
        time = k / MOTION_FPS
        shown = probed.apply(time, neutral(), False, zeros, zeros)
        assert probed.eyelids_at(time) == pytest.approx(shown[blink])
        probed.eyelids_at(time + HALF_S)
        assert np.array_equal(shown, untouched.apply(time, neutral(), False, zeros, zeros))
        closures.append(shown[blink])
    assert max(closures) > 0.9  # it blinked


def test_half_steps_are_on_only_where_ticks_cannot_follow_the_motion_frames() -> None:
    assert stream_config(30.0).half_steps
    assert not stream_config(float(MOTION_FPS)).half_steps
