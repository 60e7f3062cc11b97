"""The command line as a user meets it: help, the vad command, bench audio and e2e, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from avatarcam.cli.main import build_parser
from avatarcam.runtime.e2e_benchmark import format_e2e
from tests.conftest import REPO_ROOT


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatarcam", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_only_commands_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    listed = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {"devices", "doctor", "vad", "bench"} <= listed
    for name in listed:
        with pytest.raises(SystemExit) as done:
            build_parser(name).parse_args([name, "--help"])
        text = capsys.readouterr().out
        assert done.value.code == 0 and text.startswith(f"usage: avatarcam {name}") and len(text) > 100, name


def test_top_level_help_is_quick_to_show() -> None:
    """`avatarcam --help` lists every command without importing any (torch alone takes seconds)."""
    done = _cli("--help")
    assert done.returncode == 0 and "render-motion" in done.stdout
    probe = ("import sys\nfrom avatarcam.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
             "    pass\nprint([m for m in ('torch', 'cv2', 'mediapipe', 'sounddevice') if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip().endswith("[]"), loaded.stdout + loaded.stderr


def test_vad_json_on_real_speech(real_speech_clips: list[Path]) -> None:
    clip = next(c for c in real_speech_clips if c.stem == "LJ001-0008")
    done = _cli("vad", str(clip), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["frame_ms"] == 20
    segments = result["segments"]
    assert len(segments) == 1, "one short sentence without a long pause is one segment"
    start, end = segments[0]
    assert 0.0 <= start < 0.3 and 1.4 < end <= 1.78


@pytest.mark.parametrize("content", [b"", b"hello, I am text\n" * 10])
def test_vad_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    done = _cli("vad", str(bad))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("avatarcam: error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_bench_audio_json_reports_cost_and_delay(real_speech_clips: list[Path]) -> None:
    done = _cli("bench", "audio", "--audio", str(real_speech_clips[1]), "--repeats", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert abs(result["blocks"] - result["audio_seconds"] * 100) <= 1
    cost = result["frontend_us_per_10ms"]
    assert 0 < cost["p50"] <= cost["p95"] <= cost["max"]
    assert result["vad_onsets"] >= 2
    delay = result["vad_decision_delay_ms"]
    # The live state can turn to speech no earlier than the attack setting allows.
    assert delay["p50"] >= result["vad_config_delay_ms"]


def test_bench_motion_json_times_every_config_on_both_cpu_runtimes() -> None:
    done = _cli("bench", "motion", "--frames", "8", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = {(r["device"], r["runtime"], r["chunk_frames"], r["steps"]): r for r in report["results"]}
    for runtime in ("torch", "onnxruntime"):
        assert {(c, s) for d, rt, c, s in rows if (d, rt) == ("cpu", runtime)} == {
            (c, s) for c in (1, 2, 4) for s in (1, 2, 4)}
    for row in rows.values():
        assert 0 < row["ms_p50"] <= row["ms_p95"]
        assert row["ms_per_frame_p50"] == pytest.approx(row["ms_p50"] / row["chunk_frames"], abs=1e-3)


def test_bench_e2e_json_reports_the_loop_and_draws_its_plots(tmp_path: Path) -> None:
    histogram, timeline = tmp_path / "latency.png", tmp_path / "timeline.png"
    done = _cli("bench", "e2e", "--seconds", "8", "--json", "--plot", str(histogram), "--timeline", str(timeline))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    latency, render = result["latency_ms"], result["render_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"] and 0 < render["p50"] <= render["max"]
    assert result["frames"] > 8 * 30 / 3 and 0 < result["fps"] <= 31, "a loop that ran, at about its rate"
    assert latency["p50"] > result["motion_ready_ms"]["p50"] > 35, "motion needs its audio; frames come after it"
    assert result["motion_weights"] == "motion-lookahead0.pt", "as `run` takes them with the voice heard live"
    machine = result["machine_load"]
    assert machine["drops_after_stalls"] + machine["drops_in_steal"] <= result["drops_after_warmup"]
    assert machine["stalls"] >= 0 and machine["longest_stall_ms"] <= machine["stalled_ms"] + 1e-6
    text = format_e2e(result)  # what the command prints without --json
    assert f"{result['drops_after_warmup']} drops came during or just after one" in text
    for picture in (histogram, timeline):
        image = cv2.imread(str(picture))
        assert image is not None and image.shape[0] > 200 and image.shape[1] > 400, picture


def test_demo_runs_the_whole_pipeline_into_an_mp4_with_sound(tmp_path: Path) -> None:
    done = _cli("demo", "--out", str(tmp_path), "--no-camera", "--no-hotkeys")
    assert done.returncode == 0, done.stderr
    stats = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert stats["frames"] > 60 and stats["latency_ms"]["p50"] > 0 and stats["first_speech_frame_ms"] is not None
    video = tmp_path / "demo.mp4"
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json",
                            str(video)], capture_output=True, text=True, check=True).stdout
    durations = {s["codec_type"]: float(s["duration"]) for s in json.loads(probe)["streams"]}
    assert set(durations) == {"video", "audio"} and durations["audio"] > 3.0
    assert abs(durations["video"] - durations["audio"]) < 0.5
    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < 90:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame.astype(float))
    capture.release()
    assert len(frames) == 90 and frames[-1].std() > 20  # a picture, not a blank frame
    assert max(float(abs(f - frames[0]).mean()) for f in frames) > 0.5  # and it moves
