"""The streaming motion path: timing of frames, chunk seams, idle on silence, presets, the
offline dump and its CLI, all through the real front end and the shipped weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.file_source import FileSource
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.cli.main import main
from avatarcam.constants import MOTION_FPS, SAMPLE_RATE, SAMPLES_PER_MOTION_FRAME
from avatarcam.motion.framing import audio_end_to_frame_instant_s, file_vad, frame_features
from avatarcam.motion.model import ModelConfig
from avatarcam.motion.motion_io import read_csv
from avatarcam.motion.offline import motion_for_file
from avatarcam.motion.quality import IdleFigures, frame_jumps, idle_figures, seam_figures
from avatarcam.motion.space import FIELD_NAMES, index_of
from avatarcam.motion.stream import (
    LOW_LATENCY_MODEL_FILE,
    LoadedMotionModel,
    MotionStreamer,
    StreamConfig,
    default_model_path,
    live_model_path,
    load_motion_model,
)
from avatarcam.train.espeak_synth import engine
from avatarcam.train.lipsync_eval import read_16k
from avatarcam.train.phonemes import BILABIALS
from avatarcam.train.speech import Style
from tests.conftest import make_random_model

REAL_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-speech"
SMILE_SENTENCE = "My mom bought a big map, maybe probably by the pub."


def _room_noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Quiet room tone: low-passed noise near -60 dBFS and a faint mains hum."""
    rng = np.random.default_rng(seed)
    count = int(seconds * SAMPLE_RATE)
    noise = np.convolve(rng.standard_normal(count), np.ones(8) / 8.0, mode="same") * 0.003
    hum = 0.0005 * np.sin(2 * np.pi * 50.0 * np.arange(count) / SAMPLE_RATE)
    return (noise + hum).astype(np.float32)


def _write(path: Path, samples: np.ndarray) -> Path:
    soundfile.write(str(path), samples, SAMPLE_RATE)
    return path


@pytest.fixture(scope="module")
def shipped() -> LoadedMotionModel:
    return load_motion_model()


@pytest.mark.parametrize("feature_lag", [ModelConfig.feature_lag, ModelConfig.feature_lag + 2])
def test_frames_carry_the_instant_they_depict_and_wait_only_for_their_audio(feature_lag: int, tmp_path: Path) -> None:
    random_model = make_random_model(tmp_path, feature_lag)
    start = 100.0
    frontend = AudioFrontend(SAMPLE_RATE)
    streamer = MotionStreamer(random_model, StreamConfig(chunk_frames=1))
    samples = _room_noise(2.0)
    block = SAMPLE_RATE // 100
    emitted = []
    for i in range(0, len(samples), block):
        chunk = AudioChunk(samples[i : i + block], SAMPLE_RATE, start + i / SAMPLE_RATE)
        for frame in streamer.push(frontend.process(chunk)):
            emitted.append((frame, chunk.end_time))
    lookahead = random_model.network.config.lookahead_frames
    assert len(emitted) == 2.0 * MOTION_FPS - lookahead  # the last frames wait for their lookahead
    waits = -audio_end_to_frame_instant_s(feature_lag) + lookahead / MOTION_FPS  # its own audio and lookahead
    for k, (frame, arrived) in enumerate(emitted):
        assert frame.time == pytest.approx(start + k / MOTION_FPS, abs=1e-9)
        assert waits - 1e-9 <= arrived - frame.time <= waits + block / SAMPLE_RATE + 1e-9  # no later than its block
        assert frame.vector.shape == (len(FIELD_NAMES),) and frame.vector.dtype == np.float32
    flushed = [start + 2.0 - (k + 1) / MOTION_FPS for k in reversed(range(lookahead))]
    assert [f.time for f in streamer.flush()] == pytest.approx(flushed)


def test_a_larger_feature_lag_gives_each_frame_earlier_audio() -> None:
    rng = np.random.default_rng(0)
    mel = rng.standard_normal((400, 80)).astype(np.float32)
    lag = ModelConfig.feature_lag
    default, earlier = frame_features(mel, 90, lag), frame_features(mel, 90, lag + 4)
    assert np.array_equal(earlier[1:], default[:-1])  # four windows more: one frame sooner
    assert audio_end_to_frame_instant_s(lag + 4) == pytest.approx(audio_end_to_frame_instant_s(lag) + 1 / MOTION_FPS)
    speech = np.concatenate((_room_noise(1.0), read_16k(_real_clips()[0])[: SAMPLE_RATE * 2]))
    frames = len(speech) // SAMPLES_PER_MOTION_FRAME
    vad_default, vad_earlier = file_vad(speech, frames, lag), file_vad(speech, frames, lag + 4)
    assert vad_default.any() and np.array_equal(vad_earlier[1:], vad_default[:-1])


def test_offline_track_has_one_frame_per_span(random_model: LoadedMotionModel, tmp_path: Path) -> None:
    frames = 37
    audio = _write(tmp_path / "a.wav", _room_noise(frames * SAMPLES_PER_MOTION_FRAME / SAMPLE_RATE))
    result = motion_for_file(audio, model_path=random_model.path, config=StreamConfig(chunk_frames=3, steps=1))
    assert len(result.track.times) == frames == len(result.vad)
    assert np.allclose(result.track.times, np.arange(frames) / MOTION_FPS)
    again = motion_for_file(audio, model_path=random_model.path, config=StreamConfig(chunk_frames=3, steps=1))
    assert np.array_equal(result.track.frames, again.track.frames)


def test_stream_settings_are_checked(random_model: LoadedMotionModel) -> None:
    with pytest.raises(ValueError):
        StreamConfig(steps=5)
    with pytest.raises(ValueError):
        StreamConfig(chunk_frames=0)
    with pytest.raises(ValueError):
        MotionStreamer(random_model, StreamConfig(lookahead_frames=2))
    streamer = MotionStreamer(random_model)
    with pytest.raises(ValueError):
        streamer.set_preset(np.zeros(len(FIELD_NAMES)), np.full(len(FIELD_NAMES), 1.5))
    with pytest.raises(ValueError):
        streamer.set_preset(np.zeros(3), np.zeros(3))


def _real_clips() -> list[Path]:
    clips = sorted(REAL_SPEECH.glob("*.wav"))
    if not clips:
        pytest.skip(f"no real speech in {REAL_SPEECH}")
    return clips


def test_chunks_join_without_seams_on_real_speech(shipped: LoadedMotionModel) -> None:
    chunk = 4
    scale = shipped.network.motion_std.numpy()
    jumps = [frame_jumps(motion_for_file(clip, seed=seed, config=StreamConfig(chunk_frames=chunk)).track.frames, scale)
             for clip in _real_clips() for seed in (0, 1)]
    seams = seam_figures(jumps, chunk)
    assert seams.border_p99 <= 1.5 * seams.within_p99
    assert seams.border_mean <= 1.5 * seams.within_mean


def test_real_speech_moves_the_mouth(shipped: LoadedMotionModel) -> None:
    result = motion_for_file(_real_clips()[0])
    jaw = result.track.frames[:, index_of("jaw_open")]
    assert result.vad.mean() > 0.5
    assert jaw.max() > 0.3 and np.mean(jaw[result.vad > 0] > 0.1) > 0.3


def test_a_live_run_takes_the_lookahead_only_while_the_voice_waits_for_the_lips() -> None:
    delayed = load_motion_model(live_model_path(voice_delayed=True))
    assert delayed.path == default_model_path() and delayed.network.config.lookahead_frames > 0


def test_lower_latency_weights_follow_speech_without_lookahead() -> None:
    path = live_model_path(voice_delayed=False)
    assert path.name == LOW_LATENCY_MODEL_FILE and load_motion_model(path).network.config.lookahead_frames == 0
    result = motion_for_file(_real_clips()[0], model_path=path)
    jaw = result.track.frames[:, index_of("jaw_open")]
    assert jaw.max() > 0.3 and np.mean(jaw[result.vad > 0] > 0.1) > 0.3


def _idle(seconds: float, folder: Path, weights: Path | None = None) -> np.ndarray:
    audio = _write(folder / "room.wav", _room_noise(seconds, seed=1))
    result = motion_for_file(audio, model_path=weights)
    assert not result.vad.any()
    return result.track.frames


# both shipped weights: a live run takes either, as the voice is heard live or delayed
SHIPPED_WEIGHTS = pytest.mark.parametrize("voice_delayed", [True, False], ids=["motion.pt", "lookahead0"])


@SHIPPED_WEIGHTS
def test_idle_on_room_noise_keeps_the_mouth_closed_and_the_head_alive(voice_delayed: bool, tmp_path: Path) -> None:
    figures = idle_figures(_idle(20.0, tmp_path, live_model_path(voice_delayed)))
    assert figures.jaw_closed_share >= 0.98
    assert max(figures.sway_std_deg.values()) > 0.1  # the head is not frozen
    assert max(figures.sway_std_deg.values()) < 5.0  # nor swinging about


@SHIPPED_WEIGHTS
def test_mouth_shuts_by_itself_after_speech(voice_delayed: bool, tmp_path: Path) -> None:
    """No gate forces the jaw shut: the model must close it from the audio and the VAD,
    and open it again when the speech returns, without a pop either way."""
    speech = read_16k(_real_clips()[0])
    quiet_s = 4.0
    audio = _write(tmp_path / "then_quiet.wav", np.concatenate((speech, _room_noise(quiet_s, seed=2), speech)))
    weights = live_model_path(voice_delayed)
    result = motion_for_file(audio, model_path=weights)
    jaw = result.track.frames[:, index_of("jaw_open")]
    times = np.arange(len(jaw)) / MOTION_FPS
    speech_end = len(speech) / SAMPLE_RATE
    settled = (times >= speech_end + 0.2) & (times + 1.0 / MOTION_FPS <= speech_end + quiet_s)
    assert np.mean(jaw[settled] < 0.05) >= 0.98
    assert jaw[times > speech_end + quiet_s].max() > 0.3
    # into idle and back without a pop: no jump at a VAD switch beyond the p99 of speech
    jumps = frame_jumps(result.track.frames, load_motion_model(weights).network.motion_std.numpy())
    switching = np.zeros(len(jumps), dtype=bool)
    for edge in np.flatnonzero(np.diff(result.vad) != 0):
        switching[max(0, edge - 3):edge + 4] = True
    speaking = (result.vad[1:] > 0) & ~switching
    assert switching.any() and jumps[switching].max() <= np.percentile(jumps[speaking], 99)


@pytest.fixture(scope="module")
def two_minutes_idle(shipped: LoadedMotionModel, tmp_path_factory: pytest.TempPathFactory) -> IdleFigures:
    return idle_figures(_idle(120.0, tmp_path_factory.mktemp("idle")))


@pytest.mark.slow
def test_two_minutes_of_idle_do_not_loop(two_minutes_idle: IdleFigures) -> None:
    assert max(two_minutes_idle.sway_std_deg.values()) > 0.1
    assert two_minutes_idle.breathing_ty_std > 0.0005
    assert two_minutes_idle.loop_autocorrelation < 0.8


@pytest.mark.slow
def test_two_minutes_of_idle_keep_the_mouth_closed_and_the_head_near(two_minutes_idle: IdleFigures) -> None:
    assert two_minutes_idle.jaw_closed_share >= 0.98
    assert max(two_minutes_idle.sway_std_deg.values()) < 5.0


@pytest.mark.slow
def test_two_minutes_of_idle_blink_at_a_human_rate(two_minutes_idle: IdleFigures) -> None:
    assert 8.0 <= two_minutes_idle.blinks_per_minute <= 20.0
    assert all(0.1 <= d <= 0.3 for d in two_minutes_idle.blink_durations_s)


def _espeak_sentence(tmp_path: Path) -> tuple[Path, list[tuple[float, float]]]:
    """An espeak-ng sentence and the (start, end) of its m/b/p phones."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed; run install/system-packages.sh")
    spoken = engine().speak(SMILE_SENTENCE, "en-us", Style(rate_wpm=150, pitch=0.5, loudness=0.8))
    pad = np.zeros(SAMPLE_RATE // 2, np.float32)
    audio = _write(tmp_path / "smile.wav", np.concatenate((pad, spoken.samples, pad)))
    offset = len(pad) / SAMPLE_RATE
    return audio, [(p.start + offset, p.end + offset) for p in spoken.phones if p.name in BILABIALS]


def test_smile_preset_keeps_lip_closures(shipped: LoadedMotionModel, tmp_path: Path) -> None:
    audio, closures = _espeak_sentence(tmp_path)
    target = np.zeros(len(FIELD_NAMES), np.float32)
    weight = np.zeros(len(FIELD_NAMES), np.float32)
    target[index_of("smile")], weight[index_of("smile")] = 1.0, 1.0
    streamer = MotionStreamer(shipped)
    streamer.set_preset(target, weight)
    source = FileSource(audio)
    frontend = AudioFrontend(source.rate)
    frames = []
    while (chunk := source.read()) is not None:
        frames += streamer.push(frontend.process(chunk))
    frames += streamer.push(frontend.flush()) + streamer.flush()
    motion = np.stack([f.vector for f in frames])
    times = np.arange(len(motion)) / MOTION_FPS
    assert np.median(motion[:, index_of("smile")]) > 0.7
    jaw = motion[:, index_of("jaw_open")]
    closed = [jaw[(times >= start - 0.02) & (times <= end + 0.02)].min() for start, end in closures]
    assert len(closed) >= 5
    assert np.mean(np.array(closed) < 0.1) >= 0.8


def test_motion_cli_writes_every_column(tmp_path: Path) -> None:
    audio = _write(tmp_path / "room.wav", _room_noise(1.0))
    out = tmp_path / "motion.csv"
    assert main(["motion", str(audio), "--out", str(out)]) == 0
    header = out.read_text().splitlines()[0].split(",")
    assert header == ["t", *FIELD_NAMES, "vad"]
    track, extras = read_csv(out)
    assert len(track.times) == MOTION_FPS and set(np.unique(extras["vad"])) <= {0.0, 1.0}
    assert main(["motion", str(audio), "--out", str(out), "--fps", "30", "--seed", "3"]) == 0
    track, _ = read_csv(out)
    assert np.allclose(np.diff(track.times), 1 / 30)
