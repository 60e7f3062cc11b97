"""Lip-sync evaluation: how well a predictor's jaw_open follows speech, on held-out
synthetic items (targets from the corpus) and on real recordings (targets from phones
aligned to their transcripts), scored the same way for the motion model and the
loudness baseline.

A predictor is any callable taking an audio file and returning jaw_open per 25 fps frame
(frame k at k/25 s from the file start, as the corpus CSVs count). Besides a correlation,
the scores count what a viewer notices: lips closed on m, b and p, the mouth open on
vowels and for each syllable (a rise of the jaw to its vowel, which a mouth hanging open
does not show), and the mouth shut in pauses. Phone-based scores are taken at lag 0, i.e. with
the predictor's own timing, since a late mouth is what the viewer sees.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.resample import resample_whole
from avatarcam.constants import MOTION_FPS
from avatarcam.errors import AvatarcamError
from avatarcam.motion.loudness_baseline import (
    BLOCKS_PER_FRAME,
    SILENCE_DBFS,
    TUNED,
    BaselineParams,
    BaselineState,
    baseline_jaw,
    block_levels,
)
from avatarcam.motion.motion_io import read_csv
from avatarcam.motion.space import index_of
from avatarcam.train import corpus
from avatarcam.train.phonemes import BILABIALS, SILENCE, VOWELS, Phone
from avatarcam.train.real_speech_alignment import align_transcript
from avatarcam.train.targets import frame_count
from avatarcam.train.visemes import MOUTH_FIELDS, mouth_targets

MAX_LAG_FRAMES = 5  # correlation is searched over ±200 ms of prediction delay
# Thresholds on jaw_open (0 closed … 1 wide open). The targets themselves are below 0.1 at
# every bilabial centre and at or above 0.3 on every vowel viseme, so:
CLOSED_JAW = 0.1  # lips count as closed for m/b/p below this
OPEN_JAW = 0.15  # a vowel counts as visibly open above this (between closed and the narrowest vowel)
OPEN_RISE = 0.05  # ... and its syllable as opened when the jaw also rose this much since the vowel before
PAUSE_JAW = 0.05  # the mouth counts as shut in a pause below this
PAUSE_MIN_S = 0.3  # pauses at least this long are scored ...
PAUSE_SETTLE_S = 0.2  # ... from this long after they begin (the mouth may still be closing before)

Predictor = Callable[[Path], npt.NDArray[np.floating]]
JAW = index_of("jaw_open")


class EvalDataError(AvatarcamError):
    """The evaluation data (corpus or real clips) is missing or unusable."""


class ModelUnavailableError(AvatarcamError):
    """The motion model's code is not part of this avatarcam, so it cannot be evaluated."""


@dataclass(frozen=True)
class EvalItem:
    """One recording with what the mouth should do: phones and target jaw_open per frame."""

    name: str
    audio: Path
    phones: tuple[Phone, ...]  # covering the recording, on its own time axis
    target: npt.NDArray[np.float32]  # jaw_open at k / MOTION_FPS s


@dataclass(frozen=True)
class Counted:
    """A fraction of scored frames, with how many frames it is of."""

    fraction: float  # NaN when there were no frames to score
    frames: int


@dataclass(frozen=True)
class LipSyncScores:
    """A predictor's scores on one set of items."""

    r: float  # Pearson r of jaw_open at the best lag (pooled over the items' frames)
    lag: int  # that lag in frames; > 0: the prediction comes late
    r_at_zero: float  # Pearson r with the predictor's own timing
    closure: Counted  # m/b/p centre frames with jaw_open < CLOSED_JAW
    opening: Counted  # vowel centre frames with jaw_open > OPEN_JAW
    syllables: Counted  # syllables the mouth opened for (see `syllable_openings`)
    pause: Counted  # settled pause frames with jaw_open < PAUSE_JAW


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Pearson r of two equally long series; 0 where either does not vary (no linear
    relation can be shown), so a constant predictor scores 0 rather than NaN."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    a, b = a - a.mean(), b - b.mean()
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def _lagged_pairs(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                  lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Prediction frame k + lag paired with target frame k, over every item."""
    xs, ys = [], []
    for p, t in zip(predictions, targets):
        k = np.arange(max(0, -lag), min(len(t), len(p) - lag))
        xs.append(p[k + lag])
        ys.append(t[k])
    return np.concatenate(xs), np.concatenate(ys)


def correlation_at_best_lag(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                            max_lag: int = MAX_LAG_FRAMES) -> tuple[float, int]:
    """The highest pooled Pearson r over lags -max_lag..max_lag, and that lag (the
    smallest in size among ties)."""
    lags = sorted(range(-max_lag, max_lag + 1), key=abs)
    scored = [(pearson(*_lagged_pairs(predictions, targets, lag)), lag) for lag in lags]
    return max(scored, key=lambda pair: pair[0])


def centre_frames(phones: Sequence[Phone], names: frozenset[str], frames: int) -> npt.NDArray[np.int64]:
    """The frame nearest the centre of every phone named in `names`."""
    centres = [round(p.centre * MOTION_FPS) for p in phones if p.name in names]
    return np.array([c for c in centres if c < frames], dtype=np.int64)


def syllable_openings(jaw: npt.NDArray[np.floating], phones: Sequence[Phone]) -> npt.NDArray[np.bool_]:
    """Per syllable, whether the mouth opened for it: at its vowel's centre frame jaw_open
    exceeds OPEN_JAW and has risen at least OPEN_RISE above its lowest value since the
    previous vowel's centre (since the start, for the first). A syllable is a vowel with a
    consonant or a pause before it, back to the previous vowel; vowels in hiatus need not
    show a new opening and are not scored."""
    opened: list[bool] = []
    since, separated = 0, True
    for phone in phones:
        if phone.name not in VOWELS:
            separated = True
            continue
        centre = round(phone.centre * MOTION_FPS)
        if centre >= len(jaw):
            break
        if separated:
            trough = float(np.min(jaw[since : centre + 1]))
            opened.append(bool(jaw[centre] > OPEN_JAW and jaw[centre] - trough >= OPEN_RISE))
        since, separated = centre, False
    return np.array(opened, dtype=bool)


def pause_frames(phones: Sequence[Phone], frames: int) -> npt.NDArray[np.int64]:
    """Frames more than PAUSE_SETTLE_S into a silence of at least PAUSE_MIN_S."""
    times = np.arange(frames) / MOTION_FPS
    inside = np.zeros(frames, dtype=bool)
    for p in phones:
        if p.name == SILENCE and p.end - p.start >= PAUSE_MIN_S:
            inside |= (times >= p.start + PAUSE_SETTLE_S) & (times < p.end)
    return np.flatnonzero(inside)


def _fraction(values: list[np.ndarray]) -> Counted:
    """How many of the booleans are true, as a fraction."""
    flat = np.concatenate(values) if values else np.zeros(0, dtype=bool)
    return Counted(float(flat.mean()) if flat.size else float("nan"), int(flat.size))


def score(predictions: Sequence[npt.ArrayLike], items: Sequence[EvalItem]) -> LipSyncScores:
    """Scores of jaw_open `predictions` (one per item, 25 fps) against the items."""
    if not items:
        raise ValueError("there are no items to score")
    preds = [np.asarray(p, dtype=np.float64) for p in predictions]
    targets = [item.target.astype(np.float64) for item in items]
    r, lag = correlation_at_best_lag(preds, targets)
    closed, opened, syllables, shut = [], [], [], []
    for p, item in zip(preds, items):
        frames = min(len(p), len(item.target))
        closed.append(p[centre_frames(item.phones, BILABIALS, frames)] < CLOSED_JAW)
        opened.append(p[centre_frames(item.phones, VOWELS, frames)] > OPEN_JAW)
        syllables.append(syllable_openings(p[:frames], item.phones))
        shut.append(p[pause_frames(item.phones, frames)] < PAUSE_JAW)
    return LipSyncScores(r, lag, pearson(*_lagged_pairs(preds, targets, 0)),
                         _fraction(closed), _fraction(opened), _fraction(syllables), _fraction(shut))


def evaluate(predictor: Predictor, items: Sequence[EvalItem]) -> tuple[LipSyncScores, list[np.ndarray]]:
    """Run `predictor` on every item's audio; its scores and its jaw_open per item."""
    predictions = [np.asarray(predictor(item.audio), dtype=np.float32) for item in items]
    return score(predictions, items), predictions


# --- predictors -----------------------------------------------------------------------

def read_16k(path: Path) -> npt.NDArray[np.float32]:
    """A file's audio as 16 kHz mono, as the front end hears it."""
    decoded = decode_audio_file(path)
    return resample_whole(decoded.samples, decoded.rate)


def baseline_predictor(params: BaselineParams = TUNED) -> Predictor:
    """The loudness baseline as a predictor."""
    return lambda path: baseline_jaw(read_16k(path), params)


def model_predictor(model_path: Path | None = None, seed: int = 0) -> Predictor:
    """The motion model's offline path (the streaming path run over a file) as a predictor;
    raises an `AvatarcamError` at once when the model cannot be loaded."""
    try:  # imported here: the evaluation also runs where the model is not built
        from avatarcam.motion.offline import motion_for_file
        from avatarcam.motion.stream import load_motion_model
    except ImportError as err:
        raise ModelUnavailableError(
            f"The motion model cannot be evaluated because its code is missing ({err}); "
            "score the baseline alone with --baseline-only."
        ) from err
    load_motion_model(model_path)
    return lambda path: motion_for_file(path, model_path=model_path, seed=seed).track.frames[:, JAW]


# --- evaluation sets --------------------------------------------------------------------

def _manifest(folder: Path) -> dict[str, object]:
    """A corpus manifest, or `EvalDataError` when the folder holds no corpus."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise EvalDataError(
            f"{str(folder)!r} holds no corpus (no manifest.json); make one with "
            "`avatarcam train data --out DIR` or leave out --data."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def corpus_items(folder: Path, split: str = corpus.HELDOUT) -> list[EvalItem]:
    """The items of one split of a corpus written by `avatarcam train data`, with the
    phones from each item's phone file (never derived from the targets being scored)."""
    manifest = _manifest(folder)
    entries = [e for e in manifest["items"] if e["split"] == split]  # type: ignore[union-attr]
    if not entries:
        raise EvalDataError(
            f"The corpus in {str(folder)!r} has no {split} items; generate more hours "
            "(or another seed) so that the split is not empty."
        )
    if not all("phones" in e and (folder / e["phones"]).is_file() for e in entries):
        raise EvalDataError(
            f"The corpus in {str(folder)!r} has no phone files (it predates them); make it again "
            "with `avatarcam train data` or leave out --data."
        )
    return [EvalItem(f"{split}/{e['name']}", folder / e["audio"], tuple(corpus.read_phones(folder / e["phones"])),
                     read_csv(folder / e["motion"])[0].frames[:, JAW].copy())
            for e in entries]


def real_items(folder: Path) -> list[EvalItem]:
    """The real recordings in `folder` that have a transcript (`NAME.txt` beside
    `NAME.wav`), with phones aligned to the transcript and viseme targets from them."""
    clips = sorted(p for p in folder.glob("*.wav") if p.with_suffix(".txt").is_file())
    if not clips:
        raise EvalDataError(
            f"No WAV files with transcripts in {str(folder)!r}; pass --real with a folder of "
            "NAME.wav + NAME.txt pairs."
        )
    items = []
    for clip in clips:
        samples = read_16k(clip)
        try:
            phones = align_transcript(samples, clip.with_suffix(".txt").read_text(encoding="utf-8").strip())
        except ValueError as err:
            raise EvalDataError(
                f"The transcript of {str(clip)!r} cannot be aligned to its audio ({err}); "
                "check that the .txt says what the recording says."
            ) from err
        times = np.arange(frame_count(samples.size)) / MOTION_FPS
        target = mouth_targets(phones, times)[:, MOUTH_FIELDS.index("jaw_open")]
        items.append(EvalItem(clip.stem, clip, tuple(phones), target))
    return items


# --- tuning the baseline ----------------------------------------------------------------

# The grid `tune_baseline` searches, one tuple per setting of `BaselineParams`.
GATE_DB = (0.0, 1.0, 3.0, 6.0)
HEADROOM_DB = (0.0, 5.0, 10.0)
ATTACK_MS = (5.0, 15.0, 40.0)
RELEASE_MS = (60.0, 120.0, 240.0, 480.0)
FLOOR_RISE_DB_S = (10.0, 30.0, 100.0)
PEAK_FALL_DB_S = (0.1, 0.3, 1.0)
LOOKAHEAD_MS = (0, 20, 40, 60, 80)


@dataclass(frozen=True)
class TuningResult:
    """The best baseline settings found and the pooled r they reach on the tuning items."""

    params: BaselineParams
    r: float
    candidates: int  # how many settings were tried
    frames: int  # how many frames they were scored on


def tune_baseline(items: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]]) -> TuningResult:
    """The grid point (GATE_DB × HEADROOM_DB × ATTACK_MS × RELEASE_MS × FLOOR_RISE_DB_S ×
    PEAK_FALL_DB_S × LOOKAHEAD_MS) whose baseline jaw_open has the highest pooled Pearson r
    at lag 0 against the targets.

    `items` are (16 kHz samples, target jaw_open per frame) pairs; every candidate runs
    through the baseline's own block-by-block state, all at once, so the search is exact
    and deterministic.
    """
    grid = np.array(list(itertools.product(GATE_DB, HEADROOM_DB, ATTACK_MS, RELEASE_MS,
                                           FLOOR_RISE_DB_S, PEAK_FALL_DB_S)))
    lookaheads = np.array(LOOKAHEAD_MS) // 10
    sums = np.zeros((6, len(lookaheads), len(grid)))  # n, Σx, Σy, Σxx, Σyy, Σxy
    for samples, target in items:
        y = np.asarray(target, dtype=np.float64)
        state = BaselineState(*grid.T)
        levels = np.concatenate((block_levels(samples), np.full(lookaheads.max(), SILENCE_DBFS)))
        after = np.vstack([state.jaw] + [state.step(float(level)) for level in levels])  # after block j at j + 1
        for a, blocks in enumerate(lookaheads):
            rows = BLOCKS_PER_FRAME * np.arange(y.size) + blocks
            x = after[rows[rows < len(after)]]
            t = y[: len(x), None]
            sums[:, a] += [np.full(len(grid), len(x)), x.sum(0), np.full(len(grid), t.sum()),
                           (x * x).sum(0), np.full(len(grid), (t * t).sum()), (x * t).sum(0)]
    n, sx, sy, sxx, syy, sxy = sums
    r = (n * sxy - sx * sy) / np.sqrt(np.maximum((n * sxx - sx**2) * (n * syy - sy**2), 1e-30))
    a, g = np.unravel_index(int(np.argmax(r)), r.shape)
    params = BaselineParams(*(float(v) for v in grid[g]), lookahead_ms=int(LOOKAHEAD_MS[a]))
    return TuningResult(params, float(r[a, g]), r.size, int(n[a, g]))


def tuning_items(folder: Path) -> list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    """(16 kHz audio, target jaw_open) of the TRAIN split of a corpus, for `tune_baseline`."""
    manifest = _manifest(folder)
    entries = [e for e in manifest["items"] if e["split"] == corpus.TRAIN]  # type: ignore[union-attr]
    if not entries:
        raise EvalDataError(f"The corpus in {str(folder)!r} has no train items; generate more hours.")
    return [(read_16k(folder / e["audio"]), read_csv(folder / e["motion"])[0].frames[:, JAW].copy())
            for e in entries]


def real_speech_folder() -> Path:
    """Where the project keeps its real speech clips: ../shared/data/real-speech from the
    repository root."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "real-speech"

