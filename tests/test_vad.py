"""VAD accuracy on the evaluation corpus (tests/vad_corpus.py), with the figures printed.

Speech must be labelled frame by frame against truth found from the clean speech alone
(≥ 95 % per clip and overall); noise, clicks, breathing and a fan must stay silent (≤ 5 %
of frames called speech; digital silence exactly 0 %). Small cases check the truth rule
and the smoothing itself: pauses between words stay inside one segment, and one click
never opens one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from avatarcam.audio.vad import StreamingVad, VadConfig
from avatarcam.constants import SAMPLE_RATE
from tests import vad_corpus
from tests.vad_corpus import CorpusItem, Score

MIN_SPEECH_ACCURACY = 0.95
MAX_NOISE_SPEECH = 0.05
CONFIG = VadConfig()


def weighted(scores: Sequence[Score], value: str) -> float:
    """The frame-weighted mean of one `Score` field over `scores`."""
    return sum(getattr(s, value) * s.frames for s in scores) / sum(s.frames for s in scores)


def score_and_print(title: str, items: Sequence[CorpusItem], capsys: pytest.CaptureFixture[str]) -> list[Score]:
    """Score every item with the default config and print a table (shown even without -s)."""
    scores = [vad_corpus.score(item, CONFIG) for item in items]
    width = max(len(s.name) for s in scores)
    fields = ("accuracy", "speech_fraction", "truth_fraction")
    rows = [(s.name, s.frames, *(getattr(s, f) for f in fields)) for s in scores]
    rows.append(("all", sum(s.frames for s in scores), *(weighted(scores, f) for f in fields)))
    lines = [f"\n{title}", f"  {'item':<{width}}  frames  accuracy  called speech  truth speech"]
    lines += [
        f"  {name:<{width}}  {frames:6d}  {100 * acc:7.2f}%  {100 * called:12.2f}%  {100 * truth:11.2f}%"
        for name, frames, acc, called, truth in rows
    ]
    with capsys.disabled():
        print("\n".join(lines))
    return scores


def assert_accurate(scores: Sequence[Score]) -> None:
    """Each speech item, and all of them together, reach `MIN_SPEECH_ACCURACY`."""
    weak = [f"{s.name} {100 * s.accuracy:.1f}%" for s in scores if s.accuracy < MIN_SPEECH_ACCURACY]
    assert not weak, f"frame accuracy under {100 * MIN_SPEECH_ACCURACY:.0f}%: {', '.join(weak)}"
    assert weighted(scores, "accuracy") >= MIN_SPEECH_ACCURACY


def test_real_speech_frame_accuracy(real_speech_clips: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The LJ Speech clips padded with room noise (and two joined by a 1.5 s gap)."""
    items = vad_corpus.real_speech_items(real_speech_clips, CONFIG.frame_length)
    assert_accurate(score_and_print("VAD on real speech (LJ Speech)", items, capsys))


@pytest.mark.skipif(not vad_corpus.espeak_available(), reason="espeak-ng is not installed")
def test_espeak_speech_frame_accuracy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several espeak-ng voices and speaking rates padded with room noise."""
    items = vad_corpus.espeak_items(tmp_path, CONFIG.frame_length)
    assert_accurate(score_and_print("VAD on espeak-ng speech", items, capsys))


def test_noise_is_not_speech(capsys: pytest.CaptureFixture[str]) -> None:
    """Silence, room noise, white/pink noise, typing, breathing and a fan switching on."""
    items = vad_corpus.noise_items(CONFIG.frame_length)
    scores = score_and_print("VAD on non-speech (every frame called speech is false)", items, capsys)
    noisy = [f"{s.name} {100 * s.speech_fraction:.1f}%" for s in scores if s.speech_fraction > MAX_NOISE_SPEECH]
    assert not noisy, f"more than {100 * MAX_NOISE_SPEECH:.0f}% of frames called speech: {', '.join(noisy)}"
    assert next(s for s in scores if s.name == "digital silence").speech_fraction == 0.0


def test_truth_fills_pauses_between_words_only() -> None:
    """The truth rule bridges a 200 ms pause but not a 400 ms one, and ignores the quiet
    tail of a fade (over 38 dB below the peak)."""
    frame = CONFIG.frame_length
    word = np.full(10 * frame, 0.1, dtype=np.float32)
    fade = np.full(3 * frame, 0.1 * 10 ** (-40 / 20), dtype=np.float32)
    clean = np.concatenate((word, np.zeros(10 * frame), word, np.zeros(20 * frame), word, fade)).astype(np.float32)
    expected = np.concatenate((np.ones(30, bool), np.zeros(20, bool), np.ones(10, bool), np.zeros(3, bool)))
    np.testing.assert_array_equal(vad_corpus.speech_truth(clean, frame), expected)


def segments_of(samples: np.ndarray) -> list[list[float]]:
    """The segments the default VAD finds in `samples`, fed in uneven blocks."""
    vad = StreamingVad(CONFIG)
    vad_corpus.feed_in_pieces(vad, samples, vad_corpus.item_rng("smoothing"))
    return vad.finish()


def test_pauses_between_words_stay_one_segment() -> None:
    """Five voiced 'words' 150 ms apart make one segment from the first word to the last."""
    rng = vad_corpus.item_rng("words")
    lead = np.zeros(SAMPLE_RATE, dtype=np.float32)
    gap = np.zeros(round(0.15 * SAMPLE_RATE), dtype=np.float32)
    words = [vad_corpus.vowel_word(rng.uniform(0.25, 0.45), rng.uniform(100.0, 220.0)) for _ in range(5)]
    speech = np.concatenate([lead] + [part for word in words for part in (word, gap)][:-1] + [lead])
    samples = speech + vad_corpus.room_noise(len(speech) / SAMPLE_RATE, rng)
    segments = segments_of(samples)
    assert len(segments) == 1, f"150 ms pauses split the words into {segments}"
    start_s, end_s = segments[0]
    assert start_s == pytest.approx(1.0, abs=0.05)
    assert end_s == pytest.approx((len(speech) - len(lead)) / SAMPLE_RATE, abs=0.05)


def test_single_click_makes_no_segment() -> None:
    """One loud key click in a quiet room does not reach the attack time."""
    rng = vad_corpus.item_rng("single click")
    samples = vad_corpus.room_noise(2.0, rng)
    click = vad_corpus.keyboard_click(rng).astype(np.float32)
    samples[SAMPLE_RATE : SAMPLE_RATE + len(click)] += click
    assert segments_of(samples) == []
