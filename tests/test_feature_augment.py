"""The training-time feature augmentation: vocal-tract warp and spectral tilt of log-mel windows."""

from __future__ import annotations

import numpy as np

from avatarcam.audio.features import log_mel
from avatarcam.constants import FEATURES_PER_MOTION_FRAME, N_MELS, SAMPLE_RATE
from avatarcam.motion.model import FRAME_FEATURES, SILENCE_FEATURE, ModelConfig
from avatarcam.motion.space import NUM_FIELDS
from avatarcam.train.feature_augment import augment_windows
from avatarcam.train.fit import Corpus, FitConfig, WindowSampler


def _tone_window(hz: float, frames: int = 3) -> np.ndarray:
    """One window (1, frames, FRAME_FEATURES) of a pure tone's log-mel features."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    rows = log_mel((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
    rows = rows[10 : 10 + frames * FEATURES_PER_MOTION_FRAME]
    return rows.reshape(1, frames, FRAME_FEATURES)


def _peak_band(window: np.ndarray) -> int:
    """The loudest mel band of the window's first log-mel row."""
    return int(np.argmax(window.reshape(-1, N_MELS)[0]))


def test_no_warp_and_no_tilt_change_nothing() -> None:
    window = _tone_window(1000.0)
    assert np.array_equal(augment_windows(window, [1.0], [0.0]), window)


def test_warp_moves_a_tone_up_or_down_by_its_factor() -> None:
    window = _tone_window(1000.0)
    base = _peak_band(window)
    up = _peak_band(augment_windows(window, [1.15], [0.0]))
    down = _peak_band(augment_windows(window, [1 / 1.15], [0.0]))
    assert down < base < up
    again = _peak_band(_tone_window(1150.0))
    assert abs(up - again) <= 1  # a 15 % warp lands where a 15 % higher tone is


def test_tilt_lifts_the_top_against_the_bottom_and_keeps_silence() -> None:
    window = np.full((2, 2, FRAME_FEATURES), -3.0, np.float32)
    window[1, 0] = SILENCE_FEATURE  # one frame of digital silence
    out = augment_windows(window, [1.0, 1.0], [6.0, 6.0]).reshape(2, 2 * FEATURES_PER_MOTION_FRAME, N_MELS)
    assert np.isclose(out[0, 0, -1] - out[0, 0, 0], 0.6, atol=1e-5)  # 6 dB in log10 power
    assert np.all(out[1, :FEATURES_PER_MOTION_FRAME] == SILENCE_FEATURE)
    assert np.all(out >= SILENCE_FEATURE)


def _corpus(heldout: list[bool], frames: int = 80) -> Corpus:
    """A corpus of random features, one item per entry of `heldout`."""
    rng = np.random.default_rng(0)
    count = len(heldout)
    return Corpus(features=rng.normal(-3.0, 1.0, (count * frames, FRAME_FEATURES)).astype(np.float16),
                  vad=np.ones(count * frames, np.float32),
                  motion=np.zeros((count * frames, NUM_FIELDS), np.float32),
                  starts=np.arange(count, dtype=np.int64) * frames,
                  lengths=np.full(count, frames, np.int64), heldout=np.array(heldout))


def _drawn_rows_are_corpus_rows(sampler: WindowSampler) -> bool:
    """Whether every feature row a draw returns is a row of the corpus as it is."""
    rows = sampler.draw(4)["features"].reshape(-1, FRAME_FEATURES)
    stored = {row.tobytes() for row in sampler.corpus.features.astype(np.float32)}
    return all(row.tobytes() in stored for row in rows)


def test_only_training_windows_are_augmented() -> None:
    corpus, model = _corpus([False, True]), ModelConfig()
    augmenting = FitConfig(warp=0.1, tilt_db=6.0, preset_chance=0.0, stream_start_chance=0.0)
    plain = FitConfig(preset_chance=0.0, stream_start_chance=0.0)
    rng = np.random.default_rng(1)
    assert not _drawn_rows_are_corpus_rows(WindowSampler(corpus, model, augmenting, heldout=False, rng=rng))
    assert _drawn_rows_are_corpus_rows(WindowSampler(corpus, model, augmenting, heldout=True, rng=rng))
    assert _drawn_rows_are_corpus_rows(WindowSampler(corpus, model, plain, heldout=False, rng=rng))
