"""`avatarcam eval STEP`: the lip-sync evaluation of the motion model against the
loudness baseline, and the tuning of that baseline."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from avatarcam.cli.table import format_table
from avatarcam.errors import AvatarcamError
from avatarcam.constants import MOTION_FPS
from avatarcam.motion.loudness_baseline import TUNED, TUNING_CORPUS_COMMAND
from avatarcam.train import corpus
from avatarcam.train.lipsync_eval import (
    EvalItem,
    Predictor,
    baseline_predictor,
    corpus_items,
    evaluate,
    model_predictor,
    real_items,
    real_speech_folder,
    score,
    tune_baseline,
    tuning_items,
)
from avatarcam.train.lipsync_report import (
    HEADERS,
    EvalSummary,
    ScoreRow,
    document,
    example_window,
    plot_item,
    table_cells,
)

DEFAULT_HOURS = 0.5  # corpus made when --data is absent; about a third of it is held out
DEFAULT_SEED = 1  # not the shipped model's corpus seed (0), so the texts differ too
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
DOC_NAME = "eval_lipsync.md"
IMAGE_DIR = "images"
TARGETS = "targets (ceiling)"
SYNTHETIC, REAL = "synthetic held-out", "real speech"
DEFAULT_REAL_NAME = "../shared/data/real-speech"  # how the report names real_speech_folder()


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in `eval` with its steps (main names the parser and gives its one-line help)."""
    parser.description = "Evaluations that print measured figures; `lipsync --out docs` records them."
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    lipsync = steps.add_parser(
        "lipsync", help="score the motion model and the loudness baseline on held-out and real speech",
        description="Scores jaw_open from the motion model and from the tuned loudness baseline "
        "against targets: on the held-out split of a synthetic corpus (made with --hours and "
        "--seed when --data is absent) and on real clips with transcripts, aligned by "
        "espeak-ng and dynamic time warping. Prints a table; with --out also writes "
        "OUT/eval_lipsync.md and plots in OUT/images/.",
    )
    lipsync.add_argument("--data", type=Path, help="corpus folder from `avatarcam train data` (default: make one)")
    lipsync.add_argument("--hours", type=float, default=DEFAULT_HOURS, help="size of the corpus made without --data")
    lipsync.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the corpus made without --data")
    lipsync.add_argument("--real", type=Path, default=real_speech_folder(),
                         help=f"folder of real NAME.wav + NAME.txt clips (default: {DEFAULT_REAL_NAME})")
    lipsync.add_argument("--model", type=Path, help="motion model weights (default: the shipped model)")
    lipsync.add_argument("--baseline-only", action="store_true", help="score the baseline alone")
    lipsync.add_argument("--out", type=Path, help="folder to write eval_lipsync.md and images/ into, e.g. docs")
    lipsync.set_defaults(handler=_run_lipsync)
    tune = steps.add_parser(
        "tune-baseline", help="grid-search the loudness baseline's settings on a corpus's train split",
        description="Searches the loudness baseline's settings for the best Pearson r of jaw_open "
        "on the TRAIN split of a corpus and prints them, for loudness_baseline.TUNED.",
    )
    tune.add_argument("--data", type=Path, required=True, help="corpus folder from `avatarcam train data`")
    tune.set_defaults(handler=_run_tune)


def _run_tune(args: argparse.Namespace) -> int:
    result = tune_baseline(tuning_items(args.data))
    print(f"best of {result.candidates} settings on {result.frames} train frames: r = {result.r:.4f}")
    print(f"TUNED = {result.params}")
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this evaluation."""
    parts = ["avatarcam eval lipsync"]
    parts += [f"--data {args.data}"] if args.data else [f"--hours {args.hours:g}", f"--seed {args.seed}"]
    if args.real != real_speech_folder():
        parts.append(f"--real {args.real}")
    if args.model:
        parts.append(f"--model {args.model}")
    if args.baseline_only:
        parts.append("--baseline-only")
    if args.out:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def _predictors(args: argparse.Namespace) -> tuple[dict[str, Predictor], str]:
    """The predictors to score and one line on the model: what was loaded, or why not.
    A model named with --model must load; a missing default model is reported and skipped."""
    baseline = {"baseline": baseline_predictor()}
    if args.baseline_only:
        return baseline, "not scored (--baseline-only)."
    try:
        model = model_predictor(args.model)
    except AvatarcamError as err:
        if args.model is not None:
            raise
        print(f"avatarcam: note: {err}", file=sys.stderr)
        return baseline, f"not scored: {err}"
    name = f"`{args.model}`" if args.model else "the shipped model"
    return {"model": model, **baseline}, f"{name}, run through its streaming path (`motion_for_file`, seed 0)."


def _synthetic(args: argparse.Namespace, work: Path) -> tuple[list[EvalItem], str]:
    """The held-out synthetic items and a line describing them."""
    folder = args.data
    if folder is None:
        folder = work / "corpus"
        print(f"making a {args.hours:g} h corpus (seed {args.seed}) for its held-out split ...", flush=True)
        corpus.generate(folder, args.hours, args.seed, DEFAULT_WORKERS)
    items = corpus_items(folder)
    seconds = sum(item.target.size for item in items) / MOTION_FPS
    origin = (f"the corpus in `{args.data}`" if args.data else
              f"a {args.hours:g} h corpus made by `avatarcam train data --hours {args.hours:g} --seed {args.seed}`")
    return items, (f"{len(items)} items ({seconds / 60:.1f} min) of the held-out split of {origin}: "
                   "the synthesizer and voices never used in training, augmented like training data; "
                   "targets are the corpus CSVs, phones its phone files.")


def _real(args: argparse.Namespace) -> tuple[list[EvalItem], str]:
    """The real clips and a line describing them, or none and why."""
    if not args.real.is_dir():
        note = f"none: no folder {args.real} (pass --real DIR)."
        print(f"avatarcam: note: real speech left out, {note}", file=sys.stderr)
        return [], note
    items = real_items(args.real)
    seconds = sum(item.target.size for item in items) / MOTION_FPS
    where = DEFAULT_REAL_NAME if args.real == real_speech_folder() else args.real
    return items, (f"{len(items)} clips ({seconds:.1f} s) from `{where}`: "
                   f"{', '.join(item.name for item in items)}; phones aligned from the transcripts "
                   "(espeak-ng + DTW, `real_speech_alignment.py`), targets = viseme targets of those phones.")


def _score_sets(sets: dict[str, list[EvalItem]], predictors: dict[str, Predictor]
                ) -> tuple[list[ScoreRow], dict[str, dict[str, list[np.ndarray]]]]:
    """Score every predictor on every non-empty set; the rows and the predictions."""
    rows, predictions = [], {}
    for set_name, items in sets.items():
        if not items:
            continue
        rows.append(ScoreRow(set_name, TARGETS, score([i.target for i in items], items)))
        predictions[set_name] = {}
        for name, predictor in predictors.items():
            print(f"scoring {name} on {set_name} ({len(items)} items) ...", flush=True)
            scores, predictions[set_name][name] = evaluate(predictor, items)
            rows.append(ScoreRow(set_name, name, scores))
    return rows, predictions


def _plots(out: Path, sets: dict[str, list[EvalItem]],
           predictions: dict[str, dict[str, list[np.ndarray]]]) -> list[str]:
    """Plots of every real clip and of one synthetic item; their paths relative to `out`."""
    written = []
    for set_name, items in sets.items():
        shown = items[:1] if set_name == SYNTHETIC else items
        for index, item in enumerate(shown):
            name = f"lipsync_{'synthetic' if set_name == SYNTHETIC else item.name}.png"
            curves = {p: jaws[index] for p, jaws in predictions.get(set_name, {}).items()}
            window = example_window(item) if set_name == SYNTHETIC else None
            plot_item(item, curves, out / IMAGE_DIR / name, window)
            written.append(f"{IMAGE_DIR}/{name}")
    return written


def _run_lipsync(args: argparse.Namespace) -> int:
    predictors, model_line = _predictors(args)
    with tempfile.TemporaryDirectory(prefix="avatarcam-eval-") as work:
        synthetic, synthetic_line = _synthetic(args, Path(work))
        real, real_line = _real(args)
        sets = {SYNTHETIC: synthetic, REAL: real}
        rows, predictions = _score_sets(sets, predictors)
        print(format_table(HEADERS, table_cells(rows)))
        if args.out:
            images = _plots(args.out, sets, predictions)
            summary = EvalSummary(_command(args), synthetic_line, real_line, model_line,
                                  _baseline_line(), "avatarcam eval tune-baseline --data DIR", images)
            (args.out / DOC_NAME).write_text(document(rows, summary), encoding="utf-8")
            print(f"wrote {args.out / DOC_NAME} and {len(images)} plots in {args.out / IMAGE_DIR}")
    return 0


def _baseline_line() -> str:
    """The baseline's settings in words."""
    p = TUNED
    return (f"loudness of each 10 ms block mapped between an adaptive noise floor (+{p.gate_db:g} dB; the floor "
            f"rises at {p.floor_rise_db_s:g} dB/s) and the tracked peak (−{p.headroom_db:g} dB; it falls at "
            f"{p.peak_fall_db_s:g} dB/s), attack {p.attack_ms:g} ms, release {p.release_ms:g} ms, "
            f"lookahead {p.lookahead_ms} ms; settings tuned for the best r on the TRAIN split of "
            f"`{TUNING_CORPUS_COMMAND}`.")

