"""A strip of rendered frames (photo, neutral, open and rounded mouth, smile, blink, yaw
left/right) for looking at the renderer's output and for the docs.

Run `python -m avatarcam.render.strip [--portrait PHOTO] [--out PNG] [--size 720p --poses
NAME ... --height PX]`; the default is the astronaut at 512×512, written to
docs/images/render_strip_astronaut.png.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from avatarcam.motion.space import from_dict
from avatarcam.render.avatar import Avatar, prepare_avatar
from avatarcam.render.default_portrait import write_default_portrait
from avatarcam.render.framing import DEFAULT_SIZE, SIZES
from avatarcam.render.graph import build_graph, render_frames

DEFAULT_OUT = Path("docs/images/render_strip_astronaut.png")
POSES: dict[str, dict[str, float]] = {
    "neutral": {},
    "open mouth": {"jaw_open": 0.8},
    "rounded (oo)": {"jaw_open": 0.45, "mouth_round": 1.0},
    "smile": {"smile": 1.0, "jaw_open": 0.15},
    "blink": {"blink_l": 1.0, "blink_r": 1.0},
    "yaw left": {"yaw": -20.0},
    "yaw right": {"yaw": 20.0},
}
LABEL_HEIGHT = 28


def render_strip(avatar: Avatar, size_name: str = "512", poses: tuple[str, ...] = tuple(POSES),
                 height: int | None = None) -> np.ndarray:
    """RGB image: the photo's own state, then one labelled frame per pose named (from
    POSES), each scaled to `height` pixels when given."""
    motion = np.stack([avatar.motion] + [from_dict(POSES[name]) for name in poses])
    frames = render_frames(build_graph(avatar, size_name), motion)
    labelled = []
    for label, frame in zip(["photo (measured)", *poses], frames):
        if height is not None:
            frame = cv2.resize(frame, (round(frame.shape[1] * height / frame.shape[0]), height),
                               interpolation=cv2.INTER_AREA)
        bar = np.full((LABEL_HEIGHT, frame.shape[1], 3), 255, np.uint8)
        cv2.putText(bar, label, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        labelled.append(np.vstack([bar, frame]))
    return np.hstack(labelled)


def main(argv: list[str] | None = None) -> None:
    """Prepare the portrait in a temporary folder and write its strip."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portrait", type=Path, help="photo (default: scikit-image's astronaut)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--size", choices=tuple(SIZES), default=DEFAULT_SIZE)
    parser.add_argument("--poses", nargs="+", choices=tuple(POSES), default=tuple(POSES),
                        help="which poses follow the photo's own (default: all)")
    parser.add_argument("--height", type=int, help="scale frames to this many pixels high")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        photo = args.portrait or write_default_portrait(Path(scratch) / "astronaut.png")
        avatar = prepare_avatar(photo, Path(scratch) / "avatar", sizes=(args.size,))
        strip = render_strip(avatar, args.size, tuple(args.poses), args.height)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
