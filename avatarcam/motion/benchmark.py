"""`avatarcam bench motion`: what one streaming chunk of the motion model costs.

Each configuration drives a real `MotionStreamer` with front-end steps that each complete
one chunk of audio, and times `push` (framing, audio encoder, the sampler's steps, clamping):
the work the live engine does per chunk. The CPU runs on one thread, as the engine budgets it,
once with the chunks in eager torch and once in ONNX Runtime (what `avatarcam run` uses there).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from avatarcam.audio.features import log_mel
from avatarcam.cli.table import format_table
from avatarcam.audio.frontend import FrontendStep
from avatarcam.constants import FEATURES_PER_MOTION_FRAME, HOP_LENGTH, SAMPLE_RATE, SAMPLES_PER_MOTION_FRAME
from avatarcam.motion.stream import LoadedMotionModel, MotionStreamer, StreamConfig, load_motion_model
from avatarcam.runtime.timing import percentile_summary

CPU_THREADS = 1
CHUNK_FRAMES = (1, 2, 4)
STEPS = (1, 2, 4)
WARMUP_CHUNKS = 5  # untimed chunks first: allocator and kernel caches warm up


def _feature_steps(frames: int, chunk: int, seed: int = 0) -> list[FrontendStep]:
    """Front-end steps, each completing `chunk` motion frames of noise-like audio."""
    rng = np.random.default_rng(seed)
    samples = (0.1 * rng.standard_normal((frames + 2) * SAMPLES_PER_MOTION_FRAME)).astype(np.float32)
    features = log_mel(samples)
    times = (np.arange(len(features)) * HOP_LENGTH + HOP_LENGTH) / SAMPLE_RATE
    per_step = chunk * FEATURES_PER_MOTION_FRAME
    return [
        FrontendStep(features=features[i : i + per_step], feature_times=times[i : i + per_step],
                     vad=[], vad_times=np.zeros(0), speech=False)
        for i in range(0, len(features) - per_step + 1, per_step)
    ]


def _synchronise(device: str) -> None:
    """Wait for queued GPU work, so a timing covers it."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_config(model: LoadedMotionModel, config: StreamConfig, frames: int,
                graphs: Path | None = None) -> list[float]:
    """Seconds per `push` that produced a chunk, over about `frames` motion frames (chunks
    in ONNX Runtime with its graphs in `graphs` when given, else in torch)."""
    streamer = MotionStreamer(model, config, graphs=graphs)
    durations: list[float] = []
    for index, step in enumerate(_feature_steps(frames + WARMUP_CHUNKS * config.chunk_frames, config.chunk_frames)):
        _synchronise(model.device)
        start = time.perf_counter()
        produced = streamer.push(step)
        _synchronise(model.device)
        if produced and index >= WARMUP_CHUNKS:
            durations.append(time.perf_counter() - start)
    return durations


def runtimes() -> list[tuple[str, str]]:
    """(device, runtime) pairs benchmarked here: the CPU in torch and in ONNX Runtime, and
    CUDA in torch when torch sees a GPU."""
    cpu = [("cpu", "torch"), ("cpu", "onnxruntime")]
    return [*cpu, ("cuda", "torch")] if torch.cuda.is_available() else cpu


def run_motion_bench(model_path: Path | None = None, frames: int = 250) -> dict[str, object]:
    """ms per chunk (and per frame) p50/p95 for every chunk size and step count, per device."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    results: list[dict[str, object]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="avatarcam-graphs-") as tmp:
            for device, runtime in runtimes():
                model = load_motion_model(model_path, device=device)
                graphs = Path(tmp) if runtime == "onnxruntime" else None
                for chunk in CHUNK_FRAMES:
                    for steps in STEPS:
                        config = StreamConfig(chunk_frames=chunk, steps=steps)
                        summary = percentile_summary(time_config(model, config, frames, graphs), scale=1000.0)
                        results.append({
                            "device": device, "runtime": runtime, "chunk_frames": chunk, "steps": steps,
                            "ms_p50": summary["p50"], "ms_p95": summary["p95"],
                            "ms_per_frame_p50": round(summary["p50"] / chunk, 3),
                            "ms_per_frame_p95": round(summary["p95"] / chunk, 3),
                        })
    finally:
        torch.set_num_threads(previous_threads)
    default = StreamConfig()
    return {"cpu_threads": CPU_THREADS, "frames": frames,
            "default": {"chunk_frames": default.chunk_frames, "steps": default.steps},
            "results": results}


def format_motion_bench(report: dict[str, object]) -> str:
    """The figures as a table."""
    rows = [[str(r["device"]), str(r["runtime"]), str(r["chunk_frames"]), str(r["steps"]), f"{r['ms_p50']:.2f}",
             f"{r['ms_p95']:.2f}", f"{r['ms_per_frame_p50']:.2f}", f"{r['ms_per_frame_p95']:.2f}"]
            for r in report["results"]]  # type: ignore[union-attr]
    table = format_table(["device", "runtime", "chunk", "steps", "ms/chunk p50", "p95", "ms/frame p50", "p95"], rows)
    return f"motion model, {report['cpu_threads']} CPU thread, {report['frames']} frames per row\n{table}"
