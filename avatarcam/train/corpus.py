"""`avatarcam train data`: a training corpus of augmented synthetic speech (16 kHz WAV)
with motion targets (CSV) per item and a manifest, the same bytes for the same seed."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from avatarcam.constants import MOTION_FPS, SAMPLE_RATE, SAMPLES_PER_MOTION_FRAME
from avatarcam.motion.motion_io import write_csv
from avatarcam.motion.space import FIELD_NAMES
from avatarcam.train import augment, synthesizers, text
from avatarcam.train.phonemes import SILENCE, Phone, merge_silences
from avatarcam.train.speech import SpokenText, Style
from avatarcam.train.targets import Targets, make_targets

FORMAT = "avatarcam-train-data"
VERSION = 1
ITEM_SECONDS = 30.0  # planned length of one item (speech and pauses)
PAUSE_S = (0.5, 5.0)  # silent stretch between utterances
EDGE_PAUSE_S = (0.5, 2.0)  # silence before the first and after the last utterance
RATE_WPM = (120, 220)
LOUDNESS = (0.35, 1.0)  # per utterance: soft to loud
WAV_SUBTYPE = "PCM_16"
DECIMALS = 4  # manifest numbers are rounded so the file is stable and readable
TRAIN, HELDOUT = "train", "heldout"
SPLITS = (TRAIN, HELDOUT)


@dataclass(frozen=True)
class ItemPlan:
    """What one item will be: who speaks and with which random stream."""

    index: int
    synth: str
    voice: str
    seed: int

    @property
    def name(self) -> str:
        """File stem of the item."""
        return f"{self.index:05d}"

    @property
    def split(self) -> str:
        """'heldout' for evaluation-only synths and voices, else 'train'."""
        return HELDOUT if synthesizers.is_held_out(self.synth, self.voice) else TRAIN


def plan(hours: float, seed: int) -> list[ItemPlan]:
    """The items of a corpus of about `hours` of audio, each with its own seed."""
    count = max(1, round(hours * 3600.0 / ITEM_SECONDS))
    rng = np.random.default_rng(seed)
    synths = list(synthesizers.SHARE)
    share = np.array([synthesizers.SHARE[s] for s in synths])
    items = []
    for index in range(count):
        synth = synths[int(rng.choice(len(synths), p=share))]
        voices = synthesizers.VOICES[synth]
        items.append(ItemPlan(index, synth, voices[int(rng.integers(len(voices)))], int(rng.integers(2**31))))
    return items


def _script(rng: np.random.Generator, rate_wpm: int) -> tuple[list[str], list[float]]:
    """Utterance texts and the pauses around them (one more pause than texts) filling
    about `ITEM_SECONDS`, judged by word count at `rate_wpm`."""
    pauses = [float(rng.uniform(*EDGE_PAUSE_S))]
    texts: list[str] = []
    planned = pauses[0]
    while planned < ITEM_SECONDS:
        texts.append(text.utterance(rng))
        pauses.append(float(rng.uniform(*PAUSE_S)))
        planned += text.word_count(texts[-1]) * 60.0 / rate_wpm + pauses[-1]
    pauses[-1] = float(rng.uniform(*EDGE_PAUSE_S))
    return texts, pauses


def _join(spoken: list[SpokenText], pauses: list[float]) -> tuple[np.ndarray, list[Phone]]:
    """Utterances laid end to end with silences, padded to whole motion frames."""
    pieces: list[np.ndarray] = []
    phones: list[Phone] = []
    offset = 0
    for pause, utterance in zip(pauses, [*spoken, None]):
        gap = int(round(pause * SAMPLE_RATE))
        if utterance is None:
            gap += -(offset + gap) % SAMPLES_PER_MOTION_FRAME
        pieces.append(np.zeros(gap, dtype=np.float32))
        phones.append(Phone(SILENCE, offset / SAMPLE_RATE, (offset + gap) / SAMPLE_RATE))
        offset += gap
        if utterance is not None:
            pieces.append(utterance.samples)
            phones += [Phone(p.name, p.start + offset / SAMPLE_RATE, p.end + offset / SAMPLE_RATE)
                       for p in utterance.phones]
            offset += utterance.samples.size
    return np.concatenate(pieces), merge_silences(phones)


def _round(value: float) -> float:
    """A manifest number."""
    return round(float(value), DECIMALS)


@dataclass(frozen=True)
class Item:
    """One generated item: clean and augmented audio, the phones, targets, manifest entry."""

    clean: np.ndarray
    noisy: np.ndarray
    phones: tuple[Phone, ...]
    targets: Targets
    entry: dict[str, object]


def make_item(item: ItemPlan) -> Item:
    """Synthesise, label and augment one planned item."""
    rng = np.random.default_rng(item.seed)
    rate = int(rng.integers(RATE_WPM[0], RATE_WPM[1] + 1))
    pitch = _round(rng.uniform())
    texts, pauses = _script(rng, rate)
    styles = [Style(rate, pitch, _round(rng.uniform(*LOUDNESS))) for _ in texts]
    clean, phones = _join(synthesizers.speak(item.synth, item.voice, texts, styles), pauses)
    targets = make_targets(clean, phones, rng)
    speech = np.repeat(targets.vad > 0, SAMPLES_PER_MOTION_FRAME)
    chosen = augment.choose(rng)
    noisy = augment.apply(clean, speech, chosen, rng)
    entry: dict[str, object] = {
        "name": item.name, "synth": item.synth, "voice": item.voice, "split": item.split,
        "rate_wpm": rate, "pitch": pitch, "loudness": [s.loudness for s in styles],
        "duration_s": _round(clean.size / SAMPLE_RATE),
        "speech_s": _round(float(targets.vad.sum()) / MOTION_FPS),
        "utterances": len(texts), "texts": texts, "blinks": len(targets.blinks),
        "augmentation": chosen.describe(),
        "audio": f"{item.split}/{item.name}.wav", "motion": f"{item.split}/{item.name}.csv",
        "phones": f"{item.split}/{item.name}.phones.json",
    }
    return Item(clean, noisy, tuple(phones), targets, entry)


def _write_item(args: tuple[ItemPlan, Path]) -> dict[str, object]:
    """Make one item and write its WAV and CSV under `out`; its manifest entry."""
    item, out = args
    made = make_item(item)
    soundfile.write(str(out / str(made.entry["audio"])), made.noisy, SAMPLE_RATE, subtype=WAV_SUBTYPE)
    write_csv(out / str(made.entry["motion"]), made.targets.track, {"vad": made.targets.vad})
    write_phones(out / str(made.entry["phones"]), made.phones)
    return made.entry


def write_phones(path: Path, phones: Sequence[Phone]) -> None:
    """An item's phone timings as JSON, so evaluations can find bilabials, vowels and pauses
    without deriving them from the targets they are scoring against."""
    rows = [[p.name, p.start, p.end] for p in phones]
    path.write_text(json.dumps({"phones": rows}) + "\n", encoding="utf-8")


def read_phones(path: Path) -> list[Phone]:
    """Phones written by `write_phones`."""
    rows = json.loads(path.read_text(encoding="utf-8"))["phones"]
    return [Phone(str(name), float(start), float(end)) for name, start, end in rows]


def generate(out: Path, hours: float, seed: int, workers: int = 2) -> dict[str, object]:
    """Write the corpus to `out` and return its manifest (also written as manifest.json)."""
    synthesizers.check_installed()
    items = plan(hours, seed)
    for split in SPLITS:
        (out / split).mkdir(parents=True, exist_ok=True)
    jobs = [(item, out) for item in items]
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            entries = list(pool.imap(_write_item, jobs))
    else:
        entries = [_write_item(job) for job in jobs]
    total = sum(float(e["duration_s"]) for e in entries)  # type: ignore[arg-type]
    manifest: dict[str, object] = {
        "format": FORMAT, "version": VERSION, "seed": seed, "hours_requested": hours,
        "hours": _round(total / 3600.0), "sample_rate": SAMPLE_RATE, "motion_fps": MOTION_FPS,
        "fields": list(FIELD_NAMES), "extra_columns": ["vad"],
        "voices": {synth: list(voices) for synth, voices in synthesizers.VOICES.items()},
        "held_out": {"synth": synthesizers.HELD_OUT_SYNTH,
                     "voices": {s: list(v) for s, v in synthesizers.HELD_OUT_VOICES.items()}},
        "items": entries,
    }
    text_out = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text_out, encoding="utf-8")
    return manifest


def timed_generate(out: Path, hours: float, seed: int, workers: int) -> tuple[dict[str, object], float]:
    """`generate` and the wall-clock seconds it took, for reporting generation speed."""
    start = time.perf_counter()
    manifest = generate(out, hours, seed, workers)
    return manifest, time.perf_counter() - start
