"""Drives real sinks in a child process, as the engine would, for tests that must signal
the process or give it a display of its own.

Usage:
  python -m tests.sink_probe record OUT.mp4   frames and audio paced at 30 fps until SIGTERM
  python -m tests.sink_probe preview SECONDS  a solid frame with the overlay in the preview window
Each prints "running" once its sinks are open and frames flow, and the sinks' messages.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.sinks.sink import OverlayStatus, open_sinks
from avatarcam.sinks.stop_signals import stop_signals_interrupt

FPS = 30
SIZE = (320, 240)  # width, height
AUDIO_RATE = 48_000
PREVIEW_COLOR = (10, 200, 30)  # RGB of the preview probe's frame
PREVIEW_STATUS = OverlayStatus(fps=30.0, latency_p50_ms=80.0, speaking=True, preset="smile", frozen=True)


def record(out: str) -> int:
    """Write a moving picture and a tone to `out` until interrupted; 0 when it closed cleanly."""
    width, height = SIZE
    tone = np.sin(2 * np.pi * 440 * np.arange(AUDIO_RATE // FPS) / AUDIO_RATE).astype(np.float32) * 0.3
    try:
        with stop_signals_interrupt(), open_sinks([f"file:{out}", "null"], width, height, FPS) as sinks:
            start = time.monotonic()
            for index in range(10 * 60 * FPS):  # a ten-minute ceiling, far past any test
                capture_time = start + index / FPS
                sinks.send_audio(AudioChunk(tone, AUDIO_RATE, capture_time))
                frame = np.full((height, width, 3), (index * 7) % 256, np.uint8)
                time.sleep(max(0.0, capture_time + 1 / FPS - time.monotonic()))
                sinks.send(frame, capture_time)
                if index == FPS // 2:
                    print("running", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    return 0


def preview(seconds: float) -> int:
    """Show a solid frame with a status overlay for `seconds`, sent from another thread
    than the one that opened the sink, as the engine's sink thread sends them."""
    width, height = SIZE
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = PREVIEW_COLOR

    def send_all(sinks) -> None:
        for index in range(round(seconds * FPS)):
            sinks.send(frame, index / FPS, PREVIEW_STATUS)
            if index == FPS // 2:
                print("running", flush=True)
            time.sleep(1 / FPS)

    with open_sinks(["preview"], width, height, FPS) as sinks:
        sender = threading.Thread(target=send_all, args=(sinks,))
        sender.start()
        sender.join()
        print("sent all", flush=True)
    return 0


def main() -> int:
    """Run the probe named on the command line."""
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("record").add_argument("out")
    commands.add_parser("preview").add_argument("seconds", type=float)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the sinks' own messages, for the tests
    return record(args.out) if args.command == "record" else preview(args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
