"""Microphone capture through a real PulseAudio daemon: fidelity, timestamps and faults."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.resample import resample_whole
from tests.alignment import best_correlation
from tests.conftest import REPO_ROOT
from tests.pulse import PulseServer

pytestmark = pytest.mark.timeout(120)


def _record(pulse: PulseServer, out: Path, seconds: float, *extra: str,
            env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.capture_probe", str(seconds), str(out), *extra],
        env=env or pulse.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_opened(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "opened", f"capture did not start: {line!r}"


def test_capture_matches_played_wav(pulse: PulseServer, real_speech_clips: list[Path], tmp_path: Path) -> None:
    """A WAV played into the null sink comes back through the microphone path intact."""
    clip = real_speech_clips[1]
    out = tmp_path / "rec.npz"
    proc = _record(pulse, out, 8.0)
    _wait_opened(proc)
    time.sleep(0.5)
    assert pulse.play(clip).wait(timeout=30) == 0
    assert proc.wait(timeout=60) == 0
    rec = np.load(out)
    reference = decode_audio_file(clip)
    recorded = resample_whole(rec["samples"], int(rec["rate"]), reference.rate)
    r = best_correlation(recorded, reference.samples)
    print(f"capture correlation with the played WAV: r = {r:.4f}")
    assert r >= 0.9
    assert int(rec["overflow"]) == 0
    starts = rec["starts"]
    assert np.all(np.diff(starts) > 0), "chunk capture times must increase"
    # 8 s of capture must hold close to 8 s of audio: nothing dropped, nothing doubled.
    assert abs(len(rec["samples"]) / int(rec["rate"]) - 8.0) < 0.5


def test_refused_sample_rate_falls_back_to_device_default(pulse: PulseServer, tmp_path: Path) -> None:
    out = tmp_path / "rec.npz"
    proc = _record(pulse, out, 1.0, "--rate", "3000000")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "does not support 3000000 Hz; using its default" in output
    assert int(np.load(out)["rate"]) != 3000000


def test_unknown_device_name_is_one_sentence(pulse: PulseServer, tmp_path: Path) -> None:
    proc = _record(pulse, tmp_path / "rec.npz", 1.0, "--device", "No Such Headset")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "ERROR: There is no microphone named 'No Such Headset'; `avatarcam devices` lists" in output


def test_no_sound_server_means_no_microphone(pulse: PulseServer, tmp_path: Path) -> None:
    env = dict(pulse.env, PULSE_SERVER="unix:/nonexistent/native")
    proc = _record(pulse, tmp_path / "rec.npz", 1.0, env=env)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3
    error_lines = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert error_lines == [
        "ERROR: No microphone found: connect one (or start PulseAudio/PipeWire), then check "
        "`avatarcam devices`; to run without one, pass --audio-file."
    ]


def test_device_lost_mid_stream_is_reopened(pulse: PulseServer, tmp_path: Path) -> None:
    """The sound server dies mid-stream and comes back: capture says so and resumes."""
    out = tmp_path / "rec.npz"
    proc = _record(pulse, out, 9.0)
    _wait_opened(proc)
    time.sleep(1.5)
    pulse.kill()
    time.sleep(1.5)
    pulse.start()
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    rec = np.load(out)
    assert int(rec["reopens"]) >= 1
    assert int(rec["after_reopen"]) > int(rec["rate"]) // 2, "no audio arrived after the reopen"
    lost = [line for line in output.splitlines() if "stopped delivering audio" in line]
    back = [line for line in output.splitlines() if "is back" in line]
    assert lost and len(lost) == len(back), output
