"""`avatarcam train fit`: train the motion denoiser on a generated corpus, on a CPU.

Features are computed with the run-time functions (log-mel of `audio/features.py`, the live
`StreamingVad`, the framing of `motion/framing.py`) and cached in the corpus folder. Each
training example is a window of frames split at a random point: frames before it are context
(noised, so the model leans on the audio and its own streamed frames cannot lead it astray),
frames after it are being generated at a random flow time, so one set of weights learns
every chunk size. Random presets pull non-lip fields toward random values while the lips
keep following speech. The same data, seed and step count give the same weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import torch
from scipy.ndimage import gaussian_filter1d

from avatarcam.audio.features import log_mel
from avatarcam.constants import SAMPLES_PER_MOTION_FRAME
from avatarcam.errors import AvatarcamError
from avatarcam.motion.framing import file_vad, frame_features
from avatarcam.motion.model import (
    DEFAULT_FEATURE_LAG,
    SILENCE_FEATURE,
    ModelConfig,
    MotionDenoiser,
    weights_payload,
)
from avatarcam.motion.motion_io import read_csv
from avatarcam.motion.space import FIELDS, NUM_FIELDS, field_mask
from avatarcam.train.feature_augment import augment_windows

CACHE_NAME = "motion_features.npz"  # for the default feature lag; others add "-lagN"
CACHE_VERSION = 1  # bump when the cached features change meaning
HEAD_FIELDS = ("yaw", "pitch", "roll", "tx", "ty", "scale")
HEAD_SMOOTH_FRAMES = 1.5  # Gaussian sigma: the targets' head nods jump up to 2.5°/frame
# Fields a preset may set in training; jaw_open and lip_press always follow the speech.
PRESET_FIELDS = ("smile", "brow_up", "frown", "eye_wide", "squint", "brow_down",
                 "brow_inner_up", "mouth_wide")
MOUTH_LOSS_FIELDS = ("jaw_open", "lip_press", "mouth_wide", "mouth_round", "upper_lip_raise")
STD_FLOOR = 0.02  # per-field std never below this fraction of the field's range
TRAIN_THREADS = 1  # fixed, so float sums repeat across runs; one thread also copes best with a busy CPU


class TrainDataError(AvatarcamError):
    """The corpus folder given to `train fit` is missing or not a corpus."""


@dataclass(frozen=True)
class FitConfig:
    """Everything that decides the trained weights besides the corpus; logged with them."""

    seed: int = 0  # seeds the initial weights, batches, noise and augmentations
    steps: int = 0  # optimiser steps; 0 = as many as fit in `minutes`
    minutes: float = 40.0  # wall-clock budget when `steps` is 0 (and a hard cap otherwise)
    batch: int = 64  # windows per step
    chunk_span: int = 16  # frames after the context over which the split point falls
    lr: float = 2e-3  # peak learning rate (AdamW), reached after `warmup` steps
    warmup: int = 300
    final_lr_fraction: float = 0.05  # cosine decay ends at this fraction of `lr`
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema: float = 0.999  # decay of the weight average that is saved
    # Largest std (normalised units) of the noise on context frames, and the share of windows
    # that get it. Streaming feeds the model its own frames, which are smoother than the data;
    # at 0.1 the model trusted them so much that its jaw shrank over a 6 s rollout (held-out
    # r 0.80 against 0.91 from true frames). At 0.5 it leans on the audio instead.
    context_noise: float = 0.5
    context_noise_chance: float = 0.9
    preset_chance: float = 0.5  # windows with a random preset
    preset_switch_chance: float = 0.15  # windows whose context had a different preset
    stream_start_chance: float = 0.05  # windows whose start is padded like a fresh stream
    mouth_loss_weight: float = 2.0
    warp: float = 0.0  # vocal-tract warp factors drawn from 1/(1 + warp) … 1 + warp (0: off)
    tilt_db: float = 0.0  # spectral tilts drawn from -tilt_db … +tilt_db dB across the bands
    log_every: int = 100
    eval_every: int = 500
    eval_batches: int = 8
    calibrate_steps: int = 40  # steps timed to size a time-budgeted run


@dataclass
class Corpus:
    """Cached per-frame training arrays of all items, end to end, with item boundaries."""

    features: npt.NDArray[np.float16]  # (N, FRAME_FEATURES) log-mel per motion frame
    vad: npt.NDArray[np.float32]  # (N,) live VAD state per frame
    motion: npt.NDArray[np.float32]  # (N, NUM_FIELDS) targets, head fields low-passed
    starts: npt.NDArray[np.int64]  # (items,) first frame of each item
    lengths: npt.NDArray[np.int64]  # (items,) frames of each item
    heldout: npt.NDArray[np.bool_]  # (items,) item belongs to the held-out split


def _manifest(data: Path) -> dict[str, object]:
    """The corpus manifest, or a TrainDataError saying how to make one."""
    path = data / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise TrainDataError(
            f"{str(data)!r} holds no readable manifest.json ({err}); make a corpus with "
            "`avatarcam train data --out DIR`."
        ) from err
    if not isinstance(manifest, dict) or not manifest.get("items"):
        raise TrainDataError(f"{str(path)!r} lists no items; make the corpus again.")
    return manifest


def smooth_head(motion: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Targets with the head fields low-passed, so the model learns no frame-to-frame jitter."""
    out = motion.copy()
    for name in HEAD_FIELDS:
        column = field_mask([name]).nonzero()[0][0]
        out[:, column] = gaussian_filter1d(out[:, column], HEAD_SMOOTH_FRAMES, mode="nearest")
    return out


def _item_arrays(args: tuple[Path, dict[str, object], int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame features, live VAD and smoothed targets of one corpus item, its frames'
    audio starting `feature_lag` log-mel windows before their spans."""
    data, entry, feature_lag = args
    samples, rate = soundfile.read(str(data / str(entry["audio"])), dtype="float32")
    track, _ = read_csv(data / str(entry["motion"]))
    frames = min(len(track.times), len(samples) // SAMPLES_PER_MOTION_FRAME)
    features = frame_features(log_mel(samples), frames, feature_lag).astype(np.float16)
    return features, file_vad(samples, frames, feature_lag), smooth_head(track.frames[:frames])


def _cache_key(manifest: dict[str, object]) -> str:
    """Identifies the corpus and the feature code version the cache was made from."""
    text = json.dumps(manifest, sort_keys=True) + f"|{CACHE_VERSION}|{HEAD_SMOOTH_FRAMES}"
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(data: Path, feature_lag: int = DEFAULT_FEATURE_LAG) -> Path:
    """Where the training arrays of the corpus in `data` are cached for one feature lag."""
    if feature_lag == DEFAULT_FEATURE_LAG:
        return data / CACHE_NAME
    return data / f"{Path(CACHE_NAME).stem}-lag{feature_lag}{Path(CACHE_NAME).suffix}"


def load_corpus(data: Path, workers: int = 2, log: Callable[[str], None] = print,
                feature_lag: int = DEFAULT_FEATURE_LAG) -> Corpus:
    """The corpus's training arrays, computed once and then read from `cache_path`."""
    manifest = _manifest(data)
    key = _cache_key(manifest)
    cache = cache_path(data, feature_lag)
    if cache.exists():
        with np.load(cache) as stored:
            if str(stored["key"]) == key:
                return Corpus(**{name: stored[name] for name in Corpus.__dataclass_fields__})
    items = list(manifest["items"])  # type: ignore[call-overload]
    log(f"computing features for {len(items)} items (cached in {cache})")
    jobs = [(data, entry, feature_lag) for entry in items]
    try:
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                arrays = pool.map(_item_arrays, jobs)
        else:
            arrays = [_item_arrays(job) for job in jobs]
    except (OSError, RuntimeError) as err:
        raise TrainDataError(f"the corpus in {str(data)!r} cannot be read ({err}); make it again.") from err
    lengths = np.array([len(a[0]) for a in arrays], dtype=np.int64)
    corpus = Corpus(
        features=np.concatenate([a[0] for a in arrays]),
        vad=np.concatenate([a[1] for a in arrays]),
        motion=np.concatenate([a[2] for a in arrays]).astype(np.float32),
        starts=np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64),
        lengths=lengths,
        heldout=np.array([entry["split"] == "heldout" for entry in items]),
    )
    np.savez(cache, key=np.array(key), **asdict(corpus))
    return corpus


class WindowSampler:
    """Draws augmented training windows from one split of the corpus."""

    def __init__(self, corpus: Corpus, model: ModelConfig, fit: FitConfig, heldout: bool,
                 rng: np.random.Generator) -> None:
        """Held-out windows are drawn as they are, without the feature augmentation."""
        self.corpus, self.fit, self.rng = corpus, fit, rng
        self.augment = not heldout and bool(fit.warp or fit.tilt_db)
        self.context = model.context_frames
        self.frames = self.context + fit.chunk_span  # motion frames per window
        self.audio_frames = self.frames + model.lookahead_frames
        usable = (corpus.heldout == heldout) & (corpus.lengths >= self.audio_frames)
        self.items = np.flatnonzero(usable)
        if self.items.size == 0:
            split = "held-out" if heldout else "training"
            raise TrainDataError(f"the corpus has no {split} item of {self.audio_frames} frames or more; "
                                 "make a larger corpus.")
        room = corpus.lengths[self.items] - self.audio_frames + 1
        self.item_share = room / room.sum()
        self.preset_columns = field_mask(PRESET_FIELDS).nonzero()[0]
        self.lows = np.array([f.low for f in FIELDS], dtype=np.float32)
        self.highs = np.array([f.high for f in FIELDS], dtype=np.float32)

    def _random_preset(self) -> tuple[np.ndarray, np.ndarray]:
        """A preset target and weight over a random few of PRESET_FIELDS, or none."""
        target = np.zeros(NUM_FIELDS, np.float32)
        weight = np.zeros(NUM_FIELDS, np.float32)
        if self.rng.uniform() < self.fit.preset_chance:
            count = int(self.rng.integers(1, 4))
            for column in self.rng.choice(self.preset_columns, count, replace=False):
                target[column] = self.rng.uniform(self.lows[column], self.highs[column])
                weight[column] = 1.0 if self.rng.uniform() < 0.5 else self.rng.uniform(0.2, 1.0)
        return target, weight

    def draw(self, batch: int) -> dict[str, np.ndarray]:
        """`batch` windows: motion targets, split points, features, VAD and presets."""
        c = self.corpus
        items = self.items[self.rng.choice(self.items.size, batch, p=self.item_share)]
        offsets = self.rng.integers(0, c.lengths[items] - self.audio_frames + 1)
        index = (c.starts[items] + offsets)[:, None] + np.arange(self.audio_frames)[None, :]
        features = c.features[index].astype(np.float32)
        vad = c.vad[index].copy()
        motion = c.motion[index[:, : self.frames]].copy()
        split = self.rng.integers(self.context, self.frames, size=batch)
        targets = np.zeros((batch, NUM_FIELDS), np.float32)
        weights = np.zeros((batch, NUM_FIELDS), np.float32)
        for b in range(batch):
            targets[b], weights[b] = self._random_preset()
            motion[b] += weights[b] * (targets[b] - motion[b])
            if self.rng.uniform() < self.fit.preset_switch_chance:
                old_target, old_weight = self._random_preset()
                before = motion[b, : split[b]]
                motion[b, : split[b]] = before + old_weight * (old_target - before)
            if self.rng.uniform() < self.fit.stream_start_chance:
                fresh = int(self.rng.integers(1, split[b] + 1))
                motion[b, :fresh] = 0.0
                features[b, :fresh] = SILENCE_FEATURE
                vad[b, :fresh] = 0.0
        if self.augment:
            spread = math.log1p(self.fit.warp)
            factors = np.exp(self.rng.uniform(-spread, spread, batch))
            features = augment_windows(features, factors, self.rng.uniform(-self.fit.tilt_db, self.fit.tilt_db, batch))
        return {"motion": motion, "split": split, "features": features, "vad": vad,
                "preset_target": targets, "preset_weight": weights}


def motion_statistics(sampler: WindowSampler, batches: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Per-field mean and std of augmented targets (presets included), std floored."""
    frames = np.concatenate([sampler.draw(64)["motion"].reshape(-1, NUM_FIELDS) for _ in range(batches)])
    span = np.array([f.high - f.low for f in FIELDS], dtype=np.float32)
    return frames.mean(axis=0), np.maximum(frames.std(axis=0), STD_FLOOR * span)


def feature_statistics(corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """Per-value mean and std of the training items' per-frame log-mel features."""
    rows = corpus.features[::7].astype(np.float32)
    return rows.mean(axis=0), np.maximum(rows.std(axis=0), 1e-3)


def _flow_times(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Training flow times: half uniform, half logit-normal (dense in the middle)."""
    uniform = rng.uniform(size=batch)
    logit_normal = 1.0 / (1.0 + np.exp(-rng.normal(size=batch)))
    return np.where(rng.uniform(size=batch) < 0.5, uniform, logit_normal).astype(np.float32)


@dataclass
class Batch:
    """Model inputs and the velocity target of one step, as tensors."""

    inputs: tuple[torch.Tensor, ...]  # the denoiser's forward arguments, in order
    target: torch.Tensor  # (B, T, fields) velocity
    loss_mask: torch.Tensor  # (B, T, 1) 1 on the frames being generated


def make_batch(model: MotionDenoiser, window: dict[str, np.ndarray], fit: FitConfig,
               rng: np.random.Generator, generator: torch.Generator) -> Batch:
    """Noise the windows: clean context, generated frames at a random flow time."""
    data = model.normalise(torch.from_numpy(window["motion"]))
    batch, frames, _ = data.shape
    known = torch.from_numpy(np.arange(frames)[None, :] < window["split"][:, None]).float()
    t = torch.from_numpy(_flow_times(rng, batch))
    noise = torch.randn(data.shape, generator=generator)
    sigma = rng.uniform(0.0, fit.context_noise, batch) * (rng.uniform(size=batch) < fit.context_noise_chance)
    context = data + torch.from_numpy(sigma.astype(np.float32))[:, None, None] * noise
    start = torch.randn(data.shape, generator=generator)
    noisy = (1.0 - t[:, None, None]) * start + t[:, None, None] * data
    mask = known.unsqueeze(-1)
    x = mask * context + (1.0 - mask) * noisy
    target = data - start
    inputs = (x, known, t, torch.from_numpy(window["features"]), torch.from_numpy(window["vad"]),
              torch.from_numpy(window["preset_target"]), torch.from_numpy(window["preset_weight"]))
    return Batch(inputs, target, 1.0 - mask)


def field_loss_weights(mouth_weight: float) -> torch.Tensor:
    """Per-field loss weights, mean 1: the mouth fields count `mouth_weight` times the
    others, since viewers judge lip sync first."""
    weights = np.ones(NUM_FIELDS, np.float32)
    weights[field_mask(MOUTH_LOSS_FIELDS)] = mouth_weight
    return torch.from_numpy(weights / weights.mean())


def batch_loss(model: MotionDenoiser, batch: Batch, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean squared velocity error over the generated frames."""
    error = (model(*batch.inputs) - batch.target).pow(2) * weights * batch.loss_mask
    return error.sum() / (batch.loss_mask.sum() * weights.numel())


def learning_rate(step: int, total: int, fit: FitConfig) -> float:
    """Linear warm-up, then cosine decay to `final_lr_fraction` of the peak."""
    if step < fit.warmup:
        return fit.lr * (step + 1) / fit.warmup
    progress = min(1.0, (step - fit.warmup) / max(1, total - fit.warmup))
    floor = fit.final_lr_fraction
    return fit.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


class FitLog:
    """The JSON training record: config, corpus, losses over time, wall time, machine."""

    def __init__(self, fit: FitConfig, model: ModelConfig, data: Path, manifest: dict[str, object],
                 echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.started = time.perf_counter()
        self.record: dict[str, object] = {
            "fit_config": asdict(fit), "model_config": model.to_json(),
            "corpus": {"path": str(data), "seed": manifest.get("seed"), "hours": manifest.get("hours"),
                       "items": len(manifest["items"])},  # type: ignore[arg-type]
            "machine": {"platform": platform.platform(), "processor": platform.processor(),
                        "torch": torch.__version__, "threads": TRAIN_THREADS},
            "losses": [],
        }

    @property
    def elapsed(self) -> float:
        """Seconds since training started."""
        return time.perf_counter() - self.started

    def add(self, entry: dict[str, float]) -> None:
        """Record (and print) one line of losses."""
        self.record["losses"].append(entry)  # type: ignore[union-attr]
        self.echo(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()))


def _evaluate(model: MotionDenoiser, batches: list[Batch], weights: torch.Tensor) -> float:
    """Mean loss of `model` on fixed held-out batches."""
    with torch.no_grad():
        return float(np.mean([float(batch_loss(model, b, weights)) for b in batches]))


def _calibrated_steps(seconds_per_step: float, fit: FitConfig) -> int:
    """How many steps fit the time budget at the measured speed."""
    return max(fit.calibrate_steps + 1, int(fit.minutes * 60.0 / seconds_per_step))


def fit_model(data: Path, out: Path, fit: FitConfig, model_config: ModelConfig | None = None,
              echo: Callable[[str], None] = print) -> dict[str, object]:
    """Train on the corpus in `data`, write the weights to `out` and the log beside it
    (`out` with suffix .log.json); returns the log."""
    torch.set_num_threads(TRAIN_THREADS)
    torch.manual_seed(fit.seed)
    config = model_config or ModelConfig()
    manifest = _manifest(data)
    corpus = load_corpus(data, log=echo, feature_lag=config.feature_lag)
    rng = np.random.default_rng(fit.seed)
    generator = torch.Generator().manual_seed(fit.seed)
    train = WindowSampler(corpus, config, fit, heldout=False, rng=rng)
    model = MotionDenoiser(config)
    model.set_statistics(*(torch.from_numpy(a) for a in (*motion_statistics(train), *feature_statistics(corpus))))
    weights = field_loss_weights(fit.mouth_loss_weight)
    eval_split = "heldout" if corpus.heldout.any() else "train"  # tiny corpora may have no held-out item
    held = WindowSampler(corpus, config, fit, heldout=eval_split == "heldout", rng=np.random.default_rng(fit.seed + 1))
    held_generator = torch.Generator().manual_seed(fit.seed + 1)
    eval_batches = [make_batch(model, held.draw(fit.batch), fit, held.rng, held_generator)
                    for _ in range(fit.eval_batches)]
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(fit.ema), use_buffers=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=fit.lr, weight_decay=fit.weight_decay)
    log = FitLog(fit, config, data, manifest, echo)
    log.record["eval_split"] = eval_split
    total = fit.steps or 10**9
    running: list[float] = []
    step = 0
    while step < total:
        if not fit.steps and step == fit.calibrate_steps:
            total = _calibrated_steps(log.elapsed / step, fit)
            echo(f"{log.elapsed / step:.3f} s/step: training {total} steps")
        if log.elapsed > fit.minutes * 60.0:
            echo(f"time budget of {fit.minutes} min reached at step {step}")
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, total, fit)
        loss = batch_loss(model, make_batch(model, train.draw(fit.batch), fit, rng, generator), weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), fit.grad_clip)
        optimiser.step()
        ema.update_parameters(model)
        running.append(float(loss.detach()))
        step += 1
        if step % fit.log_every == 0 or step == total:
            entry: dict[str, float] = {"step": step, "loss": float(np.mean(running)),
                                       "lr": learning_rate(step - 1, total, fit), "wall_s": round(log.elapsed, 1)}
            if step % fit.eval_every == 0 or step == total:
                entry["heldout_loss"] = _evaluate(ema.module, eval_batches, weights)
            log.add(entry)
            running = []
    trained = ema.module
    final = {"steps": step, "planned_steps": total, "wall_s": round(log.elapsed, 1),
             "heldout_loss": _evaluate(trained, eval_batches, weights),
             "train_loss_last": log.record["losses"][-1]["loss"] if log.record["losses"] else None}  # type: ignore[index]
    log.record["final"] = final
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights_payload(trained, {"training": final, "fit_config": asdict(fit),
                                         "corpus": log.record["corpus"]}), out)
    log_path(out).write_text(json.dumps(log.record, indent=1) + "\n", encoding="utf-8")
    return log.record


def log_path(weights: Path) -> Path:
    """Where the training log of weights file `weights` is written."""
    return weights.with_suffix(".log.json")
