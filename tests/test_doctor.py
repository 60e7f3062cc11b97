"""`avatarcam doctor` and the checks behind it, on this machine and with faults injected."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from avatarcam.cli import doctor
from avatarcam.cli.main import build_parser
from avatarcam.runtime import checks
from avatarcam.runtime.checks import Check, Requirement
from tests.conftest import REPO_ROOT
from tests.pulse import PulseServer

@pytest.fixture
def xvfb() -> Iterator[str]:
    """A private Xvfb on the first free display number; yields its DISPLAY value."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (run install/system-packages.sh)")
    read_end, write_end = os.pipe()
    # -displayfd makes Xvfb pick a free display itself and report it, so parallel runs cannot collide.
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        number = os.read(read_end, 16).decode().strip()
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment without X or Wayland."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)


def test_doctor_json_on_this_machine() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env["PULSE_SERVER"] = "unix:/nonexistent/avatarcam-test/native"
    done = subprocess.run(
        [sys.executable, "-m", "avatarcam", "doctor", "--json"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = {item["name"]: item for item in json.loads(done.stdout)}
    essential = [item for item in results.values() if item["essential"]]
    assert {"python", "numpy", "mediapipe", "protobuf", "mediapipe models", "ffmpeg"} <= {i["name"] for i in essential}
    assert all(item["status"] == "ok" and item["fix"] == "" for item in essential)
    assert results["numpy"]["detail"].startswith("1.")
    assert results["mediapipe"]["detail"] == "0.10.21"
    display = results["X display (hotkeys)"]
    assert display["status"] == "fail" and "DISPLAY" in display["fix"] and not display["essential"]
    for item in results.values():
        assert item["status"] in ("ok", "warn", "fail")
        assert (item["fix"] == "") == (item["status"] == "ok"), item


@pytest.mark.skipif(Path("/sys/module/v4l2loopback").is_dir(), reason="v4l2loopback is loaded here")
def test_camera_check_without_v4l2loopback_gives_the_script() -> None:
    check = checks.check_virtual_camera()
    assert check.status == "fail" and not check.essential
    assert "v4l2loopback" in check.detail and "install/linux-v4l2loopback.sh" in check.fix


def test_display_check_fails_without_display(no_display: None) -> None:
    check = checks.check_hotkey_display()
    assert check.status == "fail" and "DISPLAY is not set" in check.detail and not check.essential


def test_display_check_ok_with_xvfb(no_display: None, xvfb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", xvfb)
    check = checks.check_hotkey_display()
    assert (check.status, check.detail) == ("ok", f"X display {xvfb}")


def test_display_check_fails_when_no_server_answers(no_display: None, monkeypatch: pytest.MonkeyPatch) -> None:
    unused = next(f":{n}" for n in range(900, 1000) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    monkeypatch.setenv("DISPLAY", unused)
    check = checks.check_hotkey_display()
    assert check.status == "fail" and f"the X display {unused} cannot be opened" in check.detail


def test_display_check_warns_on_wayland(no_display: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    monkeypatch.setenv("DISPLAY", ":0")  # XWayland does not make global hotkeys work
    check = checks.check_hotkey_display()
    assert check.status == "warn" and "Wayland" in check.detail and "X11" in check.fix


def test_microphone_check_sees_pulseaudio_default(pulse: PulseServer) -> None:
    script = "from avatarcam.runtime.checks import check_microphone as c; m = c(); print(m.status, m.detail)"
    done = subprocess.run(
        [sys.executable, "-c", script], env=pulse.env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"ok default \(ALSA, \d+ Hz\)\n", done.stdout)


def test_version_bounds() -> None:
    assert checks.release("2.13.0+cpu") == (2, 13, 0)
    assert checks.satisfies("1.26.4", "<2") and not checks.satisfies("2.0.0", "<2")
    assert checks.satisfies("0.10.21", "==0.10.21") and not checks.satisfies("0.10.22", "==0.10.21")
    assert checks.satisfies("4.25.9", "<5") and not checks.satisfies("5.26.1", "<5")
    assert checks.satisfies("anything", "")


def test_package_check_reports_each_fault() -> None:
    missing = checks.check_package(Requirement("avatarcam-no-such-dist", "nope"))
    assert missing.status == "fail" and missing.essential
    assert missing.fix == "Install it: `pip install 'avatarcam-no-such-dist'`."
    too_new = checks.check_package(Requirement("numpy", "numpy", "<1.0", "it is a test"))
    assert too_new.status == "fail" and "<1.0 is needed (it is a test)" in too_new.detail
    assert "pip install 'numpy<1.0'" in too_new.fix
    broken = checks.check_package(Requirement("numpy", "avatarcam_no_such_module"))
    assert broken.status == "fail" and "`import avatarcam_no_such_module` fails" in broken.detail
    assert "--force-reinstall" in broken.fix


def test_requirements_match_the_project_dependencies() -> None:
    declared = {
        re.match(r"[A-Za-z0-9._-]+", dep).group().lower(): dep
        for dep in importlib.metadata.requires("avatarcam") or []
        if "extra ==" not in dep and "python_version" not in dep
    }
    checked = {req.dist: req for req in checks.REQUIREMENTS}
    # OpenCV comes with mediapipe; pyproject must not name a second OpenCV wheel.
    assert checked.keys() - declared.keys() == {"opencv-contrib-python"}
    assert declared.keys() <= checked.keys()
    for dist, req in checked.items():
        assert req.spec in declared.get(dist, ""), f"{dist}: doctor checks {req.spec!r}, pyproject says {declared[dist]!r}"


def test_mediapipe_models_are_present() -> None:
    check = checks.check_mediapipe_models()
    assert check.status == "ok" and check.essential
    assert check.detail.startswith(f"{len(checks.MEDIAPIPE_MODELS)} models in ")


def test_python_outside_supported_range_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checks.check_python().status == "ok"
    monkeypatch.setattr(sys, "version_info", (3, 13, 0, "final", 0))
    check = checks.check_python()
    assert check.status == "fail" and check.detail == "3.13.0 is not supported" and check.essential


def test_ffmpeg_missing_is_essential(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checks.check_ffmpeg().detail.startswith("ffmpeg version")
    monkeypatch.setenv("PATH", "")
    check = checks.check_ffmpeg()
    assert check.status == "fail" and check.essential and "install/system-packages.sh" in check.fix


def test_espeak_missing_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    check = checks.check_espeak()
    assert check.status == "warn" and not check.essential
    assert "espeak-ng program" in check.detail and "apt install espeak-ng" in check.fix


def test_cuda_and_tensorrt_absent_are_warnings() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert checks.check_cuda().status == "warn"
    tensorrt = checks.check_tensorrt()
    assert tensorrt.status == "warn" and "avatarcam[tensorrt]" in tensorrt.fix


def failing(name: str, essential: bool) -> Check:
    """A failed check as a stand-in for a broken part."""
    return Check(name, "fail", f"{name} is broken", f"Repair {name}.", essential)


def test_essential_failure_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(checks, "check_ffmpeg", lambda: failing("ffmpeg", essential=True))
    assert doctor.run_doctor(argparse.Namespace(json=False)) == 1
    out = capsys.readouterr().out
    assert "Repair ffmpeg." in out
    assert out.rstrip().splitlines()[-1].startswith("avatarcam cannot run: 1 essential check(s) failed (ffmpeg)")


def test_optional_failure_exits_0(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(checks, "check_cuda", lambda: failing("CUDA", essential=False))
    assert doctor.run_doctor(argparse.Namespace(json=True)) == 0
    results = json.loads(capsys.readouterr().out)
    assert {"name": "CUDA", "status": "fail", "detail": "CUDA is broken", "fix": "Repair CUDA.", "essential": False} in results


def test_report_is_one_aligned_table_with_fixes_under_problems() -> None:
    results = [
        Check("python", "ok", "3.11.7", essential=True),
        failing("virtual camera", essential=False),
        Check("CUDA", "warn", "CPU build", "Install CUDA torch."),
    ]
    lines = doctor.format_report(results).splitlines()
    header, summary = lines[0], lines[-1]
    rows = [line for line in lines[1:-2] if not line.startswith("    fix: ")]
    assert len(rows) == 3
    for column in ("STATUS", "DETAIL"):
        start = header.index(column)
        assert all(row[start - 2:start] == "  " and row[start] != " " for row in rows)
    assert rows[0].rstrip().endswith("3.11.7")
    assert lines[3] == "    fix: Repair virtual camera."
    assert lines[5] == "    fix: Install CUDA torch."
    assert summary == "avatarcam can run: all essential checks are ok; 2 optional feature(s) need attention (see the fixes above)."


def test_all_ok_summary() -> None:
    assert doctor.summarize([Check("python", "ok", "3.11.7", essential=True)]) == "avatarcam can run: all 1 checks are ok."


def test_register_adds_doctor_with_json_flag() -> None:
    args = build_parser("doctor").parse_args(["doctor", "--json"])
    assert args.json and args.handler is doctor.run_doctor
