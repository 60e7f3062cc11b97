"""Audio files of every supported kind decode alike; bad files give one clear sentence."""

from __future__ import annotations

import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.file_source import FileSource
from avatarcam.errors import AudioFileError
from tests.alignment import best_correlation

RATE = 44_100


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s stereo 44.1 kHz WAV: 440 Hz left, 660 Hz right."""
    t = np.arange(RATE) / RATE
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)], axis=1)
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    soundfile.write(path, stereo.astype(np.float32), RATE, subtype="PCM_16")
    return path


def _convert(src: Path, dst: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), str(dst)], check=True, timeout=60)
    return dst


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a"])
def test_formats_decode_to_the_same_mono_signal(tone_wav: Path, tmp_path: Path, suffix: str) -> None:
    path = tone_wav if suffix == ".wav" else _convert(tone_wav, tmp_path / f"tone{suffix}")
    decoded = decode_audio_file(path)
    assert decoded.rate == RATE and decoded.source_channels == 2
    reference = decode_audio_file(tone_wav).samples
    assert len(decoded.samples) >= 0.99 * RATE
    # Lossy codecs add priming samples at the start: compare at the best offset.
    assert best_correlation(decoded.samples, reference[: int(0.9 * RATE)]) > 0.95


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _wav_with_channels(path: Path, channels: int, frames: int) -> Path:
    data = b"\x00\x00" * channels * frames
    fmt = struct.pack("<HHIIHH", 1, channels, 16_000, 16_000 * 2 * channels, 2 * channels, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
                     + fmt + b"data" + struct.pack("<I", len(data)) + data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.wav", "does not exist; check the path"),
        (lambda p: p, "is a folder, not an audio file"),
        (lambda p: _write(p / "empty.wav", b""), "is empty (0 bytes)"),
        (lambda p: _write(p / "notes.txt", b"not audio at all\n" * 20), "is not an audio file avatarcam can read"),
        (lambda p: _wav_with_channels(p / "zero.wav", 0, 0), "declares 0 channels"),
        (lambda p: _wav_with_channels(p / "nosamples.wav", 1, 0), "contains no samples"),
    ],
    ids=["missing", "folder", "empty", "not-audio", "zero-channels", "no-samples"],
)
def test_bad_files_give_one_sentence(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    with pytest.raises(AudioFileError) as caught:
        decode_audio_file(make(tmp_path))
    text = str(caught.value)
    assert message in text
    assert text.count(". ") == 0 and "\n" not in text, f"not one sentence: {text!r}"


def test_file_source_fast_and_paced_give_identical_chunks(tone_wav: Path) -> None:
    fast = FileSource(tone_wav)
    fast.start()
    fast_chunks = []
    while (chunk := fast.read()) is not None:
        fast_chunks.append(chunk)
    assert fast.finished
    assert sum(len(c.samples) for c in fast_chunks) == RATE
    starts = np.array([c.start_time for c in fast_chunks])
    np.testing.assert_allclose(np.diff(starts), len(fast_chunks[0].samples) / RATE)

    paced = FileSource(tone_wav, realtime=True)
    paced.start()
    began = time.monotonic()
    paced_chunks = [paced.read() for _ in range(30)]
    # A paced source cannot deliver 0.3 s of audio in much less than 0.3 s.
    assert time.monotonic() - began >= 0.29
    np.testing.assert_array_equal(
        np.concatenate([c.samples for c in paced_chunks if c is not None]),
        np.concatenate([c.samples for c in fast_chunks[:30]]),
    )


@pytest.mark.parametrize("rate", [22_050, 44_100, 16_000])
def test_file_source_blocks_end_on_the_10_ms_grid(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "a.wav"
    soundfile.write(str(path), np.zeros(rate, np.float32), rate)
    source = FileSource(path)
    ends = []
    while (chunk := source.read()) is not None:
        ends.append(chunk.end_time - chunk.start_time)
    block_ends = np.cumsum(ends)
    assert len(ends) == 100
    np.testing.assert_allclose(block_ends, np.arange(1, 101) * 0.01, atol=0.5 / rate + 1e-9)
