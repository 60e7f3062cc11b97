"""Shared fixtures: real parts started for tests (PulseAudio) and the shared speech clips."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pulse import PulseServer, start_pulse, why_pulse_unavailable

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_SPEECH_DIR = REPO_ROOT.parent / "shared" / "data" / "real-speech"


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseServer]:
    """A private PulseAudio daemon with a null sink whose monitor is the default source."""
    reason = why_pulse_unavailable()
    if reason:
        pytest.skip(f"PulseAudio cannot start here: {reason}")
    try:
        server = start_pulse()
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"PulseAudio cannot start here: {err}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real_speech_clips() -> list[Path]:
    """The LJ Speech clips in ../shared/data/real-speech (skips where that folder is absent)."""
    clips = sorted(REAL_SPEECH_DIR.glob("*.wav"))
    if not clips:
        pytest.skip(f"no real speech clips at {REAL_SPEECH_DIR}")
    return clips
