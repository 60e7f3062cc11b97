"""Entry point of the `avatarcam` console script.

Each subcommand lives in its own module exposing `register(parser)`, which fills in the
parser that this module made for it (name and one-line help are kept here) and sets
`handler` to a function taking the parsed namespace and returning an exit code. Only the
module of the command being run is imported: the others pull in torch, MediaPipe and
OpenCV, which made `avatarcam --help` take seconds.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from avatarcam import __version__
from avatarcam.errors import AvatarcamError

# name: (module that fills in its parser, one-line help), in the order `--help` lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("avatarcam.cli.run", "run the live avatar: microphone in, virtual camera out"),
    "demo": ("avatarcam.cli.demo", "run the live pipeline on a bundled portrait and synthetic speech"),
    "devices": ("avatarcam.cli.devices", "list microphones and virtual cameras"),
    "doctor": ("avatarcam.cli.doctor", "check that this machine can run avatarcam and say how to fix what is missing"),
    "vad": ("avatarcam.cli.vad", "find speech in an audio file with the live VAD"),
    "prepare": ("avatarcam.cli.prepare", "analyse a portrait photo into an avatar folder"),
    "motion": ("avatarcam.cli.motion", "write the motion the model makes for an audio file (CSV)"),
    "render-motion": ("avatarcam.cli.render_motion", "render a motion CSV of an avatar to video or PNG frames"),
    "bench": ("avatarcam.cli.bench", "measure speed and latency of a stage"),
    "train": ("avatarcam.cli.train", "make training data for the audio-to-motion model"),
    "eval": ("avatarcam.cli.eval", "measure lip sync against targets (model and loudness baseline)"),
}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in `argv` (the top-level options take no values, so it is the
    first word that names one), None when there is none."""
    return next((word for word in argv if word in COMMANDS), None)


def build_parser(*commands: str) -> argparse.ArgumentParser:
    """The argument parser: every subcommand is listed, and the ones in `commands` are
    filled in with their options (the others only parse once imported)."""
    parser = argparse.ArgumentParser(
        prog="avatarcam",
        description="Turn one portrait photo into a live talking avatar on a system webcam.",
    )
    parser.add_argument("--version", action="version", version=f"avatarcam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, summary) in COMMANDS.items():
        parser_of_command = subparsers.add_parser(name, help=summary)
        if name in commands:
            importlib.import_module(module).register(parser_of_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen subcommand and return its exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    command = chosen_command(words)
    parser = build_parser(*([command] if command else []))
    args = parser.parse_args(words)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="avatarcam: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except AvatarcamError as err:
        print(f"avatarcam: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("avatarcam: interrupted", file=sys.stderr)
        return 130
