"""Records from the microphone with the real `MicrophoneSource` for a few seconds and saves
what it got; tests run it in a subprocess whose environment points at their PulseAudio.

Usage: python -m tests.capture_probe SECONDS OUT.npz [--rate HZ] [--device NAME]
Exit status 3 with the error sentence on stdout when capture cannot start.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np

from avatarcam.audio.capture import MicrophoneSource
from avatarcam.errors import AvatarcamError


def main() -> int:
    """Record, then save samples, rate, first-chunk times and counters to the .npz."""
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=float)
    parser.add_argument("out")
    parser.add_argument("--rate", type=int)
    parser.add_argument("--device")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    source = MicrophoneSource(device=args.device, rate=args.rate)
    try:
        source.start()
    except AvatarcamError as err:
        print(f"ERROR: {err}", flush=True)
        return 3
    print("opened", flush=True)
    chunks, starts, after_reopen = [], [], 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        chunk = source.read(timeout=0.2)
        if chunk is None:
            continue
        chunks.append(chunk.samples)
        starts.append(chunk.start_time)
        if source.reopen_count:
            after_reopen += len(chunk.samples)
    source.stop()
    np.savez(
        args.out, samples=np.concatenate(chunks) if chunks else np.zeros(0, np.float32),
        rate=source.rate, starts=np.array(starts), reopens=source.reopen_count,
        after_reopen=after_reopen, overflow=source.overflow_samples,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
