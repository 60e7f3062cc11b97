"""`avatarcam vad AUDIO`: the streaming audio front end over a file, as fast as it runs."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from avatarcam.audio.file_source import FileSource
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.audio.vad import VadConfig
from avatarcam.constants import VAD_FRAME_MS_CHOICES
from avatarcam.control.settings import load_settings


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `vad` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Run the realtime audio front end (resampling, webrtcvad with attack, "
        "hangover and noise floor) over an audio file as fast as possible and print the speech "
        "segments in seconds from the start of the file.")
    parser.add_argument("audio", type=Path, help="WAV, FLAC, OGG, MP3 or M4A file, any rate and channels")
    parser.add_argument("--json", action="store_true", help='print {"frame_ms": N, "segments": [[start_s, end_s], ...]}')
    parser.add_argument("--config", type=Path, help="settings file whose [vad] section is used (see configs/avatarcam.toml)")
    parser.add_argument("--frame-ms", type=int, choices=VAD_FRAME_MS_CHOICES, help="VAD frame length (overrides the config)")
    parser.add_argument("--aggressiveness", type=int, choices=range(4),
                        help="webrtcvad mode: 0 lenient … 3 strict (overrides the config)")
    parser.set_defaults(handler=run)


def find_segments(audio: Path, config: VadConfig) -> list[list[float]]:
    """Speech segments of `audio` in seconds from its start, via the streaming front end."""
    source = FileSource(audio, realtime=False)
    frontend = AudioFrontend(source.rate, config)
    source.start()
    first_time: float | None = None
    while (chunk := source.read()) is not None:
        first_time = chunk.start_time if first_time is None else first_time
        frontend.process(chunk)
    frontend.flush()
    offset = first_time or 0.0
    return [[round(start - offset, 3), round(end - offset, 3)] for start, end in frontend.segments]


def run(args: argparse.Namespace) -> int:
    """Print the segments as text or JSON."""
    overrides = {"frame_ms": args.frame_ms, "aggressiveness": args.aggressiveness}
    config = dataclasses.replace(
        load_settings(args.config).vad, **{key: value for key, value in overrides.items() if value is not None}
    )
    segments = find_segments(args.audio, config)
    if args.json:
        print(json.dumps({"frame_ms": config.frame_ms, "segments": segments}))
        return 0
    if not segments:
        print("no speech found")
    for start, end in segments:
        print(f"{start:8.3f} – {end:8.3f} s  speech ({end - start:.2f} s)")
    return 0
