"""`avatarcam run`: the live avatar — microphone (or a file) in, virtual camera (and/or a
file, a preview window) out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avatarcam.control.settings import load_settings
from avatarcam.render.backends import BACKENDS, DEFAULT_ORDER
from avatarcam.render.framing import SIZES
from avatarcam.audio.virtual_mic import VirtualMicError, parse_audio_delay
from avatarcam.runtime.session import RunRequest, run_session

DEFAULT_SINKS = ("virtualcam",)


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `run` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Listens to the microphone (or plays a file in real time), moves the "
        "portrait's face with the motion model and sends the frames to every sink asked for. "
        "Ctrl-C or SIGTERM closes the camera, finishes the mp4 and restores audio routing.")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--portrait", type=Path, help="a photo (prepared once, then cached)")
    who.add_argument("--avatar", type=Path, help="an avatar folder from `avatarcam prepare`")
    add_run_options(parser)
    parser.add_argument("--mic", help="microphone name (a unique part is enough) or index; see `avatarcam devices`")
    parser.add_argument("--audio-file", type=Path, help="play this file in real time instead of the microphone")
    parser.add_argument("--sink", action="append", metavar="SPEC",
                        help="virtualcam[:DEVICE], file:OUT.mp4, preview or null; repeat for several "
                        f"(default: {', '.join(DEFAULT_SINKS)})")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--stats-json", type=Path, help="write latency, fps, drops, CPU and memory here at exit")
    parser.set_defaults(handler=run)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options `run` and `demo` share."""
    parser.add_argument("--fps", type=float, default=30.0, help="output frame rate (default 30)")
    parser.add_argument("--size", choices=list(SIZES), default="512", help="output size (default 512)")
    parser.add_argument("--backend", action="append", choices=list(BACKENDS),
                        help=f"render backend, tried in order (default: {', '.join(DEFAULT_ORDER)})")
    parser.add_argument("--delay-audio", metavar="auto|MS", type=check_delay,
                        help="play the input, delayed to match the lips, into the 'AvatarCam Mic' "
                        "source (auto: by the measured latency)")
    parser.add_argument("--config", type=Path, help="settings file (see configs/avatarcam.toml)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the motion model's sampling")
    parser.add_argument("--model", type=Path, help="motion model weights (default: the shipped "
                        "models/motion-lookahead0.pt, 40 ms sooner, with the voice heard live; "
                        "models/motion.pt, whose lips close better, with --delay-audio)")
    parser.add_argument("--no-hotkeys", action="store_true", help="do not listen for global hotkeys")


def check_delay(value: str) -> str:
    """`--delay-audio` as given, once it reads as "auto" or milliseconds in range."""
    try:
        parse_audio_delay(value)
    except VirtualMicError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def run(args: argparse.Namespace) -> int:
    """Run until stopped and print (and optionally write) the figures."""
    request = RunRequest(
        portrait=args.portrait, avatar_dir=args.avatar, mic=args.mic, audio_file=args.audio_file,
        sinks=tuple(args.sink or DEFAULT_SINKS), fps=args.fps, size=args.size,
        duration_s=args.duration, delay_audio=args.delay_audio,
        backends=tuple(args.backend or DEFAULT_ORDER), seed=args.seed, model_path=args.model,
        hotkeys=not args.no_hotkeys, settings=load_settings(args.config),
    )
    stats = run_session(request)
    summary = stats.summary()
    print(json.dumps(summary))
    if args.stats_json:
        stats.write_json(args.stats_json)
    return 0
