"""What `avatarcam eval lipsync` shows: the score table (as cells for the terminal and as
Markdown for docs/eval_lipsync.md) and plots of jaw_open against the waveform."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avatarcam.constants import MOTION_FPS, SAMPLE_RATE
from avatarcam.plotting import pyplot
from avatarcam.train.lipsync_eval import (
    CLOSED_JAW,
    MAX_LAG_FRAMES,
    OPEN_JAW,
    OPEN_RISE,
    PAUSE_JAW,
    PAUSE_MIN_S,
    PAUSE_SETTLE_S,
    Counted,
    EvalItem,
    LipSyncScores,
    read_16k,
)
from avatarcam.train.phonemes import BILABIALS, SILENCE

HEADERS = ("set", "predictor", "r (best lag)", "best lag", "r (lag 0)",
           f"m/b/p closed (<{CLOSED_JAW})", f"vowels open (>{OPEN_JAW})",
           f"syllables opened (+{OPEN_RISE})", f"pauses shut (<{PAUSE_JAW})")
FRAME_MS = 1000 // MOTION_FPS
PLOT_SECONDS = 10.0  # the synthetic example shows this much of its item
COLOURS = {"target": "black", "model": "tab:blue", "baseline": "tab:orange"}


@dataclass(frozen=True)
class ScoreRow:
    """One predictor's scores on one evaluation set."""

    set_name: str
    predictor: str
    scores: LipSyncScores


def _counted(value: Counted) -> str:
    """A fraction with the number of frames it is of."""
    shown = "n/a" if value.frames == 0 else f"{value.fraction:.2f}"
    return f"{shown} (n={value.frames})"


def table_cells(rows: Sequence[ScoreRow]) -> list[list[str]]:
    """The cells of the score table, one row per (set, predictor), in `HEADERS` order."""
    return [[row.set_name, row.predictor, f"{row.scores.r:.3f}", f"{row.scores.lag * FRAME_MS:+d} ms",
             f"{row.scores.r_at_zero:.3f}", _counted(row.scores.closure), _counted(row.scores.opening),
             _counted(row.scores.syllables), _counted(row.scores.pause)] for row in rows]


def markdown_table(rows: Sequence[ScoreRow]) -> str:
    """The score table in Markdown."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + " --- |" * len(HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_cells(rows)]
    return "\n".join(lines)


def metric_notes() -> str:
    """How each column is measured, with the thresholds the code uses."""
    return "\n".join([
        f"- **r (best lag)**: Pearson correlation of predicted and target jaw_open over all frames "
        f"of the set, at the prediction delay within ±{MAX_LAG_FRAMES} frames (±{MAX_LAG_FRAMES * FRAME_MS} ms) "
        "that gives the highest r; **best lag** is that delay (positive: the prediction is late). "
        "**r (lag 0)** is the same at the predictor's own timing.",
        f"- **m/b/p closed**: share of frames at the centre of an m, b or p where jaw_open < {CLOSED_JAW}.",
        f"- **vowels open**: share of frames at the centre of a vowel where jaw_open > {OPEN_JAW}; a mouth "
        "that is always open scores 1.00 here, so this figure cannot tell a predictor that follows the "
        "syllables from one that gapes.",
        f"- **syllables opened**: share of syllables (a vowel with a consonant or a pause before it) at "
        f"whose vowel centre jaw_open > {OPEN_JAW} and has risen at least {OPEN_RISE} above its lowest value "
        "since the previous vowel's centre: the mouth opens for each syllable instead of hanging open.",
        f"- **pauses shut**: share of frames more than {PAUSE_SETTLE_S * 1000:.0f} ms into a pause of at "
        f"least {PAUSE_MIN_S * 1000:.0f} ms where jaw_open < {PAUSE_JAW}.",
        "- The four shares are taken at lag 0; n is the number of frames (syllables) scored.",
        "- The model is compared with the baseline on r, m/b/p closed, syllables opened and pauses "
        "shut. Vowels open is shown as a check that the mouth opens at all, not as a contest: the "
        "targets themselves score below a mouth that never closes.",
    ])


def plot_item(item: EvalItem, predictions: Mapping[str, npt.ArrayLike], path: Path,
              window: tuple[float, float] | None = None) -> None:
    """A PNG of the item's waveform above its target jaw_open and each predictor's, with
    the m/b/p centres marked, over `window` seconds (default: the whole item)."""
    plt = pyplot()

    samples = read_16k(item.audio)
    start, end = window or (0.0, samples.size / SAMPLE_RATE)
    fig, (wave_ax, jaw_ax) = plt.subplots(2, 1, figsize=(11, 4.6), sharex=True,
                                          gridspec_kw={"height_ratios": [1, 1.6]})
    first, last = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    wave_ax.plot(np.arange(first, min(last, samples.size)) / SAMPLE_RATE, samples[first:last],
                 color="0.35", linewidth=0.5)
    wave_ax.set_ylabel("waveform")
    curves = {"target": item.target, **predictions}
    for name, values in curves.items():
        jaw = np.asarray(values, dtype=np.float64)
        jaw_ax.plot(np.arange(jaw.size) / MOTION_FPS, jaw, label=name, color=COLOURS.get(name),
                    linewidth=1.6 if name == "target" else 1.2)
    for phone in item.phones:
        if phone.name in BILABIALS and start <= phone.centre <= end:
            for ax in (wave_ax, jaw_ax):
                ax.axvline(phone.centre, color="tab:red", linewidth=0.8, linestyle="--", alpha=0.7)
            wave_ax.annotate(phone.name, (phone.centre, 1.0), xycoords=("data", "axes fraction"),
                             ha="center", va="bottom", color="tab:red", fontsize=8)
        if phone.name == SILENCE and phone.end - phone.start >= PAUSE_MIN_S:
            jaw_ax.axvspan(max(start, phone.start), min(end, phone.end), color="0.92", zorder=0)
    jaw_ax.axhline(CLOSED_JAW, color="tab:red", linewidth=0.6, alpha=0.5)
    jaw_ax.set_xlim(start, end)
    jaw_ax.set_ylim(-0.02, 0.85)
    jaw_ax.set_ylabel("jaw_open")
    jaw_ax.set_xlabel("seconds (dashed: m/b/p centres; grey: pauses; red line: closed threshold)")
    jaw_ax.legend(loc="upper right", fontsize=8, ncol=len(curves))
    wave_ax.set_title(f"{item.name}: target and predicted jaw_open", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def example_window(item: EvalItem) -> tuple[float, float]:
    """A PLOT_SECONDS window of `item` starting shortly before its first speech."""
    first = next((p.start for p in item.phones if p.name != SILENCE), 0.0)
    start = max(0.0, first - 0.5)
    return start, min(start + PLOT_SECONDS, item.target.size / MOTION_FPS)


@dataclass(frozen=True)
class EvalSummary:
    """Everything docs/eval_lipsync.md states besides the table."""

    command: str  # the command that produced the figures
    synthetic: str  # one line on the held-out synthetic set
    real: str  # one line on the real clips, or why they were left out
    model: str  # one line on the model scored, or why it was not
    baseline: str  # the baseline's settings
    tuning_command: str  # how those settings were found
    images: Sequence[str]  # image paths relative to the document


def document(rows: Sequence[ScoreRow], summary: EvalSummary) -> str:
    """docs/eval_lipsync.md: what was compared, how, the figures and the plots."""
    images = "\n\n".join(f"![{Path(image).stem}]({image})" for image in summary.images)
    return "\n".join([
        "# Lip-sync evaluation: motion model against the loudness baseline",
        "",
        "Simple microphone-driven avatars open the mouth with loudness. This compares the "
        "motion model's jaw_open with such a baseline, tuned for itself, on synthetic voices "
        "never used in training and on real recorded speech.",
        "",
        f"Produced by `{summary.command}` (written by that command; do not edit by hand).",
        "",
        "## Data",
        "",
        f"- Synthetic held-out: {summary.synthetic}",
        f"- Real speech: {summary.real}",
        "",
        "## Predictors",
        "",
        f"- Model: {summary.model}",
        f"- Baseline: {summary.baseline} Tuned with `{summary.tuning_command}`.",
        "",
        "## Scores",
        "",
        markdown_table(rows),
        "",
        metric_notes(),
        "",
        "## Plots",
        "",
        images,
        "",
    ])
