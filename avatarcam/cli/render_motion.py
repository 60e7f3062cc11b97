"""`avatarcam render-motion`: render a motion track of an avatar to an mp4 or PNG frames."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from avatarcam.errors import AvatarcamError
from avatarcam.motion.motion_io import read_csv
from avatarcam.render.avatar import load_avatar
from avatarcam.render.backends import BACKENDS, DEFAULT_ORDER, open_renderer
from avatarcam.render.framing import DEFAULT_SIZE, SIZES

BATCH = 8  # frames rendered per call: amortises per-call overhead without much memory
ONNX_CACHE = "onnx"  # folder inside the avatar where exported graphs are kept


class OutputError(AvatarcamError):
    """The video or frames folder cannot be written."""


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `render-motion` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Render every row of a motion CSV (`t` then motion fields; missing fields "
        "are neutral) with a prepared avatar, to an mp4 at the CSV's frame rate or to one PNG "
        "per row.")
    parser.add_argument("--avatar", type=Path, required=True, help="folder made by `avatarcam prepare`")
    parser.add_argument("--motion", type=Path, required=True, help="motion CSV")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="mp4 file to write")
    target.add_argument("--frames-dir", type=Path, help="folder for frame_000000.png, …")
    parser.add_argument("--size", choices=tuple(SIZES), default=DEFAULT_SIZE,
                        help="512 (512×512 around the head) or 720p (1280×720)")
    parser.add_argument("--backend", choices=tuple(BACKENDS),
                        help="render backend (default: the fastest that runs here)")
    parser.set_defaults(handler=run)


def _frame_rate(times: np.ndarray) -> float:
    """Frames per second of a track's times (the median step), 25 for a single frame."""
    return float(1.0 / np.median(np.diff(times))) if len(times) > 1 else 25.0


def _open_video(path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    """An mp4v writer for `path`, or OutputError when OpenCV cannot open it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OutputError(f"Cannot write the video {path}; check the folder exists and is writable.")
    return writer


def run(args: argparse.Namespace) -> int:
    """Render the track and report where it went."""
    avatar = load_avatar(args.avatar, sizes=(args.size,))
    track, _ = read_csv(args.motion)
    names = (args.backend,) if args.backend else DEFAULT_ORDER
    backend, renderer = open_renderer(avatar, args.size, args.avatar / ONNX_CACHE, names)
    size = avatar.canvas(args.size).size
    writer = _open_video(args.out, _frame_rate(track.times), size.width, size.height) if args.out else None
    if args.frames_dir:
        args.frames_dir.mkdir(parents=True, exist_ok=True)
    try:
        for start in range(0, len(track.frames), BATCH):
            frames = renderer.render(track.frames[start:start + BATCH])
            for offset, frame in enumerate(frames):
                bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
                if writer is not None:
                    writer.write(bgr)
                else:
                    cv2.imwrite(str(args.frames_dir / f"frame_{start + offset:06d}.png"), bgr)
    finally:
        if writer is not None:
            writer.release()
    print(f"rendered {len(track.frames)} frames with {backend} to {args.out or args.frames_dir}")
    return 0
