"""The motion denoiser, its sampler, weights files and the training step."""

from __future__ import annotations

import json
from dataclasses import replace
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from avatarcam.cli.main import main
from avatarcam.constants import MOTION_FPS
from avatarcam.motion.framing import audio_end_to_frame_instant_s
from avatarcam.motion.model import ModelConfig, MotionDenoiser, weights_payload
from avatarcam.motion.sampler import (
    MAX_STEPS,
    check_steps,
    draw_noise,
    early_dense_schedule,
    linear_schedule,
    sample_euler,
)
from avatarcam.motion.space import NUM_FIELDS, field_mask
from avatarcam.motion.stream import MotionModelError, default_model_path, load_motion_model
from avatarcam.train.fit import MOUTH_LOSS_FIELDS, FitConfig, field_loss_weights, fit_model, log_path

SMALL = ModelConfig(audio_channels=16, channels=16, dilations=(1, 2), audio_dilations=(1, 2))
MAX_WEIGHTS_BYTES = 20 * 1024 * 1024


def _inputs(model: MotionDenoiser, batch: int = 2, frames: int = 12) -> tuple[torch.Tensor, ...]:
    """Random denoiser inputs for `batch` windows of `frames` frames."""
    g = torch.Generator().manual_seed(0)
    audio = frames + model.config.lookahead_frames
    return (torch.randn(batch, frames, NUM_FIELDS, generator=g), torch.zeros(batch, frames),
            torch.rand(batch, generator=g), torch.randn(batch, audio, model.config.frame_features, generator=g),
            torch.ones(batch, audio), torch.zeros(batch, NUM_FIELDS), torch.zeros(batch, NUM_FIELDS))


def _trained_like(config: ModelConfig = SMALL) -> MotionDenoiser:
    """A model with random (non-zero) output weights, so outputs depend on every input."""
    torch.manual_seed(0)
    model = MotionDenoiser(config)
    for parameter in model.parameters():
        parameter.data.normal_(0.0, 0.2)
    return model.eval()


def test_output_shape_matches_window() -> None:
    model = _trained_like()
    with torch.no_grad():
        velocity = model(*_inputs(model, batch=3, frames=10))
    assert velocity.shape == (3, 10, NUM_FIELDS)


@pytest.mark.parametrize("floor_rows", [0, 6])
@pytest.mark.parametrize("lookahead", [0, 1])
def test_model_is_causal_with_its_lookahead(lookahead: int, floor_rows: int) -> None:
    model = _trained_like(replace(SMALL, lookahead_frames=lookahead, floor_rows=floor_rows))
    x, known, t, mel, vad, target, weight = _inputs(model, batch=1, frames=12)
    with torch.no_grad():
        base = model(x, known, t, mel, vad, target, weight)
        later_motion = x.clone()
        later_motion[:, 8:] += 1.0
        moved = model(later_motion, known, t, mel, vad, target, weight)
        later_audio = mel.clone()
        later_audio[:, 8:] += 1.0  # audio frame 8 is heard first by motion frame 8 - lookahead
        heard = model(x, known, t, later_audio, vad, target, weight)
    first = 8 - model.config.lookahead_frames
    assert torch.equal(base[:, :8], moved[:, :8]) and not torch.equal(base[:, 8:], moved[:, 8:])
    assert torch.equal(base[:, :first], heard[:, :first]) and not torch.equal(base[:, first], heard[:, first])


@pytest.mark.parametrize("first", [0, 3, 11, 14])
@pytest.mark.parametrize("dilations", [(1, 2), (1, 2, 4, 8, 1, 2)])
def test_the_velocity_tail_is_the_velocity_of_the_newest_frames(first: int, dilations: tuple[int, ...]) -> None:
    # with the shipped dilations the receptive field (37 frames) is longer than the window (15),
    # so the early layers reach before the window; with (1, 2) it fits inside from frame 6 on
    model = _trained_like(replace(SMALL, dilations=dilations))
    x, known, t, mel, vad, target, weight = _inputs(model, batch=1, frames=15)
    known[:, :first] = 1.0
    with torch.no_grad():
        audio, preset = model.encode_audio(mel, vad), model.encode_preset(target, weight)
        whole = model.velocity(x, known, t, audio, preset)
        tail = model.velocity_tail(x, known, t, audio, preset, first)
    assert tail.shape == (1, 15 - first, NUM_FIELDS)
    torch.testing.assert_close(tail, whole[:, first:], rtol=1e-5, atol=1e-5)
    assert whole.abs().mean() > 0.1  # a check of real numbers, not of zeros
    # the next Euler step: only the frames from `first` on move; the context's layers are reused
    kept: list[torch.Tensor] = []
    with torch.no_grad():
        model.velocity_tail(x, known, t, audio, preset, first, kept)
        stepped = x.clone()
        stepped[:, first:] += 0.5
        later = model.velocity(stepped, known, t + 0.25, audio, preset)
        reused = model.velocity_tail(stepped, known, t + 0.25, audio, preset, first, kept)
    assert len(kept) == len(dilations)
    torch.testing.assert_close(reused, later[:, first:], rtol=1e-5, atol=1e-5)
    assert float((later - whole)[:, first:].abs().max()) > 0.01  # the step did change the outputs


def test_sampler_is_deterministic_per_seed_for_every_step_count() -> None:
    model = _trained_like()
    x, known, _, mel, vad, target, weight = _inputs(model, batch=1, frames=6)
    known[:, :4] = 1.0
    audio, preset = model.encode_audio(mel, vad), model.encode_preset(target, weight)

    def velocity(chunk: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return model.velocity(torch.cat((x[:, :4], chunk), dim=1), known, t, audio, preset)[:, 4:]

    def run(seed: int, steps: int, seen: list[int] | None = None) -> torch.Tensor:
        callback = (lambda i, t, xs: seen.append(i)) if seen is not None else None
        with torch.no_grad():
            noise = draw_noise((1, 2, NUM_FIELDS), torch.Generator().manual_seed(seed))
            return sample_euler(velocity, noise, linear_schedule(check_steps(steps)), callback)

    for steps in range(1, MAX_STEPS + 1):
        seen: list[int] = []
        first = run(7, steps, seen)
        assert seen == list(range(steps))
        assert torch.equal(first, run(7, steps)) and not torch.equal(first, run(8, steps))
        assert torch.isfinite(first).all()
    with pytest.raises(ValueError):
        run(7, MAX_STEPS + 1)


def test_schedules_run_from_noise_to_data() -> None:
    for schedule in (linear_schedule, early_dense_schedule):
        times = schedule(3)
        assert times[0] == 0.0 and times[-1] == 1.0 and torch.all(torch.diff(times) > 0)


def test_weights_file_round_trip(tmp_path: Path) -> None:
    model = _trained_like()
    path = tmp_path / "m.pt"
    torch.save(weights_payload(model, {"note": "test"}), path)
    loaded = load_motion_model(path)
    inputs = _inputs(model)
    with torch.no_grad():
        assert torch.equal(model(*inputs), loaded.network(*inputs))
    assert loaded.info == {"note": "test"} and loaded.network.config == SMALL


def test_shipped_weights_load_and_are_small() -> None:
    path = default_model_path()
    assert path.stat().st_size <= MAX_WEIGHTS_BYTES
    model = load_motion_model()
    lookahead_s = model.network.config.lookahead_frames / MOTION_FPS
    assert lookahead_s <= 0.040  # the default lookahead, in frames past a frame's own span
    waits_s = -audio_end_to_frame_instant_s(model.network.config.feature_lag) + lookahead_s
    assert waits_s <= 0.080  # all the audio a frame waits for
    assert torch.all(model.network.motion_std > 0)


@pytest.mark.parametrize("content", [None, b"not a model", b""])
def test_bad_model_path_is_one_clear_sentence(tmp_path: Path, content: bytes | None,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "motion.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MotionModelError):
        load_motion_model(path)
    audio = tmp_path / "a.wav"
    soundfile.write(str(audio), np.zeros(8000, np.float32), 16000)
    code = main(["motion", str(audio), "--out", str(tmp_path / "o.csv"), "--model", str(path)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("avatarcam: error: The motion model") and "avatarcam train fit" in lines[0]
    assert not (tmp_path / "o.csv").exists()


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus of a few items, made with the real generator."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed; run install/system-packages.sh")
    out = tmp_path_factory.mktemp("corpus")
    assert main(["train", "data", "--out", str(out), "--hours", "0.03", "--seed", "3", "--workers", "1"]) == 0
    return out


def _fit(corpus: Path, out: Path, steps: int, mouth_weight: float = FitConfig.mouth_loss_weight) -> dict[str, object]:
    """A short training run of the small model."""
    config = FitConfig(steps=steps, batch=16, chunk_span=4, lr=5e-3, warmup=10, log_every=20,
                       eval_every=100, eval_batches=2, ema=0.9, mouth_loss_weight=mouth_weight)
    return fit_model(corpus, out, config, SMALL, echo=lambda _: None)


def test_fit_runs_and_the_loss_falls(tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "motion.pt"
    record = _fit(tiny_corpus, out, steps=200)
    losses = [entry["loss"] for entry in record["losses"]]
    assert len(losses) == 10 and np.mean(losses[-3:]) < 0.92 * np.mean(losses[:3])
    assert json.loads(log_path(out).read_text())["final"]["steps"] == 200
    assert (tiny_corpus / "motion_features.npz").exists()
    assert load_motion_model(out).network.config == SMALL


def test_fit_is_reproducible(tiny_corpus: Path, tmp_path: Path) -> None:
    _fit(tiny_corpus, tmp_path / "a.pt", steps=20)
    _fit(tiny_corpus, tmp_path / "b.pt", steps=20)
    first, second = (load_motion_model(tmp_path / name).network.state_dict() for name in ("a.pt", "b.pt"))
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_mouth_weight_reaches_the_loss(tiny_corpus: Path, tmp_path: Path) -> None:
    weights = field_loss_weights(4.0).numpy()
    mouth = field_mask(MOUTH_LOSS_FIELDS)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[mouth] == pytest.approx(4.0 * weights[~mouth].max())
    _fit(tiny_corpus, tmp_path / "plain.pt", steps=20)
    _fit(tiny_corpus, tmp_path / "mouth.pt", steps=20, mouth_weight=8.0)
    first, second = (load_motion_model(tmp_path / name).network.state_dict() for name in ("plain.pt", "mouth.pt"))
    assert any(not torch.equal(first[key], second[key]) for key in first)


def test_fit_command_passes_its_settings_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[FitConfig] = []
    networks: list[ModelConfig] = []

    def fake_fit(data: Path, out: Path, config: FitConfig, network: ModelConfig, echo: object) -> dict[str, object]:
        seen.append(config)
        networks.append(network)
        return {"final": {"steps": config.steps, "wall_s": 0.0, "heldout_loss": 0.0}}

    monkeypatch.setattr("avatarcam.cli.train.fit_model", fake_fit)
    code = main(["train", "fit", "--data", str(tmp_path), "--out", str(tmp_path / "m.pt"),
                 "--steps", "7", "--seed", "3", "--batch", "8", "--mouth-weight", "4",
                 "--warp", "0.1", "--tilt-db", "5", "--context-noise", "0.3", "--audio-channels", "128",
                 "--floor-rows", "50", "--lookahead-frames", "0"])
    assert code == 0
    assert seen == [FitConfig(seed=3, steps=7, minutes=FitConfig.minutes, batch=8, mouth_loss_weight=4.0,
                              warp=0.1, tilt_db=5.0, context_noise=0.3)]
    assert networks == [ModelConfig(audio_channels=128, floor_rows=50, lookahead_frames=0)]
