"""`avatarcam bench STAGE`: benchmarks that print figures (no pass/fail)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from avatarcam.audio.benchmark import format_audio_bench, plot_audio_bench, run_audio_bench
from avatarcam.motion.benchmark import format_motion_bench, run_motion_bench
from avatarcam.render.benchmark import format_render_bench, run_render_bench
from avatarcam.render.backends import DEFAULT_ORDER
from avatarcam.render.framing import SIZES
from avatarcam.runtime.e2e_benchmark import format_e2e, plot_latency, plot_timeline, run_e2e_bench

LONG_RUN_S = 630.0  # past the 10-minute memory mark


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in `bench` with one sub-subcommand per stage that exists (main names the parser
    and gives its one-line help)."""
    parser.description = "Benchmarks print measured figures; record them in docs/benchmarks.md."
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
    motion = stages.add_parser(
        "motion", help="motion model cost per streaming chunk (ms p50/p95, CPU 1 thread and CUDA)",
        description="Drives the streaming motion model chunk by chunk for each chunk size and step "
        "count and prints ms per chunk and per motion frame (p50/p95) on one CPU thread, and on "
        "CUDA when torch sees a GPU.",
    )
    motion.add_argument("--model", type=Path, help="motion weights (default: the shipped models/motion.pt)")
    motion.add_argument("--frames", type=int, default=250, help="motion frames timed per configuration")
    motion.add_argument("--json", action="store_true", help="print the figures as JSON")
    motion.set_defaults(handler=_run_motion)
    e2e = stages.add_parser(
        "e2e", help="the whole realtime loop from a file into the null sink: latency, fps, drops, CPU, memory",
        description="Plays speech (espeak-ng, or --audio) at real-time pace through the VAD, the "
        "motion model and the renderer into the null sink, and prints latency from audio capture "
        "to frame hand-off (p50/p95/max), fps, drops after a 5 s warm-up, first-frame delays, CPU "
        "and memory (after 1 and, with --long, 10 minutes).",
    )
    e2e.add_argument("--seconds", type=float, default=60.0, help="how long to run (default 60)")
    e2e.add_argument("--long", action="store_true", help="run 10.5 minutes to check for memory growth")
    e2e.add_argument("--size", choices=tuple(SIZES), default="512", help="output size (default 512)")
    e2e.add_argument("--fps", type=float, default=30.0, help="output frame rate (default 30)")
    e2e.add_argument("--backend", action="append", help="render backend (default: the first that runs)")
    e2e.add_argument("--audio", type=Path, help="speech file to play instead of espeak-ng speech")
    e2e.add_argument("--model", type=Path, help="motion weights (default: those `run` takes with the voice "
                     "heard live, models/motion-lookahead0.pt)")
    e2e.add_argument("--render-workers", type=int, choices=(1, 2, 3, 4),
                     help="frames rendered at once (default: two on the CPU, one on a GPU)")
    e2e.add_argument("--json", action="store_true", help="print the figures as JSON")
    e2e.add_argument("--plot", type=Path, help="also write a latency histogram (PNG)")
    e2e.add_argument("--timeline", type=Path,
                     help="also write render times, dropped ticks, stolen CPU time and machine stalls "
                     "over the run (PNG)")
    e2e.set_defaults(handler=_run_e2e)


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


def _run_motion(args: argparse.Namespace) -> int:
    report = run_motion_bench(args.model, frames=args.frames)
    print(json.dumps(report) if args.json else format_motion_bench(report))
    return 0


def _run_e2e(args: argparse.Namespace) -> int:
    seconds = LONG_RUN_S if args.long else args.seconds
    summary, stats, load = run_e2e_bench(seconds, args.size, args.fps, tuple(args.backend or DEFAULT_ORDER),
                                         args.audio, args.model, args.render_workers)
    print(json.dumps(summary) if args.json else format_e2e(summary))
    if args.plot:
        plot_latency(stats, args.plot)
    if args.timeline:
        plot_timeline(stats, load, args.timeline)
    return 0
