"""`avatarcam demo`: the whole realtime pipeline on the embedded default — the astronaut
photo that ships with scikit-image and speech made with espeak-ng — to the virtual camera
where there is one and always to out/demo.mp4 with sound. Needs no microphone, camera
or GPU."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from avatarcam.audio.speech_synth import synthesize_espeak
from avatarcam.cli.run import add_run_options
from avatarcam.control.settings import load_settings
from avatarcam.render.backends import DEFAULT_ORDER
from avatarcam.render.default_portrait import write_default_portrait
from avatarcam.runtime.session import RunRequest, run_session

log = logging.getLogger(__name__)

TAIL_S = 1.5  # idle after the speech ends, to show the avatar staying alive


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `demo` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Makes speech with espeak-ng, plays it in real time through the whole "
        "pipeline (VAD, motion model, renderer) and writes OUT/demo.mp4 with the sound; the "
        "frames also go to the virtual camera when one is installed.")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for demo.mp4 (default out)")
    parser.add_argument("--portrait", type=Path, help="another photo instead of the bundled one")
    parser.add_argument("--audio-file", type=Path, help="another recording instead of synthetic speech")
    parser.add_argument("--no-camera", action="store_true", help="write only the mp4")
    add_run_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Make the inputs, run the pipeline, say where the video is."""
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    portrait = args.portrait or write_default_portrait(out / "demo_portrait.png")
    speech = args.audio_file or synthesize_espeak(out / "demo_speech.wav")
    video = out / "demo.mp4"
    sinks = (f"file:{video}",) if args.no_camera else (f"file:{video}", "virtualcam")
    request = RunRequest(
        portrait=portrait, audio_file=speech, sinks=sinks, fps=args.fps, size=args.size,
        stop_at_end_s=TAIL_S, delay_audio=args.delay_audio,
        backends=tuple(args.backend or DEFAULT_ORDER), seed=args.seed, model_path=args.model,
        hotkeys=not args.no_hotkeys, settings=load_settings(args.config),
    )
    stats = run_session(request)
    print(json.dumps(stats.summary()))
    print(f"wrote {video}")
    return 0
