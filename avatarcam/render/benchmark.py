"""`avatarcam bench render`: frames per second and ms per frame of each backend and size.

Frames are rendered one at a time (batch 1), as the live loop does, from a talking-like
motion track so that every part of the graph (mouth, turns, blinks) is exercised.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatarcam.motion.space import index_of, neutral
from avatarcam.render.avatar import Avatar, load_avatar, prepare_avatar
from avatarcam.render.backends import BACKENDS, open_renderer
from avatarcam.render.default_portrait import write_default_portrait
from avatarcam.render.framing import SIZES
from avatarcam.runtime.timing import percentile_summary

CPU_THREADS = 2  # the target laptop budget; also what this project's CI machines have
DEFAULT_FRAMES = 120
WARMUP_FRAMES = 10


def bench_motion(frames: int) -> np.ndarray:
    """A motion track (frames, NUM_FIELDS) with speech-like mouth, head sway and a blink."""
    t = np.arange(frames) / 30.0
    track = neutral(frames)
    for name, values in {
        "jaw_open": 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t),
        "mouth_round": 0.3 + 0.3 * np.sin(2 * np.pi * 1.3 * t),
        "yaw": 15 * np.sin(2 * np.pi * 0.4 * t),
        "pitch": 8 * np.sin(2 * np.pi * 0.3 * t),
        "roll": 5 * np.sin(2 * np.pi * 0.2 * t),
        "blink_l": (np.sin(2 * np.pi * 0.5 * t) > 0.9).astype(float),
        "blink_r": (np.sin(2 * np.pi * 0.5 * t) > 0.9).astype(float),
    }.items():
        track[:, index_of(name)] = values
    return track


def _time_backend(renderer: Any, motion: np.ndarray) -> list[float]:
    """Seconds per frame, rendering `motion` one frame at a time after a warm-up."""
    for frame in motion[:WARMUP_FRAMES]:
        renderer.render(frame[None])
    durations = []
    for frame in motion:
        start = time.perf_counter()
        renderer.render(frame[None])
        durations.append(time.perf_counter() - start)
    return durations


def _astronaut_avatar(folder: Path) -> Avatar:
    """An avatar of scikit-image's astronaut, prepared in `folder`."""
    return prepare_avatar(write_default_portrait(folder / "astronaut.png"), folder / "avatar")


def run_render_bench(avatar_dir: str | Path | None = None, sizes: tuple[str, ...] = tuple(SIZES),
                     backends: tuple[str, ...] | None = None,
                     frames: int = DEFAULT_FRAMES) -> dict[str, Any]:
    """{"results": [{"backend", "size", "fps", "ms_p50", "ms_p95"}, ...], "unavailable":
    {backend: reason}} for each available backend (default: all) and size."""
    torch.set_num_threads(CPU_THREADS)
    names = backends or tuple(BACKENDS)
    motion = bench_motion(frames)
    results: list[dict[str, Any]] = []
    unavailable: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        avatar = load_avatar(avatar_dir) if avatar_dir else _astronaut_avatar(cache)
        for name in names:
            reason = BACKENDS[name].why_unavailable()
            if reason:
                unavailable[name] = reason
                continue
            for size in sizes:
                _, renderer = open_renderer(avatar, size, cache, (name,))
                summary = percentile_summary(_time_backend(renderer, motion), scale=1000.0)
                canvas = avatar.canvas(size).size
                results.append({
                    "backend": name, "size": f"{canvas.width}x{canvas.height}",
                    "fps": round(1000.0 / summary["mean"], 1),
                    "ms_p50": summary["p50"], "ms_p95": summary["p95"],
                })
    return {"results": results, "unavailable": unavailable}


def format_render_bench(report: dict[str, Any]) -> str:
    """The bench report as a text table, with a line per unavailable backend."""
    lines = [f"{'backend':<12} {'size':<10} {'fps':>7} {'ms p50':>8} {'ms p95':>8}"]
    for row in report["results"]:
        lines.append(f"{row['backend']:<12} {row['size']:<10} {row['fps']:>7.1f} "
                     f"{row['ms_p50']:>8.2f} {row['ms_p95']:>8.2f}")
    for name, reason in report["unavailable"].items():
        lines.append(f"{name:<12} unavailable: {reason}")
    return "\n".join(lines)
