"""Speech made on the spot with espeak-ng, for benchmarks and the demo on a machine that
has no recording of its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from avatarcam.errors import AvatarcamError

DEFAULT_TEXT = (
    "Hello, and welcome to the meeting. Today I would like to show you how my avatar moves "
    "its lips, blinks, and nods while I speak. When I stop talking, it waits quietly. "
    "Maybe we could look at the numbers together before lunch?"
)


def synthesize_espeak(out: Path, text: str = DEFAULT_TEXT, voice: str = "en-us", words_per_minute: int = 160) -> Path:
    """Write `text` spoken by espeak-ng to the WAV file `out` and return its path."""
    if shutil.which("espeak-ng") is None:
        raise AvatarcamError(
            "espeak-ng is not installed, so no speech can be synthesised: run "
            "install/system-packages.sh (Debian/Ubuntu: apt install espeak-ng) or pass an audio file."
        )
    done = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(out), text],
        capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0 or not out.exists():
        raise AvatarcamError(f"espeak-ng failed to synthesise speech ({done.stderr.strip()}); check `espeak-ng --version`.")
    return out
