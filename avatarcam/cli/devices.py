"""`avatarcam devices`: the microphones and virtual cameras avatarcam can use here.

It answers "which --device do I pass?" and "why is there no camera?" before a run, and it
always exits 0: a missing microphone or camera is something to report, not a crash.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict

from avatarcam.audio.devices import InputDevice, list_input_devices
from avatarcam.cli.table import format_table
from avatarcam.errors import AudioInputError
from avatarcam.runtime.checks import NO_MICROPHONE_FIX
from avatarcam.sinks.camera_backends import CameraBackend, list_camera_backends


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `devices` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "List the microphones PortAudio sees (index, name, host API, default rate, "
        "channels; * marks the system default) and the virtual-camera backends, with the reason "
        "and fix for each one that cannot be used.")
    parser.add_argument("--json", action="store_true", help="print the listing as a JSON object")
    parser.set_defaults(handler=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    """Print the listing; always 0, since an empty list is an answer, not an error."""
    try:
        microphones = list_input_devices()
        problem = None if microphones else f"No microphone found. {NO_MICROPHONE_FIX}"
    except AudioInputError as err:
        microphones, problem = [], str(err)
    cameras = list_camera_backends()
    if args.json:
        listing = {
            "microphones": [asdict(mic) for mic in microphones],
            "microphone_problem": problem,
            "virtual_cameras": [asdict(camera) for camera in cameras],
        }
        print(json.dumps(listing, indent=2))
    else:
        print(format_listing(microphones, problem, cameras))
    return 0


def format_listing(microphones: Sequence[InputDevice], problem: str | None, cameras: Sequence[CameraBackend]) -> str:
    """The human-readable listing: a microphone table (or the one-line problem), then cameras."""
    lines = ["Microphones:"]
    if problem:
        lines.append(f"  {problem}")
    else:
        lines.append(format_table(
            ("INDEX", "NAME", "HOST API", "RATE (Hz)", "CHANNELS", "DEFAULT"),
            [
                (str(mic.index), mic.name, mic.hostapi, f"{mic.default_samplerate:.0f}", str(mic.channels),
                 "*" if mic.is_default else "")
                for mic in microphones
            ],
            indent="  ",
        ))
    lines.append("Virtual cameras:")
    if cameras:
        lines.append(format_table(
            ("BACKEND", "AVAILABLE", "DEVICES OR REASON"),
            [(camera.name, "yes" if camera.available else "no", _camera_summary(camera)) for camera in cameras],
            indent="  ",
        ))
    else:
        lines.append("  pyvirtualcam has no virtual-camera backend for this OS.")
    return "\n".join(lines)


def _camera_summary(camera: CameraBackend) -> str:
    """The devices of a usable backend, or why it cannot be used."""
    if not camera.available:
        return camera.reason
    return ", ".join(map(str, camera.devices))
