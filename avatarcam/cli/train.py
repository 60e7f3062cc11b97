"""`avatarcam train STEP`: making the motion model's training data and training the model."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from avatarcam.motion.model import ModelConfig
from avatarcam.train.corpus import timed_generate
from avatarcam.train.fit import FitConfig, fit_model, log_path

DEFAULT_WEIGHTS = Path("models/motion.pt")

DEFAULT_WORKERS = min(2, os.cpu_count() or 1)


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in `train` with one sub-subcommand per step that exists (main names the parser
    and gives its one-line help)."""
    parser.description = "Steps that build the audio-to-motion model from synthetic speech."
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
    fit = steps.add_parser(
        "fit", help="train the audio-to-motion model on a corpus (CPU)",
        description="Trains the causal flow-matching motion denoiser on a corpus made by "
        "`train data`, caching features in the corpus folder, and writes the weights plus a JSON "
        "training log (OUT with suffix .log.json). The same corpus, seed and --steps give the "
        "same weights; without --steps the step count is sized to --minutes on this machine.",
    )
    fit.add_argument("--data", type=Path, required=True, help="corpus folder (with manifest.json)")
    fit.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="weights file to write")
    fit.add_argument("--minutes", type=_positive(float), default=FitConfig.minutes,
                     help="wall-clock budget; also caps a run given --steps")
    fit.add_argument("--steps", type=_positive(int), help="exact optimiser steps (reproducible)")
    fit.add_argument("--seed", type=int, default=0, help="random seed")
    fit.add_argument("--batch", type=_positive(int), default=FitConfig.batch, help="windows per step")
    fit.add_argument("--mouth-weight", type=_positive(float), default=FitConfig.mouth_loss_weight,
                     help="loss weight of the mouth fields relative to the others")
    fit.add_argument("--warp", type=_positive(float, zero_allowed=True), default=FitConfig.warp,
                     help="vocal-tract warp of training features: factors 1/(1+W) … 1+W (0: off)")
    fit.add_argument("--tilt-db", type=_positive(float, zero_allowed=True), default=FitConfig.tilt_db,
                     help="spectral tilt of training features: ±DB across the bands (0: off)")
    fit.add_argument("--context-noise", type=_positive(float, zero_allowed=True), default=FitConfig.context_noise,
                     help="largest noise std on context frames, in normalised units")
    fit.add_argument("--audio-channels", type=_positive(int), default=ModelConfig.audio_channels,
                     help="width of the network's audio encoder")
    fit.add_argument("--lookahead-frames", type=_positive(int, zero_allowed=True), default=ModelConfig.lookahead_frames,
                     help="40 ms frames of audio past its own each frame waits for (fixed in the weights)")
    fit.add_argument("--feature-lag", type=_positive(int, zero_allowed=True), default=ModelConfig.feature_lag,
                     help="10 ms log-mel windows by which a frame's audio starts before its span; "
                          f"each one above {ModelConfig.feature_lag} makes frames 10 ms sooner (fixed in the weights)")
    fit.add_argument("--floor-rows", type=_positive(int, zero_allowed=True), default=ModelConfig.floor_rows,
                     help="noise-floor input over this many 10 ms log-mel windows (0: off)")
    fit.set_defaults(handler=_run_fit)


def _positive(kind: Callable[[str], float], zero_allowed: bool = False) -> Callable[[str], float]:
    """An argparse type converting with `kind` and rejecting negative values, and zero
    unless `zero_allowed`."""
    def convert(value: str) -> float:
        number = kind(value)
        if number < 0 or (number == 0 and not zero_allowed):
            raise argparse.ArgumentTypeError(f"must be {'0 or more' if zero_allowed else 'greater than 0'}, got {value}")
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


def _run_fit(args: argparse.Namespace) -> int:
    config = FitConfig(seed=args.seed, steps=int(args.steps or 0), minutes=args.minutes, batch=int(args.batch),
                       mouth_loss_weight=args.mouth_weight, warp=args.warp, tilt_db=args.tilt_db,
                       context_noise=args.context_noise)
    network = ModelConfig(audio_channels=int(args.audio_channels), floor_rows=int(args.floor_rows),
                          lookahead_frames=int(args.lookahead_frames), feature_lag=int(args.feature_lag))
    record = fit_model(args.data, args.out, config, network, echo=lambda line: print(line, flush=True))
    final = record["final"]
    assert isinstance(final, dict)
    print(f"wrote {args.out} and {log_path(args.out)}: {final['steps']} steps in {final['wall_s']} s, "
          f"held-out loss {final['heldout_loss']:.4f}")
    return 0
