"""`avatarcam prepare PORTRAIT -o AVATAR_DIR`: turn one photo into an avatar folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from avatarcam.motion.space import to_dict
from avatarcam.render.avatar import prepare_avatar


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `prepare` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Find the face (MediaPipe Face Mesh), measure its head pose and expression "
        "in the motion space, separate the person from the background, and build the warp rig "
        "and mouth assets for every output size. The folder loads in well under a second.")
    parser.add_argument("portrait", type=Path, help="a photo with one clearly visible face (JPEG, PNG, …)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="avatar folder to write")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the avatar and print the portrait's own measured motion vector."""
    avatar = prepare_avatar(args.portrait, args.out)
    measured = ", ".join(f"{name}={value:.2f}" for name, value in to_dict(avatar.motion).items()
                         if abs(value) >= 0.01)
    print(f"wrote {args.out} (the photo measures as: {measured or 'neutral'})")
    return 0
