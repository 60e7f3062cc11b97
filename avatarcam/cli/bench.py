"""`avatarcam bench STAGE`: benchmarks that print figures (no pass/fail)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from avatarcam.audio.benchmark import format_audio_bench, plot_audio_bench, run_audio_bench
from avatarcam.render.benchmark import format_render_bench, run_render_bench
from avatarcam.render.framing import SIZES


def register(subparsers: Any) -> None:
    """Add `bench` with one sub-subcommand per stage that exists."""
    parser = subparsers.add_parser(
        "bench", help="measure speed and latency of a stage",
        description="Benchmarks print measured figures; record them in docs/benchmarks.md.",
    )
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    audio = stages.add_parser(
        "audio", help="audio front end cost per 10 ms and VAD decision delay",
        description="Runs resampling (48 kHz → 16 kHz), VAD and log-mel features over speech in "
        "10 ms blocks and prints the cost per block (µs, p50/p95) and the VAD's decision delay.",
    )
    audio.add_argument("--audio", type=Path, help="speech file to use (default: synthesised with espeak-ng)")
    audio.add_argument("--repeats", type=int, default=5, help="how many times the speech is played")
    audio.add_argument("--json", action="store_true", help="print the figures as JSON")
    audio.add_argument("--plot", type=Path, help="also write a PNG of the cost and delay distributions")
    audio.set_defaults(handler=_run_audio)
    render = stages.add_parser(
        "render", help="render speed per backend and size (fps, ms/frame p50/p95)",
        description="Renders a talking-like motion track one frame at a time with every available "
        "backend at each output size on 2 CPU threads and prints fps and ms/frame p50/p95.",
    )
    render.add_argument("--avatar", type=Path, help="prepared avatar folder (default: the astronaut, prepared on the fly)")
    render.add_argument("--size", choices=tuple(SIZES), action="append", help="output size (repeatable; default: all)")
    render.add_argument("--backend", action="append", help="backend name (repeatable; default: all)")
    render.add_argument("--frames", type=int, default=120, help="frames timed per backend and size")
    render.add_argument("--json", action="store_true", help="print the figures as JSON")
    render.set_defaults(handler=_run_render)


def _run_audio(args: argparse.Namespace) -> int:
    result, samples = run_audio_bench(args.audio, repeats=args.repeats)
    print(json.dumps(asdict(result)) if args.json else format_audio_bench(result))
    if args.plot:
        plot_audio_bench(samples, args.plot)
    return 0


def _run_render(args: argparse.Namespace) -> int:
    report = run_render_bench(args.avatar, sizes=tuple(args.size or SIZES),
                              backends=tuple(args.backend) if args.backend else None, frames=args.frames)
    print(json.dumps(report) if args.json else format_render_bench(report))
    return 0
