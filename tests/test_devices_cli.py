"""`avatarcam devices` and the virtual-camera detection behind it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from avatarcam.cli import devices
from avatarcam.cli.main import build_parser
from avatarcam.cli.table import format_table
from avatarcam.errors import AudioInputError
from avatarcam.sinks.camera_backends import CameraDevice, find_v4l2loopback, list_camera_backends
from tests.conftest import REPO_ROOT
from tests.pulse import PulseServer


def run_devices_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`avatarcam devices ARGS` in a fresh process, so that PortAudio starts with `env`."""
    return subprocess.run(
        [sys.executable, "-m", "avatarcam", "devices", *args],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )


def fake_sysfs(root: Path, *, module: bool, videos: dict[str, str]) -> tuple[Path, Path]:
    """A /sys and /dev under `root` with the v4l2loopback module (or not) and the virtual
    video devices `videos` (node name -> card label)."""
    sys_root, dev_root = root / "sys", root / "dev"
    dev_root.mkdir(parents=True)
    if module:
        (sys_root / "module" / "v4l2loopback").mkdir(parents=True)
    for node, label in videos.items():
        node_dir = sys_root / "devices" / "virtual" / "video4linux" / node
        node_dir.mkdir(parents=True)
        (node_dir / "name").write_text(label + "\n")
        (dev_root / node).touch()
    return sys_root, dev_root


def test_loopback_devices_found_in_number_order(tmp_path: Path) -> None:
    sys_root, dev_root = fake_sysfs(tmp_path, module=True, videos={"video10": "AvatarCam", "video2": "Other"})
    backend = find_v4l2loopback(sys_root, dev_root)
    assert backend.available and backend.reason == ""
    assert backend.devices == (
        CameraDevice(str(dev_root / "video2"), "Other"),
        CameraDevice(str(dev_root / "video10"), "AvatarCam"),
    )


def test_loopback_without_module_says_to_run_the_script(tmp_path: Path) -> None:
    backend = find_v4l2loopback(*fake_sysfs(tmp_path, module=False, videos={}))
    assert not backend.available
    assert "not loaded" in backend.reason and "install/linux-v4l2loopback.sh" in backend.reason


def test_loopback_module_without_devices_says_to_reload(tmp_path: Path) -> None:
    backend = find_v4l2loopback(*fake_sysfs(tmp_path, module=True, videos={}))
    assert not backend.available
    assert "made no /dev/video" in backend.reason


def test_loopback_node_without_device_file_is_ignored(tmp_path: Path) -> None:
    sys_root, dev_root = fake_sysfs(tmp_path, module=True, videos={"video3": "AvatarCam"})
    (dev_root / "video3").unlink()
    assert not find_v4l2loopback(sys_root, dev_root).available


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any device file")
def test_loopback_device_not_writable_says_to_join_video_group(tmp_path: Path) -> None:
    sys_root, dev_root = fake_sysfs(tmp_path, module=True, videos={"video0": "AvatarCam"})
    (dev_root / "video0").chmod(0o444)
    backend = find_v4l2loopback(sys_root, dev_root)
    assert not backend.available and "video group" in backend.reason


@pytest.mark.skipif(sys.platform != "linux", reason="Linux backends only")
def test_linux_lists_only_v4l2loopback() -> None:
    backends = list_camera_backends()
    assert [backend.name for backend in backends] == ["v4l2loopback"]
    if not Path("/sys/module/v4l2loopback").is_dir():
        assert not backends[0].available and "install/linux-v4l2loopback.sh" in backends[0].reason


def test_listing_with_pulseaudio_marks_the_default(pulse: PulseServer) -> None:
    done = run_devices_process(pulse.env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[1]: line for line in done.stdout.splitlines() if line.strip()[:1].isdigit()}
    assert {"pulse", "default"} <= rows.keys()
    assert rows["default"].rstrip().endswith("*")
    assert not rows["pulse"].rstrip().endswith("*")
    assert "ALSA" in rows["default"]
    assert "v4l2loopback" in done.stdout


def test_json_listing_with_pulseaudio(pulse: PulseServer) -> None:
    done = run_devices_process(pulse.env, "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert listing["microphone_problem"] is None
    by_name = {mic["name"]: mic for mic in listing["microphones"]}
    assert by_name["default"]["is_default"] is True
    assert by_name["pulse"]["channels"] >= 1 and by_name["pulse"]["hostapi"] == "ALSA"
    assert [camera["name"] for camera in listing["virtual_cameras"]] == ["v4l2loopback"]


def test_listing_without_sound_server_still_exits_0() -> None:
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent/avatarcam-test/native")
    done = run_devices_process(env, "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    if listing["microphones"]:  # a machine with a real sound card still lists it through ALSA
        assert listing["microphone_problem"] is None
    else:
        assert listing["microphone_problem"].startswith("No microphone found.")
    assert listing["virtual_cameras"]


def test_missing_portaudio_is_one_line_and_cameras_still_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_portaudio() -> NoReturn:
        raise AudioInputError("PortAudio is not installed, so no microphone can be opened: run install.")

    monkeypatch.setattr(devices, "list_input_devices", no_portaudio)
    assert devices.run_devices(argparse.Namespace(json=False)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Microphones:", "  PortAudio is not installed, so no microphone can be opened: run install."]
    assert lines[2] == "Virtual cameras:"
    assert lines[3].split() == ["BACKEND", "AVAILABLE", "DEVICES", "OR", "REASON"]


def test_register_adds_devices_with_json_flag() -> None:
    args = build_parser("devices").parse_args(["devices", "--json"])
    assert args.json and args.handler is devices.run_devices


def test_format_table_aligns_columns() -> None:
    text = format_table(("A", "BB"), [("long cell", "x"), ("s", "")], indent="  ")
    assert text.splitlines() == ["  A          BB", "  long cell  x", "  s"]

