"""`avatarcam motion`: the motion the model makes for an audio file, written as a CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avatarcam.constants import MOTION_FPS
from avatarcam.motion.motion_io import write_csv
from avatarcam.motion.offline import motion_for_file


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `motion` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Replays AUDIO through the live path (front end, VAD, streaming motion model) "
        "and writes one CSV row per frame: `t` (seconds from the file's start), every motion field "
        "by name, and `vad` (1 where the live VAD said speech).")
    parser.add_argument("audio", type=Path, metavar="AUDIO", help="audio file (any format ffmpeg reads)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--fps", type=_frame_rate, default=float(MOTION_FPS),
                        help=f"frame rate of the CSV (the model runs at {MOTION_FPS}; others are interpolated)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampler")
    parser.add_argument("--model", type=Path, help="motion weights (default: the shipped models/motion.pt)")
    parser.set_defaults(handler=run)


def _frame_rate(value: str) -> float:
    """An argparse type: a positive frame rate."""
    fps = float(value)
    if not np.isfinite(fps) or fps <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of frames per second, got {value}")
    return fps


def run(args: argparse.Namespace) -> int:
    """Make the motion and write the CSV."""
    result = motion_for_file(args.audio, model_path=args.model, seed=args.seed)
    track, vad = result.track, result.vad
    if args.fps != MOTION_FPS:
        duration = len(track.times) / MOTION_FPS
        new_times = np.arange(int(np.floor(duration * args.fps))) / args.fps
        vad = np.interp(new_times, track.times, vad).round().astype(np.float32)
        track = track.resample(new_times)
    write_csv(args.out, track, {"vad": vad})
    print(f"wrote {len(track.times)} frames ({track.times[-1] + 1.0 / args.fps:.2f} s) to {args.out}")
    return 0
