"""Lip-sync evaluation: the metrics on constructed cases, the loudness baseline (causal,
opens on speech, tuned by a search that finds a known answer), the alignment of real
speech to its transcript, the corpus phone files and the `eval lipsync` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avatarcam.constants import MOTION_FPS, SAMPLE_RATE
from avatarcam.motion.loudness_baseline import (
    BLOCK_LENGTH,
    BLOCKS_PER_FRAME,
    TUNED,
    BaselineParams,
    LoudnessBaseline,
    baseline_jaw,
    block_levels,
)
from avatarcam.train import corpus, lipsync_eval
from avatarcam.train.flite_synth import speak as flite_speak
from avatarcam.train.lipsync_eval import (
    CLOSED_JAW,
    OPEN_JAW,
    EvalItem,
    baseline_predictor,
    correlation_at_best_lag,
    corpus_items,
    evaluate,
    model_predictor,
    pause_frames,
    real_items,
    score,
    syllable_openings,
    tune_baseline,
)
from avatarcam.train.phonemes import BILABIALS, SILENCE, VOWELS, Phone
from avatarcam.train.real_speech_alignment import align_transcript, dtw_path, find_speech
from avatarcam.train.speech import Style
from avatarcam.train.visemes import MOUTH_FIELDS, mouth_targets

RNG_SEED = 3
TINY_CORPUS_HOURS = 0.02  # two 30 s items
TINY_CORPUS_SEED = 1  # its second item is held out (espeak en-gb-scotland)


def _speechlike(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with a syllable-rate envelope and pauses, 16 kHz, plus a little room noise."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.sin(2 * np.pi * 2.5 * t) ** 2 * (np.sin(2 * np.pi * 0.3 * t) > -0.3)
    return (0.2 * envelope * rng.standard_normal(t.size) + 1e-3 * rng.standard_normal(t.size)).astype(np.float32)


def _item(phones: list[Phone], target: np.ndarray) -> EvalItem:
    return EvalItem("constructed", Path("none.wav"), tuple(phones), target.astype(np.float32))


PHONES = [Phone(SILENCE, 0.0, 1.0), Phone("m", 1.0, 1.08), Phone("aa", 1.08, 1.3), Phone("p", 1.3, 1.4),
          Phone("ae", 1.4, 1.6), Phone(SILENCE, 1.6, 2.4)]
TARGET = mouth_targets(PHONES, np.arange(60) / MOTION_FPS)[:, MOUTH_FIELDS.index("jaw_open")]


def test_perfect_predictor_scores_r_1_at_lag_0_and_every_share() -> None:
    scores = score([TARGET], [_item(PHONES, TARGET)])
    assert scores.r == pytest.approx(1.0) and scores.lag == 0 and scores.r_at_zero == pytest.approx(1.0)
    assert scores.closure.fraction == 1.0 and scores.closure.frames == 2
    assert scores.opening.fraction == 1.0 and scores.opening.frames == 2
    assert scores.syllables.fraction == 1.0 and scores.syllables.frames == 2
    assert scores.pause.fraction == 1.0 and scores.pause.frames == len(pause_frames(PHONES, TARGET.size))


def test_a_late_prediction_is_found_at_its_lag() -> None:
    rng = np.random.default_rng(RNG_SEED)
    target = np.convolve(rng.random(400), np.ones(4) / 4, mode="same")
    late = np.concatenate((np.zeros(3), target[:-3]))
    r, lag = correlation_at_best_lag([late], [target])
    assert lag == 3 and r == pytest.approx(1.0)
    assert correlation_at_best_lag([target[2:]], [target])[1] == -2


def test_a_constant_prediction_scores_no_closure_and_no_correlation() -> None:
    scores = score([np.full(TARGET.size, 0.3)], [_item(PHONES, TARGET)])
    assert scores.r == 0.0 and scores.closure.fraction == 0.0 and scores.pause.fraction == 0.0
    assert scores.opening.fraction == 1.0 and scores.syllables.fraction == 0.0  # open, but never opening
    shut = score([np.zeros(TARGET.size)], [_item(PHONES, TARGET)])
    assert shut.closure.fraction == 1.0 and shut.opening.fraction == 0.0 and shut.pause.fraction == 1.0
    assert shut.syllables.fraction == 0.0


def test_a_syllable_counts_as_opened_only_when_the_jaw_rose_for_it() -> None:
    # frames at 25 fps: the centres of aa, iy, t and ae fall on frames 9, 13, 16 and 19
    phones = [Phone(SILENCE, 0.0, 0.2), Phone("b", 0.2, 0.28), Phone("aa", 0.28, 0.44), Phone("iy", 0.44, 0.6),
              Phone("t", 0.6, 0.68), Phone("ae", 0.68, 0.84), Phone(SILENCE, 0.84, 1.2)]
    jaw = np.zeros(30)
    jaw[7:12] = 0.4  # aa opens from the closed b
    jaw[12:19], jaw[19] = 0.48, 0.5  # the mouth hangs open through iy (hiatus: not scored) and t
    assert syllable_openings(jaw, phones).tolist() == [True, False]
    jaw[16] = 0.3  # the t narrows it: ae opens again
    assert syllable_openings(jaw, phones).tolist() == [True, True]


def test_pauses_are_scored_only_when_long_and_after_settling() -> None:
    frames = pause_frames([Phone(SILENCE, 0.0, 0.28), Phone("aa", 0.28, 0.6), Phone(SILENCE, 0.6, 1.2)], 30)
    assert frames.tolist() == list(range(20, 30))  # 0.8 s on in the second pause only


def test_baseline_is_causal_within_its_lookahead() -> None:
    rng = np.random.default_rng(RNG_SEED)
    audio = _speechlike(4.0, rng)
    changed = audio.copy()
    cut = 2 * SAMPLE_RATE
    changed[cut:] = 0.5 * rng.standard_normal(changed.size - cut)
    a, b = baseline_jaw(audio), baseline_jaw(changed)
    # Frame k may use audio up to k/25 s + lookahead.
    unaffected = int((cut / SAMPLE_RATE - TUNED.lookahead_ms / 1000) * MOTION_FPS)
    np.testing.assert_array_equal(a[: unaffected + 1], b[: unaffected + 1])
    assert not np.array_equal(a[unaffected + 1:], b[unaffected + 1:])


def test_baseline_stream_in_odd_pieces_equals_the_whole_signal() -> None:
    audio = _speechlike(3.0, np.random.default_rng(RNG_SEED))
    stream = LoudnessBaseline()
    pieces = [stream.process(audio[i:i + 333]) for i in range(0, audio.size, 333)]
    streamed = np.concatenate(pieces + [stream.flush()])[: audio.size // (SAMPLE_RATE // MOTION_FPS)]
    np.testing.assert_array_equal(streamed, baseline_jaw(audio))


def test_baseline_opens_on_loud_speech_and_closes_on_silence() -> None:
    rng = np.random.default_rng(RNG_SEED)
    quiet = (1e-3 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    loud = (0.2 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    jaw = baseline_jaw(np.concatenate((quiet, loud, quiet, quiet)))
    # the tuned gate sits on the noise floor itself, so the floor's own flicker may part the
    # lips a little, but never as far as a vowel
    assert np.all(jaw[:20] < OPEN_JAW) and np.mean(jaw[:20]) < CLOSED_JAW
    assert np.mean(jaw[30:50] > 0.5) > 0.9
    assert np.all(jaw[-25:] < 0.05)


def test_tuning_finds_the_settings_that_made_the_targets() -> None:
    truth = BaselineParams(gate_db=3.0, headroom_db=10.0, attack_ms=40.0, release_ms=120.0,
                           floor_rise_db_s=10.0, peak_fall_db_s=1.0, lookahead_ms=60)
    rng = np.random.default_rng(RNG_SEED)
    items = [(audio, baseline_jaw(audio, truth)) for audio in (_speechlike(4.0, rng), _speechlike(3.0, rng))]
    result = tune_baseline(items)
    assert result.params == truth and result.r == pytest.approx(1.0)
    assert result.frames == sum(t.size for _, t in items)


def test_block_levels_are_dbfs_of_10ms_blocks() -> None:
    levels = block_levels(np.concatenate((np.full(BLOCK_LENGTH, 0.5), np.zeros(BLOCK_LENGTH), [0.1])))
    assert levels.size == 2 and levels[0] == pytest.approx(20 * np.log10(0.5)) and levels[1] == -100.0
    assert BLOCKS_PER_FRAME * BLOCK_LENGTH == SAMPLE_RATE // MOTION_FPS


def test_dtw_path_follows_a_known_stretch_within_its_slope_limits() -> None:
    rng = np.random.default_rng(RNG_SEED)
    a = np.cumsum(rng.standard_normal((60, 3)), axis=0)
    stretched = a[np.floor(np.arange(90) / 1.5).astype(int)]
    path = dtw_path(np.linalg.norm(a[:, None] - stretched[None], axis=2))
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (59, 89)
    steps = np.diff(path, axis=0)
    assert np.all(steps >= 0) and np.all(steps.sum(axis=1) >= 1)
    assert np.all(np.abs(path[:, 1] - 1.5 * path[:, 0]) <= 2)
    with pytest.raises(ValueError, match="slope"):
        dtw_path(np.ones((10, 40)))


def test_alignment_puts_a_known_voice_s_bilabials_where_they_were_spoken() -> None:
    """flite times its own phones: align its speech with the espeak-ng reference and compare."""
    text = "Maybe the blue moon will rise above the boat, my happy friend. Please bring the map."
    said = flite_speak(text, "slt", Style(170, 0.5, 0.8))
    pad = int(0.3 * SAMPLE_RATE)
    audio = np.concatenate((np.zeros(pad, np.float32), said.samples, np.zeros(pad, np.float32)))
    truth = [p.centre + 0.3 for p in said.phones if p.name in BILABIALS]
    found = [p.centre for p in align_transcript(audio, text) if p.name in BILABIALS]
    assert len(found) == len(truth) >= 10
    errors = np.abs(np.array(found) - np.array(truth))
    assert np.median(errors) < 0.03 and np.mean(errors < 0.06) >= 0.9, errors


def test_alignment_of_a_real_clip(real_speech_clips: list[Path]) -> None:
    clip = next(c for c in real_speech_clips if c.stem == "LJ001-0002")  # in being comparatively modern.
    samples = lipsync_eval.read_16k(clip)
    phones = align_transcript(samples, clip.with_suffix(".txt").read_text().strip())
    speech = find_speech(samples)
    spoken = [p for p in phones if p.name != SILENCE]
    assert phones[0].start == 0.0 and phones[-1].end == pytest.approx(samples.size / SAMPLE_RATE)
    assert speech.start < 0.05 and spoken[0].start >= speech.start and spoken[-1].end <= speech.end
    assert phones[-1].name == SILENCE and phones[-1].end - phones[-1].start > 0.1
    assert np.all(np.diff([p.start for p in phones]) > 0)
    assert [p.name for p in spoken if p.name in BILABIALS] == ["b", "m", "p", "m"]  # being, compar-, modern
    levels = block_levels(samples)
    def level(p: Phone) -> float:
        return float(levels[min(int(p.centre * 100), levels.size - 1)])
    bilabial = [level(p) for p in spoken if p.name in BILABIALS]
    vowel = float(np.median([level(p) for p in spoken if p.name in VOWELS]))
    assert np.median(bilabial) < vowel - 5.0  # lips closed: quieter than the vowels around them
    assert spoken[0].name == "ih" and spoken[-1].name == "n"


def test_speech_is_found_with_its_pauses_but_not_its_short_gaps() -> None:
    rng = np.random.default_rng(RNG_SEED)
    def part(seconds: float, level: float) -> np.ndarray:
        return (level * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)
    audio = np.concatenate([part(0.3, 1e-4), part(0.5, 0.1), part(0.3, 1e-4), part(0.4, 0.1),
                            part(0.1, 1e-4), part(0.4, 0.1), part(0.2, 1e-4)])
    speech = find_speech(audio)
    assert speech.start == pytest.approx(0.3) and speech.end == pytest.approx(2.0)
    assert len(speech.pauses) == 1 and np.allclose(speech.pauses[0], (0.8, 1.1))


def test_alignment_keeps_words_out_of_a_real_pause(real_speech_clips: list[Path]) -> None:
    clip = next(c for c in real_speech_clips if c.stem == "LJ001-0004")  # "... block books, which were ..."
    samples = lipsync_eval.read_16k(clip)
    pause = find_speech(samples).pauses[0]
    phones = align_transcript(samples, clip.with_suffix(".txt").read_text().strip())
    at = next(i for i, p in enumerate(phones) if p.start <= pause[0] < p.end)
    assert phones[at].name == SILENCE and phones[at].end >= pause[1]
    assert (phones[at - 1].name, phones[at + 1].name) == ("s", "w")  # books | which
    assert phones[at + 1].start - pause[1] < 0.05


def test_real_items_have_viseme_targets_closed_on_bilabials(real_speech_clips: list[Path]) -> None:
    items = real_items(real_speech_clips[0].parent)
    assert [i.name for i in items] == [c.stem for c in real_speech_clips]
    for item in items:
        assert item.target.size == lipsync_eval.read_16k(item.audio).size // (SAMPLE_RATE // MOTION_FPS)
        assert score([item.target], [item]).closure.fraction == 1.0


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-item corpus with one held-out item."""
    folder = tmp_path_factory.mktemp("corpus")
    corpus.generate(folder, TINY_CORPUS_HOURS, TINY_CORPUS_SEED, workers=1)
    return folder


def test_corpus_items_read_the_phone_files(tiny_corpus: Path, tmp_path: Path) -> None:
    items = corpus_items(tiny_corpus)
    assert len(items) == 1 and items[0].name.startswith("heldout/")
    plan = next(p for p in corpus.plan(TINY_CORPUS_HOURS, TINY_CORPUS_SEED) if p.split == corpus.HELDOUT)
    phones = items[0].phones
    assert phones[0].name == SILENCE and phones[-1].end == pytest.approx(items[0].target.size / MOTION_FPS)
    assert any(p.name in BILABIALS for p in phones) and plan.name in items[0].name
    older = tmp_path / "older"
    (older / corpus.HELDOUT).mkdir(parents=True)
    (older / "manifest.json").write_bytes((tiny_corpus / "manifest.json").read_bytes())
    with pytest.raises(lipsync_eval.EvalDataError, match="no phone files"):
        corpus_items(older)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatarcam", *args], capture_output=True, text=True, timeout=120)


def test_eval_lipsync_scores_the_baseline_and_writes_the_report(tiny_corpus: Path, tmp_path: Path) -> None:
    real = lipsync_eval.real_speech_folder()
    done = _cli("eval", "lipsync", "--data", str(tiny_corpus), "--baseline-only", "--out", str(tmp_path),
                "--real", str(real))
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines()
            if line.startswith(("synthetic held-out", "real speech")) and " baseline " in line]
    assert len(rows) == (2 if real.is_dir() else 1)
    report = (tmp_path / "eval_lipsync.md").read_text()
    assert "| synthetic held-out | baseline |" in report and "--baseline-only" in report
    images = sorted(p.name for p in (tmp_path / "images").glob("*.png"))
    assert "lipsync_synthetic.png" in images
    if real.is_dir():
        assert "| real speech | baseline |" in report and len(images) == 1 + len(list(real.glob("*.txt")))


def test_eval_lipsync_with_a_missing_model_says_so_in_one_sentence(tiny_corpus: Path, tmp_path: Path) -> None:
    done = _cli("eval", "lipsync", "--data", str(tiny_corpus), "--model", str(tmp_path / "missing.pt"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("avatarcam: error: ")


def test_the_shipped_stream_beats_the_loudness_baseline_on_real_speech(real_speech_clips: list[Path]) -> None:
    items = real_items(real_speech_clips[0].parent)
    model, _ = evaluate(model_predictor(), items)
    baseline, _ = evaluate(baseline_predictor(), items)
    assert model.r_at_zero > baseline.r_at_zero
    for figure in ("closure", "syllables", "pause"):
        assert getattr(model, figure).fraction > getattr(baseline, figure).fraction, figure
