"""Entry point of the `avatarcam` console script.

Each subcommand lives in its own module exposing `register(subparsers)`, which adds its
parser and sets `handler` to a function taking the parsed namespace and returning an exit
code. A stage that does not exist yet has no module here, so it is not listed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from avatarcam import __version__
from avatarcam.cli import bench, demo, devices, doctor, motion, prepare, render_motion, run, train, vad
from avatarcam.cli import eval as eval_command  # named so as not to hide the builtin eval
from avatarcam.errors import AvatarcamError

COMMAND_MODULES = (run, demo, devices, doctor, vad, prepare, motion, render_motion, bench, train,
                   eval_command)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one subparser per available subcommand."""
    parser = argparse.ArgumentParser(
        prog="avatarcam",
        description="Turn one portrait photo into a live talking avatar on a system webcam.",
    )
    parser.add_argument("--version", action="version", version=f"avatarcam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen subcommand and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
