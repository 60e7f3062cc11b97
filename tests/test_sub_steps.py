"""Sub-step frames: each comes 10, 20 or 30 ms after a stream frame as soon as its audio is
in, leaves the stream's own frames exactly as they are without it, and lies near the line
between its neighbours on real speech rather than zig-zagging around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.constants import MOTION_FPS, SAMPLE_RATE
from avatarcam.motion.framing import audio_end_to_frame_instant_s
from avatarcam.motion.jaw_contrast import JAW, JawContrast
from avatarcam.motion.liveliness import Liveliness
from avatarcam.motion.model import ModelConfig
from avatarcam.motion.space import NUM_FIELDS, index_of, neutral
from avatarcam.motion.stream import LoadedMotionModel, MotionFrame, MotionStreamer, StreamConfig, load_motion_model
from avatarcam.motion.sub_steps import SUB_STEP_CHOICES, shifted_context, sub_step_vector
from avatarcam.runtime.session import stream_config
from avatarcam.train.lipsync_eval import read_16k
from tests.conftest import make_random_model

REAL_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-speech"
PERIOD_S = 1.0 / MOTION_FPS
BLOCK = SAMPLE_RATE // 100  # 10 ms capture blocks, as a microphone delivers them
START = 100.0


def _clips() -> list[Path]:
    clips = sorted(REAL_SPEECH.glob("*.wav"))
    if not clips:
        pytest.skip(f"no real speech in {REAL_SPEECH}")
    return clips


def _stream(model: LoadedMotionModel, samples: np.ndarray, sub_steps: int,
            made: dict[float, int] | None = None) -> list[tuple[MotionFrame, float]]:
    """Every frame pushed out, with the capture time of the end of the block that made it;
    `made` switches the frames per 40 ms made from (audio second → count) on."""
    frontend = AudioFrontend(SAMPLE_RATE)
    streamer = MotionStreamer(model, StreamConfig(sub_steps=sub_steps), seed=0)
    out = []
    for i in range(0, len(samples), BLOCK):
        for second, count in (made or {}).items():
            if i == int(second * SAMPLE_RATE):
                streamer.set_sub_steps(count)
        chunk = AudioChunk(samples[i : i + BLOCK], SAMPLE_RATE, START + i / SAMPLE_RATE)
        out += [(frame, chunk.end_time) for frame in streamer.push(frontend.process(chunk))]
    return out


@pytest.mark.parametrize("sub_steps", [2, 4])
@pytest.mark.parametrize("feature_lag", [ModelConfig.feature_lag, ModelConfig.feature_lag + 2])
def test_sub_steps_come_between_the_frames_as_soon_as_their_audio_is_in(sub_steps: int, feature_lag: int,
                                                                        tmp_path: Path) -> None:
    model = make_random_model(tmp_path, feature_lag)
    samples = (0.01 * np.random.default_rng(0).standard_normal(2 * SAMPLE_RATE)).astype(np.float32)
    emitted = _stream(model, samples, sub_steps)
    main = [f for f, _ in emitted if not f.sub_step]
    assert len(main) >= 40 and len(emitted) >= sub_steps * (len(main) - 1)
    assert np.allclose(np.diff([f.time for f, _ in emitted]), PERIOD_S / sub_steps)  # in time order, evenly
    assert [f.sub_step for f, _ in emitted] == [k % sub_steps != 0 for k in range(len(emitted))]
    waits = -audio_end_to_frame_instant_s(feature_lag) + model.network.config.lookahead_frames / MOTION_FPS
    for frame, arrived in emitted:
        assert waits - 1e-9 <= arrived - frame.time <= waits + BLOCK / SAMPLE_RATE + 1e-9
        assert frame.vector.shape == (NUM_FIELDS,) and frame.vector.dtype == np.float32


def test_the_stream_frames_are_the_same_with_sub_steps(random_model: LoadedMotionModel) -> None:
    samples = read_16k(_clips()[0])
    without = [f for f, _ in _stream(random_model, samples, 1)]
    assert len(without) > 40 and not any(f.sub_step for f in without)
    for sub_steps in (2, 4):
        main = [f for f, _ in _stream(random_model, samples, sub_steps) if not f.sub_step]
        assert len(main) == len(without)
        assert all(a.time == b.time and np.array_equal(a.vector, b.vector) and a.speech == b.speech
                   for a, b in zip(main, without))


@pytest.mark.parametrize("sub_steps", [2, 4])
def test_sub_steps_lie_near_the_line_between_their_neighbours_on_real_speech(sub_steps: int) -> None:
    model = load_motion_model()
    off_line, half_change = [], []
    for clip in _clips()[:3]:
        frames = [f for f, _ in _stream(model, read_16k(clip), sub_steps)]
        for k in range(0, len(frames) - sub_steps, sub_steps):
            before, after = frames[k].vector, frames[k + sub_steps].vector
            for step in range(1, sub_steps):
                share = step / sub_steps
                off_line.append(frames[k + step].vector - ((1.0 - share) * before + share * after))
            half_change.append(0.5 * (after - before))
    off, change = np.array(off_line), np.array(half_change)
    for name in ("jaw_open", "lip_press", "mouth_round"):
        i = index_of(name)
        # a frame made independently of both neighbours would sit ~1.4 half-changes off the line
        assert np.sqrt(np.mean(off[:, i] ** 2)) < 0.9 * np.sqrt(np.mean(change[:, i] ** 2)), name


def _same(a: list[MotionFrame], b: list[MotionFrame]) -> bool:
    return len(a) == len(b) and all(x.time == y.time and np.array_equal(x.vector, y.vector)
                                    and x.sub_step == y.sub_step for x, y in zip(a, b))


def test_fewer_sub_steps_can_be_made_while_running(random_model: LoadedMotionModel) -> None:
    """A four-sub-step stream told to make two (or one) per 40 ms makes exactly the frames of
    a stream set up that way, and switched to and fro it keeps its own frames and its order."""
    samples = max((read_16k(clip) for clip in _clips()), key=len)[: 3 * SAMPLE_RATE]
    assert len(samples) == 3 * SAMPLE_RATE
    frames = {n: [f for f, _ in _stream(random_model, samples, n)] for n in (1, 2, 4)}
    for count in (1, 2):
        assert _same([f for f, _ in _stream(random_model, samples, 4, {0.0: count})], frames[count])
    switched = [f for f, _ in _stream(random_model, samples, 4, {0.0: 2, 1.0: 1, 2.0: 4})]
    times = np.array([f.time for f in switched])
    assert np.all(np.diff(times) > 0)
    assert _same([f for f in switched if not f.sub_step], frames[1])
    phases = np.round((times - START) / PERIOD_S * 4).astype(int) % 4  # quarter of 40 ms each depicts
    made_at = {(0.1, 0.9): {0, 2}, (1.1, 1.9): {0}, (2.1, 2.8): {0, 1, 2, 3}}  # audio seconds → phases made
    for (start, stop), wanted in made_at.items():
        inside = (times > START + start) & (times < START + stop)
        assert set(phases[inside]) == wanted, (start, stop)
    with pytest.raises(ValueError, match="divide 4"):
        MotionStreamer(random_model, StreamConfig(sub_steps=4)).set_sub_steps(3)
    with pytest.raises(ValueError, match="divide 1"):
        MotionStreamer(random_model, StreamConfig()).set_sub_steps(2)


def test_sub_steps_are_checked() -> None:
    assert SUB_STEP_CHOICES == (1, 2, 4)
    with pytest.raises(ValueError, match="sub_steps"):
        StreamConfig(sub_steps=3)


def test_the_shifted_context_interpolates_between_the_kept_frames() -> None:
    history = np.arange(12, dtype=np.float32).reshape(4, 3)
    for share in (0.25, 0.5, 0.75):
        shifted = shifted_context(history, share)
        assert shifted.shape == history.shape and shifted.dtype == np.float32
        assert np.array_equal(shifted[0], history[0])
        assert np.allclose(shifted[1:], history[:-1] + share * (history[1:] - history[:-1]))


def test_sub_step_vector_keeps_the_newest_frames_offsets_and_leads_the_jaw() -> None:
    newest_raw, raw = neutral(), neutral()
    newest_raw[JAW], raw[JAW] = 0.2, 0.4
    yaw = index_of("yaw")
    raw[yaw] = 2.0
    shown = newest_raw.copy()
    shown[yaw] = 1.5  # the liveliness layer turned the newest frame 1.5 degrees
    out = sub_step_vector(raw, newest_raw, shown, previous_jaw=0.1, contrast=JawContrast(0.5), eyelids=None)
    assert out[yaw] == pytest.approx(3.5)
    assert out[JAW] == pytest.approx(0.4 + 0.5 * (0.4 - 0.1))
    blink = index_of("blink_l")
    assert sub_step_vector(raw, newest_raw, shown, 0.1, JawContrast(0.0), eyelids=0.7)[blink] == pytest.approx(0.7)


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
        probed.eyelids_at(time + 0.5 * PERIOD_S)
        assert np.array_equal(shown, untouched.apply(time, neutral(), False, zeros, zeros))
        closures.append(shown[blink])
    assert max(closures) > 0.9  # it blinked


def test_sub_steps_are_on_only_where_ticks_cannot_follow_the_motion_frames() -> None:
    assert stream_config(30.0).sub_steps > 1
    assert stream_config(float(MOTION_FPS)).sub_steps == 1
