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
from avatarcam.audio.resample import StreamingResampler, resample_whole


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
    """Through the whole front end (48 kHz chunks → streaming resampler → frames) the
    features are those of the same audio resampled at once by libsoxr, and each frame is
    stamped with the capture time of its window's last sample. The streaming filter rolls
    off a little earlier than libsoxr's (it keeps the delay near 2 ms), so only the top two
    mel bands, above 7 kHz, may differ by more, and by at most a factor of 1.6."""
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
    np.testing.assert_allclose(streamed[:n, :-2], offline[:n, :-2], atol=1e-3)
    np.testing.assert_allclose(streamed[:n, -2:], offline[:n, -2:], atol=0.2)  # log10 units
    frame_times = np.concatenate(times)
    np.testing.assert_allclose(
        frame_times, 10.0 + (np.arange(len(frame_times)) * C.HOP_LENGTH + C.WIN_LENGTH) / C.SAMPLE_RATE
    )


@pytest.mark.parametrize("rate", [48_000, 44_100, 22_050, 8_000])
def test_streaming_resampler_keeps_up_with_its_input(rate: int) -> None:
    """Every 10 ms block yields its share of 16 kHz samples within a few samples (no
    bursts, about 2 ms of delay), a tone in the band comes through at its level and in
    time, and a tone above 8 kHz is removed."""
    seconds = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 1000 * seconds).astype(np.float32)
    resampler = StreamingResampler(rate)
    block = rate // 100
    outputs = [resampler.process(tone[i : i + block]) for i in range(0, rate, block)]
    sizes = [len(o) for o in outputs]
    assert resampler.delay_s < 0.005 and min(sizes[1:-1]) >= 160 - 4 and max(sizes) <= 160
    out = np.concatenate(outputs + [resampler.process(np.zeros(0, np.float32), last=True)])
    assert len(out) == C.SAMPLE_RATE
    expected = np.sin(2 * np.pi * 1000 * np.arange(C.SAMPLE_RATE) / C.SAMPLE_RATE)
    assert np.abs(out - expected)[200:-200].max() < 1e-3
    if rate > 2 * 9_000:
        high = np.sin(2 * np.pi * 9_000 * seconds).astype(np.float32)
        removed = StreamingResampler(rate).process(high, last=True)
        assert np.sqrt(np.mean(removed[200:-200] ** 2)) < 1e-3



def _block_waits(rate: int, samples: np.ndarray, aligned: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, their time stamps, and how long after each window's end the block that
    brought it out ended, for `samples` fed in 10 ms blocks from time 10 s."""
    frontend = AudioFrontend(rate, align_windows_to_blocks=aligned)
    block = rate // 100
    feats, times, waits = [], [], []
    for i in range(0, len(samples), block):
        chunk = AudioChunk(samples[i : i + block], rate, 10.0 + i / rate)
        step = frontend.process(chunk)
        feats.append(step.features)
        times.append(step.feature_times)
        waits.append(chunk.end_time - step.feature_times)
    return np.concatenate(feats), np.concatenate(times), np.concatenate(waits)


@pytest.mark.parametrize("rate", [16_000, 48_000, 44_100, 8_000])
def test_aligned_windows_are_complete_as_a_capture_block_ends(rate: int) -> None:
    """With `align_windows_to_blocks`, each log-mel frame comes out of the very 10 ms block
    that completes its window (after the resampler's delay) instead of half a block into
    the next one, still stamped with its window's end."""
    noise = (0.1 * np.random.default_rng(0).standard_normal(rate)).astype(np.float32)
    delay = StreamingResampler(rate).delay_s
    _, _, late = _block_waits(rate, noise, aligned=False)
    _, times, waits = _block_waits(rate, noise, aligned=True)
    assert late.min() >= delay - 1e-9 and late.max() >= 0.005
    assert waits.min() >= delay - 1e-9  # never stamped later than the audio it was made from
    assert waits.max() <= delay + 1.0 / C.SAMPLE_RATE + 1e-9
    assert len(times) >= 97 and np.allclose(np.diff(times), C.HOP_LENGTH / C.SAMPLE_RATE)


def test_aligned_windows_are_the_log_mel_of_the_audio_after_the_lead_in() -> None:
    noise = (0.1 * np.random.default_rng(1).standard_normal(C.SAMPLE_RATE)).astype(np.float32)
    feats, times, _ = _block_waits(C.SAMPLE_RATE, noise, aligned=True)
    lead_in = round((times[0] - 10.0) * C.SAMPLE_RATE) - C.WIN_LENGTH
    assert 0 < lead_in < C.HOP_LENGTH
    np.testing.assert_allclose(feats, log_mel(noise[lead_in:])[: len(feats)], atol=1e-5)
