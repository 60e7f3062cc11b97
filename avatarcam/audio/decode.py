"""Reads an audio file of any common format, rate and channel count as mono float32.

libsndfile (through soundfile) reads WAV, FLAC, OGG and MP3 in-process; anything else it
cannot open (M4A/AAC, video containers) is decoded by ffmpeg. Every way a file can be
unusable ends in one `AudioFileError` sentence.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from avatarcam.errors import AudioFileError

SUPPORTED = "WAV, FLAC, OGG, MP3 or M4A"


@dataclass(frozen=True)
class DecodedAudio:
    """A whole file as mono float32 samples at its own rate."""

    samples: np.ndarray  # shape (n,), float32 in [-1, 1]
    rate: int
    source_channels: int  # channels in the file before the downmix


def decode_audio_file(path: str | Path) -> DecodedAudio:
    """Decode `path` to mono float32; raises `AudioFileError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"The audio file {str(path)!r} does not exist; check the path.")
    if path.is_dir():
        raise AudioFileError(f"{str(path)!r} is a folder, not an audio file; give a {SUPPORTED} file.")
    if path.stat().st_size == 0:
        raise AudioFileError(f"The audio file {str(path)!r} is empty (0 bytes); record or export it again.")
    if _wav_channel_count(path) == 0:
        raise AudioFileError(f"The audio file {str(path)!r} declares 0 channels; re-export it as mono or stereo.")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError):
        data, rate = _decode_with_ffmpeg(path)
    if data.shape[1] == 0:
        raise AudioFileError(f"The audio file {str(path)!r} has no audio channels; re-export it as mono or stereo.")
    if data.shape[0] == 0:
        raise AudioFileError(f"The audio file {str(path)!r} contains no samples; record or export it again.")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return DecodedAudio(samples=np.ascontiguousarray(mono), rate=int(rate), source_channels=data.shape[1])


def _wav_channel_count(path: Path) -> int | None:
    """The channel count in a RIFF/WAVE header, or None if `path` is not such a file."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        chunk_id, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk_id == b"fmt " and pos + 12 <= len(head):
            return struct.unpack("<H", head[pos + 10 : pos + 12])[0]
        pos += 8 + size + (size & 1)
    return None


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode with ffprobe/ffmpeg; shape (n, channels) float32 and the rate."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise AudioFileError(
            f"{str(path)!r} is not WAV/FLAC/OGG/MP3 and ffmpeg is not installed to decode it; "
            "install ffmpeg (install/system-packages.sh) or convert the file to WAV."
        )
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=sample_rate,channels", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=30,
    )
    fields = probe.stdout.strip().split(",")
    if probe.returncode != 0 or len(fields) != 2 or not all(f.strip().isdigit() for f in fields):
        raise AudioFileError(f"{str(path)!r} is not an audio file avatarcam can read; give a {SUPPORTED} file.")
    rate, channels = int(fields[0]), int(fields[1])
    if channels == 0:
        raise AudioFileError(f"The audio file {str(path)!r} has no audio channels; re-export it as mono or stereo.")
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"],
        capture_output=True, timeout=600,
    )
    if decoded.returncode != 0:
        reason = decoded.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        raise AudioFileError(f"ffmpeg could not decode {str(path)!r} ({reason[0]}); convert it to WAV and retry.")
    samples = np.frombuffer(decoded.stdout, dtype=np.float32)
    return samples[: len(samples) // channels * channels].reshape(-1, channels), rate
