"""Shared fixtures: real parts started for tests (PulseAudio), the shared speech clips and the
astronaut avatar."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from avatarcam.motion.model import ModelConfig, MotionDenoiser, weights_payload
from avatarcam.motion.stream import LoadedMotionModel, load_motion_model
from avatarcam.render.avatar import Avatar, load_avatar, prepare_avatar
from avatarcam.render.default_portrait import write_default_portrait

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
def photo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default portrait (scikit-image's astronaut) as a PNG."""
    return write_default_portrait(tmp_path_factory.mktemp("photo") / "astronaut.png")


@pytest.fixture(scope="session")
def avatar_dir(photo_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut prepared in every output size."""
    folder = tmp_path_factory.mktemp("avatar")
    prepare_avatar(photo_path, folder)
    return folder


@pytest.fixture(scope="session")
def avatar(avatar_dir: Path) -> Avatar:
    """The astronaut avatar, loaded."""
    return load_avatar(avatar_dir)


@pytest.fixture(scope="session")
def real_speech_clips() -> list[Path]:
    """The LJ Speech clips in ../shared/data/real-speech (skips where that folder is absent)."""
    clips = sorted(REAL_SPEECH_DIR.glob("*.wav"))
    if not clips:
        pytest.skip(f"no real speech clips at {REAL_SPEECH_DIR}")
    return clips


@contextmanager
def running_xvfb(*options: str) -> Iterator[str]:
    """A private Xvfb server, started with extra `options`, as its display name (":N")."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are not installed (run install/system-packages.sh)")
    read_end, write_end = os.pipe()
    # -noreset: by default an X server with no clients left resets itself, and a connection
    # that arrives meanwhile is dropped; a desktop always has clients, a test's server may not
    # (the hotkey check opens and closes one connection just before pynput opens its own).
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "800x600x24", "-nolisten", "tcp",
                               "-noreset", *options], pass_fds=(write_end,), stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as numbers:
            number = numbers.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb {' '.join(options)} did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A private Xvfb display (":N"), stopped after the test."""
    with running_xvfb() as display:
        yield display


def make_random_model(folder: Path, feature_lag: int = ModelConfig.feature_lag) -> LoadedMotionModel:
    """A small untrained-but-random motion model saved in `folder`: stream mechanics do not
    depend on training."""
    torch.manual_seed(0)
    network = MotionDenoiser(ModelConfig(audio_channels=16, channels=16, dilations=(1, 2), audio_dilations=(1,),
                                         feature_lag=feature_lag))
    for parameter in network.parameters():
        parameter.data.normal_(0.0, 0.1)
    path = folder / f"random-lag{feature_lag}.pt"
    torch.save(weights_payload(network, {}), path)
    return load_motion_model(path)


@pytest.fixture(scope="session")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedMotionModel:
    """A small random motion model with the default framing."""
    return make_random_model(tmp_path_factory.mktemp("model"))
