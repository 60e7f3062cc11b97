"""`avatarcam train STEP`: making the motion model's training data (and, later, training it)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from avatarcam.train.corpus import timed_generate

DEFAULT_WORKERS = min(2, os.cpu_count() or 1)


def register(subparsers: Any) -> None:
    """Add `train` with one sub-subcommand per step that exists."""
    parser = subparsers.add_parser(
        "train", help="make training data for the audio-to-motion model",
        description="Steps that build the audio-to-motion model from synthetic speech.",
    )
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    data = steps.add_parser(
        "data", help="generate a synthetic speech corpus with motion targets",
        description="Synthesises speech with espeak-ng, flite and festival, augments it (noise, "
        "reverb, gain, telephone band, hum) and writes per item a 16 kHz WAV and a 25 fps motion "
        "CSV (every motion field plus `vad`), with DIR/manifest.json listing items and the "
        "held-out evaluation split. The same seed gives the same files.",
    )
    data.add_argument("--out", type=Path, required=True, help="folder to write the corpus to")
    data.add_argument("--hours", type=_positive(float), default=1.0, help="about how much audio to make")
    data.add_argument("--seed", type=int, default=0, help="random seed; same seed, same corpus")
    data.add_argument("--workers", type=_positive(int), default=DEFAULT_WORKERS, help="parallel processes")
    data.set_defaults(handler=_run_data)


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type converting with `kind` and rejecting zero and negative values."""
    def convert(value: str) -> float:
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
        return number
    return convert


def _run_data(args: argparse.Namespace) -> int:
    manifest, seconds = timed_generate(args.out, args.hours, args.seed, args.workers)
    items = manifest["items"]
    assert isinstance(items, list)
    held = sum(1 for item in items if item["split"] == "heldout")
    print(f"wrote {len(items)} items ({manifest['hours']} h of audio, {held} held out) to "
          f"{args.out} in {seconds:.1f} s")
    return 0
