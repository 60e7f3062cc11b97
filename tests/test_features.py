"""Streaming log-mel features equal the offline ones; sizes are derived consistently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarcam import constants as C
from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.features import StreamingLogMel, log_mel, mel_filterbank
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.audio.resample import resample_whole


def test_constant_derivations() -> None:
    assert C.HOP_LENGTH * C.FEATURES_PER_SECOND == C.SAMPLE_RATE
    assert C.FEATURES_PER_MOTION_FRAME * C.HOP_LENGTH * C.MOTION_FPS == C.SAMPLE_RATE
    assert C.WIN_LENGTH <= C.N_FFT
    with pytest.raises(ValueError):
        C.exact_div(10, 3)


def test_filterbank_covers_the_band_with_unit_area_triangles() -> None:
    bank = mel_filterbank()
    assert bank.shape == (C.N_MELS, C.N_FFT // 2 + 1)
    assert np.all(bank.sum(axis=1) > 0), "every mel band must see at least one FFT bin"
    peaks = bank.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0), "band centres must rise with frequency"


def test_streaming_equals_offline_on_real_speech(real_speech_clips: list[Path]) -> None:
    decoded = decode_audio_file(real_speech_clips[2])
    speech = resample_whole(decoded.samples, decoded.rate)
    offline = log_mel(speech)
    stream = StreamingLogMel()
    rng = np.random.default_rng(3)
    pieces, pos = [], 0
    while pos < len(speech):
        step = int(rng.integers(1, 1200))
        pieces.append(stream.process(speech[pos : pos + step]))
        pos += step
    streamed = np.concatenate(pieces)
    assert streamed.shape == offline.shape == ((len(speech) - C.WIN_LENGTH) // C.HOP_LENGTH + 1, C.N_MELS)
    np.testing.assert_allclose(streamed, offline, rtol=0, atol=1e-4)


def test_frontend_features_equal_offline_features_of_the_resampled_file(real_speech_clips: list[Path]) -> None:
    """Through the whole front end (48 kHz chunks → soxr stream → frames) the features are
    those of the same audio resampled at once, and each frame is stamped with the capture
    time of its window's last sample."""
    decoded = decode_audio_file(real_speech_clips[0])
    mic = resample_whole(decoded.samples, decoded.rate, 48_000)
    frontend = AudioFrontend(48_000)
    feats, times = [], []
    for i in range(0, len(mic), 480):
        step = frontend.process(AudioChunk(mic[i : i + 480], 48_000, 10.0 + i / 48_000))
        feats.append(step.features)
        times.append(step.feature_times)
    feats.append(frontend.flush().features)
    streamed = np.concatenate(feats)
    offline = log_mel(resample_whole(mic, 48_000))
    n = min(len(streamed), len(offline))
    assert n >= len(offline) - 1
    np.testing.assert_allclose(streamed[:n], offline[:n], atol=1e-3)
    frame_times = np.concatenate(times)
    np.testing.assert_allclose(
        frame_times, 10.0 + (np.arange(len(frame_times)) * C.HOP_LENGTH + C.WIN_LENGTH) / C.SAMPLE_RATE
    )
