"""`avatarcam bench STAGE`: benchmarks that print figures (no pass/fail)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from avatarcam.audio.benchmark import format_audio_bench, plot_audio_bench, run_audio_bench


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


def _run_audio(args: argparse.Namespace) -> int:
    result, samples = run_audio_bench(args.audio, repeats=args.repeats)
    print(json.dumps(asdict(result)) if args.json else format_audio_bench(result))
    if args.plot:
        plot_audio_bench(samples, args.plot)
    return 0
