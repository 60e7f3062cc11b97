"""The motion model's chunk runners: the exported chunk graph in ONNX Runtime against eager
torch, the graph cache, and the fall-back to torch."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from avatarcam.motion import onnx_export
from avatarcam.motion.chunk_runner import OnnxChunkRunner, TorchChunkRunner, open_chunk_runner
from avatarcam.motion.chunk_sampler import ChunkSampler
from avatarcam.motion.offline import motion_for_file
from avatarcam.motion.sampler import linear_schedule, sample_euler
from avatarcam.motion.stream import LoadedMotionModel, StreamConfig, load_motion_model
from tests.test_motion_stream import _real_clips

TOLERANCE = 1e-4  # normalised units (chunk) and motion units (frames); measured gaps are ~2e-6


@pytest.fixture(scope="module")
def shipped() -> LoadedMotionModel:
    return load_motion_model()


def _open(model: LoadedMotionModel, graphs: Path | None, steps: int = 2, chunk: int = 1,
          context: int | None = None):
    context = model.network.config.context_frames if context is None else context
    return open_chunk_runner(model.network, model.path, model.device, steps, chunk, context, graphs)


@pytest.mark.parametrize("chunk, steps", [(1, 2), (2, 4)])
def test_chunk_graph_matches_eager_torch(shipped: LoadedMotionModel, tmp_path: Path, chunk: int, steps: int) -> None:
    runner = _open(shipped, tmp_path, steps=steps, chunk=chunk)
    assert runner.name == "onnxruntime"
    for seed in range(3):
        inputs = [t.numpy() for t in onnx_export.example_inputs(shipped.network, chunk, seed=seed)]
        with torch.no_grad():
            expected = ChunkSampler(shipped.network, steps)(*map(torch.from_numpy, inputs)).numpy()
        got = runner(inputs)
        assert got.shape == expected.shape == (1, chunk, expected.shape[-1])
        assert float(np.abs(got - expected).max()) <= TOLERANCE
        assert float(np.abs(expected).max()) > 0.1  # the comparison is not between two zeros


@pytest.mark.parametrize("chunk", [1, 3])
def test_the_chunk_sampler_integrates_the_whole_windows_velocity(shipped: LoadedMotionModel, chunk: int) -> None:
    net = shipped.network
    history, noise, mel, vad, target, weight = onnx_export.example_inputs(net, chunk, seed=1)
    context = history.shape[1]
    known = torch.cat((torch.ones(1, context), torch.zeros(1, chunk)), dim=1)
    with torch.no_grad():
        audio, preset = net.encode_audio(mel, vad), net.encode_preset(target, weight)

        def whole_window(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return net.velocity(torch.cat((history, x), dim=1), known, t, audio, preset)[:, context:]

        expected = sample_euler(whole_window, noise, linear_schedule(2))
        got = ChunkSampler(net, 2)(history, noise, mel, vad, target, weight)
    assert float((got - expected).abs().max()) <= TOLERANCE and float(expected.abs().max()) > 0.1


def test_streamed_real_speech_is_the_same_on_both_runtimes(tmp_path: Path) -> None:
    clip = _real_clips()[0]
    config = StreamConfig(chunk_frames=4)  # the stream's last chunk is shorter: the fall-back's shape
    on_torch = motion_for_file(clip, config=config).track.frames
    on_ort = motion_for_file(clip, config=config, graphs=tmp_path).track.frames
    assert len(list(tmp_path.glob("motion_*.onnx"))) == 1
    assert on_torch.shape == on_ort.shape and len(on_torch) % 4 != 0
    assert float(np.abs(on_torch - on_ort).max()) <= TOLERANCE


def test_other_window_shapes_go_to_the_fallback(shipped: LoadedMotionModel, tmp_path: Path) -> None:
    asked: list[tuple[int, ...]] = []

    def fallback(inputs):
        asked.append(inputs[1].shape)
        return np.zeros_like(inputs[1])

    fallback.name = "recording"  # type: ignore[attr-defined]
    graph = onnx_export.export_onnx(shipped.network, tmp_path / "g.onnx", chunk_frames=2, steps=2)
    runner = OnnxChunkRunner(graph, fallback)
    runner([t.numpy() for t in onnx_export.example_inputs(shipped.network, 2)])
    assert asked == []
    runner([t.numpy() for t in onnx_export.example_inputs(shipped.network, 1)])
    assert asked == [(1, 1, shipped.network.config.fields)]


def test_the_graph_is_exported_once_per_weights_and_window(shipped: LoadedMotionModel, tmp_path: Path) -> None:
    _open(shipped, tmp_path)
    (first,) = tmp_path.glob("*.onnx")
    stamp = first.stat().st_mtime_ns
    _open(shipped, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [first.name] and first.stat().st_mtime_ns == stamp
    _open(shipped, tmp_path, steps=1)
    assert len(list(tmp_path.glob("*.onnx"))) == 2 and not list(tmp_path.glob("*.part"))


def test_torch_runs_it_without_a_graph_folder_or_a_context(shipped: LoadedMotionModel, tmp_path: Path) -> None:
    assert isinstance(_open(shipped, None), TorchChunkRunner)
    assert isinstance(_open(shipped, tmp_path, context=0), TorchChunkRunner)
    assert not list(tmp_path.iterdir())


def test_a_failed_export_falls_back_to_torch_in_one_sentence(shipped: LoadedMotionModel, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("Exporting the operator 'aten::boom' is not supported\nlong trace")

    monkeypatch.setattr(onnx_export, "export_onnx", broken)
    with caplog.at_level(logging.WARNING):
        runner = _open(shipped, tmp_path)
    assert runner.name == "torch"
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "aten::boom" in message and "long trace" not in message and "torch" in message
    assert not list(tmp_path.iterdir())


def test_a_damaged_cached_graph_is_exported_again(shipped: LoadedMotionModel, tmp_path: Path) -> None:
    _open(shipped, tmp_path)
    (graph,) = tmp_path.glob("*.onnx")
    graph.write_bytes(graph.read_bytes()[:1000])  # cut short, as a full disk would leave it
    runner = _open(shipped, tmp_path)
    assert runner.name == "onnxruntime" and graph.stat().st_size > 1000
    inputs = [t.numpy() for t in onnx_export.example_inputs(shipped.network, 1)]
    assert np.all(np.isfinite(runner(inputs)))


def test_an_unwritable_graph_folder_is_named_in_the_warning(shipped: LoadedMotionModel, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "graphs"
    blocked.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        runner = _open(shipped, blocked)
    assert runner.name == "torch"
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(blocked) in record.getMessage() and "writable" in record.getMessage()
