"""Output sinks: an in-memory virtual camera, fallback when the camera is missing, mp4 with
audio in sync (decoded back with ffmpeg), a file that survives SIGTERM, and the preview
window under a private Xvfb display."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvirtualcam
from pyvirtualcam.util import encode_fourcc

from avatarcam.audio.chunk import AudioChunk
from avatarcam.sinks.null_sink import NullSink
from avatarcam.sinks.preview import PreviewSink, draw_overlay
from avatarcam.sinks.sink import (
    OverlayStatus,
    SinkSettings,
    SinkSpec,
    SinkSpecError,
    SinkUnavailableError,
    open_sinks,
    parse_sink_spec,
)
from tests import sink_probe
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(120)

MEMORY_BACKEND = "avatarcam-test-memory"
BROKEN_BACKEND = "avatarcam-test-broken"
FPS = 30
FRAME_S = 1 / FPS


class MemoryCamera:
    """A pyvirtualcam backend that keeps every frame it is sent, in place of a kernel device."""

    opened: list[MemoryCamera] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: Any) -> None:
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "memory0"
        self.frames: list[np.ndarray] = []
        self.closed = False
        MemoryCamera.opened.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.frames.append(frame.copy())

    def close(self) -> None:
        self.closed = True

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int:
        return self.fourcc


class BrokenCamera(MemoryCamera):
    """A backend whose device refuses to open, as a camera held by another program does."""

    def __init__(self, **kw: Any) -> None:
        raise RuntimeError("device is busy")


@pytest.fixture
def test_cameras(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory and broken backends, registered for one test only, so that other tests'
    `virtualcam` never lands on them."""
    for name, backend in ((MEMORY_BACKEND, MemoryCamera), (BROKEN_BACKEND, BrokenCamera)):
        monkeypatch.setitem(pyvirtualcam.camera.BACKENDS, name, backend)


def _frames(count: int, width: int, height: int) -> Iterator[np.ndarray]:
    """Frames that differ from each other in every pixel row."""
    rows = np.arange(height, dtype=np.uint16)[:, None, None]
    for index in range(count):
        yield np.broadcast_to(((rows + index * 5) % 256).astype(np.uint8), (height, width, 3)).copy()


def _ffprobe_streams(path: Path) -> dict[str, dict[str, str]]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration,nb_frames,pix_fmt",
         "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return {stream["codec_type"]: stream for stream in json.loads(done.stdout)["streams"]}


def _decode(path: Path, *output: str) -> bytes:
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), *output, "-"],
                          capture_output=True, check=True).stdout


# --- specs -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "spec"), [
    ("virtualcam", SinkSpec("virtualcam")),
    ("virtualcam:/dev/video10", SinkSpec("virtualcam", "/dev/video10")),
    ("file:out/x.mp4", SinkSpec("file", "out/x.mp4")),
    ("preview", SinkSpec("preview")),
    ("NULL", SinkSpec("null")),
])
def test_sink_specs_parse(text: str, spec: SinkSpec) -> None:
    assert parse_sink_spec(text) == spec


@pytest.mark.parametrize(("text", "words"), [
    ("webcam", "is not an output"),
    ("file:", "names no file"),
    ("file:out.avi", "must end in .mp4 or .mov"),
    ("null:x", "takes nothing after a colon"),
])
def test_bad_sink_spec_is_one_sentence(text: str, words: str) -> None:
    with pytest.raises(SinkSpecError) as caught:
        parse_sink_spec(text)
    message = str(caught.value)
    assert words in message and message.endswith(".") and "\n" not in message


# --- virtual camera --------------------------------------------------------------------
@pytest.mark.usefixtures("test_cameras")
def test_virtual_camera_gets_every_frame_at_a_fixed_size() -> None:
    width, height = 128, 96
    sent = list(_frames(20, width, height))
    settings = SinkSettings(camera_backend=MEMORY_BACKEND)
    with open_sinks(["virtualcam:cam-a"], width, height, FPS, settings=settings) as sinks:
        assert sinks.names == ["virtualcam:cam-a"] and not sinks.failures
        for index, frame in enumerate(sent):
            sinks.send(frame, 100.0 + index * FRAME_S)
        camera = MemoryCamera.opened[-1]
        with pytest.raises(ValueError):  # the size is fixed at open
            sinks.sinks[0].send(np.zeros((height, width + 2, 3), np.uint8), 0.0)
    assert camera.closed
    assert (camera.width, camera.height, camera.fps) == (width, height, FPS)
    assert camera.fourcc == encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    assert camera.device() == "cam-a"
    assert len(camera.frames) == len(sent)
    for got, frame in zip(camera.frames, sent):
        assert got.shape == (width * height * 3,)
        assert np.array_equal(got.reshape(height, width, 3), frame)


@pytest.mark.skipif(Path("/sys/module/v4l2loopback").is_dir(), reason="this machine has a real v4l2loopback camera")
def test_missing_camera_falls_back_to_the_other_sinks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No v4l2loopback module: one sentence with the fix, and the file and null sinks go on."""
    out = tmp_path / "fallback.mp4"
    settings = SinkSettings(camera_backend="v4l2loopback")
    with caplog.at_level(logging.WARNING):
        sinks = open_sinks(["virtualcam", "null", f"file:{out}"], 64, 48, FPS, settings=settings)
    with sinks:
        assert sinks.names == ["null", f"file:{out}"]
        for index, frame in enumerate(_frames(5, 64, 48)):
            sinks.send(frame, index * FRAME_S)
        null = sinks.sinks[0]
        assert isinstance(null, NullSink) and null.frames == 5
    assert len(sinks.failures) == 1
    reason = sinks.failures[0]
    print(f"fallback message: {reason}")
    assert "v4l2loopback" in reason and "install/linux-v4l2loopback.sh" in reason
    assert reason.endswith(".") and "\n" not in reason
    assert [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING] == [reason]
    assert _ffprobe_streams(out)["video"]["nb_frames"] == "5"


@pytest.mark.usefixtures("test_cameras")
def test_camera_that_will_not_open_names_the_fix() -> None:
    with pytest.raises(SinkUnavailableError) as caught:
        open_sinks(["virtualcam:/dev/video10"], 64, 48, FPS, settings=SinkSettings(camera_backend=BROKEN_BACKEND))
    message = str(caught.value)
    assert message.startswith("The virtual camera /dev/video10 could not be opened (")
    assert "device is busy" in message and "linux-v4l2loopback.sh" in message and "\n" not in message


def test_unknown_camera_backend_is_one_sentence() -> None:
    with pytest.raises(SinkUnavailableError, match=r"'nope' is not a virtual camera backend here .*\.$"):
        open_sinks(["virtualcam"], 64, 48, FPS, settings=SinkSettings(camera_backend="nope"))


def test_null_sink_counts_frames() -> None:
    with open_sinks(["null", "null"], 32, 32, FPS) as sinks:
        assert sinks.names == ["null"]  # asked twice, opened once
        for index, frame in enumerate(_frames(7, 32, 32)):
            sinks.send(frame, 5.0 + index * FRAME_S)
        null = sinks.sinks[0]
    assert isinstance(null, NullSink)
    assert (null.frames, null.first_time_s, null.last_time_s) == (7, 5.0, 5.0 + 6 * FRAME_S)


# --- mp4 file --------------------------------------------------------------------------
def test_mp4_audio_and_video_are_in_sync(tmp_path: Path) -> None:
    """A flash in one frame and a click captured at the same time come out of the file
    within one frame of each other; both streams last as long as the frames sent."""
    width, height, rate = 320, 240, 48_000
    out = tmp_path / "sync.mp4"
    frames, event_frame = 90, 45
    rng = np.random.default_rng(7)
    t0 = time.monotonic()
    event_time = t0 + event_frame * FRAME_S
    block = rate // 100
    audio_time = t0 - 0.3  # the microphone started before the first frame
    with open_sinks([f"file:{out}"], width, height, FPS) as sinks:
        for index in range(frames):
            frame_time = t0 + index * FRAME_S
            while audio_time < frame_time + 0.05:  # audio runs ahead of frames, as in the engine
                samples = np.zeros(block, np.float32)
                click = round((event_time - audio_time) * rate)
                if 0 <= click < block:
                    samples[click:click + 48] = 0.9
                sinks.send_audio(AudioChunk(samples, rate, audio_time))
                audio_time += block / rate
            frame = np.full((height, width, 3), 240 if index == event_frame else 20, np.uint8)
            time.sleep(max(0.0, frame_time - time.monotonic()))
            sinks.send(frame, frame_time + rng.uniform(-0.004, 0.004))  # jitter in the frame clock
    streams = _ffprobe_streams(out)
    assert streams["video"]["codec_name"] == "h264" and streams["video"]["pix_fmt"] == "yuv420p"
    assert streams["audio"]["codec_name"] == "aac"
    video_s, audio_s = float(streams["video"]["duration"]), float(streams["audio"]["duration"])
    brightness = np.frombuffer(_decode(out, "-f", "rawvideo", "-pix_fmt", "gray"), np.uint8)
    brightness = brightness.reshape(-1, height, width).mean(axis=(1, 2))
    audio = np.frombuffer(_decode(out, "-f", "f32le", "-ac", "1", "-ar", str(rate)), np.float32)
    flash_s = int(np.argmax(brightness)) / FPS
    click_s = int(np.argmax(np.abs(audio))) / rate
    print(f"mp4: video {video_s:.3f} s, audio {audio_s:.3f} s, flash at {flash_s:.4f} s, "
          f"click at {click_s:.4f} s, offset {1000 * (click_s - flash_s):+.1f} ms")
    assert len(brightness) == frames
    assert abs(video_s - frames * FRAME_S) <= FRAME_S
    assert abs(audio_s - frames * FRAME_S) <= FRAME_S
    assert abs(flash_s - event_frame * FRAME_S) < 1e-9
    assert abs(click_s - flash_s) <= FRAME_S
    assert not list(tmp_path.glob(".*")), "part files were left behind"


def test_mp4_without_ffmpeg_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH on which there is no ffmpeg
    with pytest.raises(SinkUnavailableError) as caught:
        open_sinks([f"file:{tmp_path / 'x.mp4'}"], 64, 48, FPS)
    message = str(caught.value)
    assert message.startswith("ffmpeg is not installed") and "apt install ffmpeg" in message


def test_sigterm_leaves_a_playable_mp4(tmp_path: Path) -> None:
    out = tmp_path / "stopped.mp4"
    child = subprocess.Popen([sys.executable, "-m", "tests.sink_probe", "record", str(out)], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "running"
    time.sleep(1.0)
    child.send_signal(signal.SIGTERM)
    output, _ = child.communicate(timeout=60)
    assert child.returncode == 0, output
    assert "interrupted" in output
    streams = _ffprobe_streams(out)
    assert set(streams) == {"video", "audio"}
    duration = float(streams["video"]["duration"])
    print(f"stopped by SIGTERM after ~1.5 s: video {duration:.3f} s, audio {float(streams['audio']['duration']):.3f} s")
    assert duration >= 1.0
    assert abs(float(streams["audio"]["duration"]) - duration) <= FRAME_S
    check = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"], capture_output=True, text=True)
    assert check.returncode == 0 and not check.stderr.strip(), check.stderr


# --- preview ---------------------------------------------------------------------------
def test_overlay_is_drawn_on_a_copy() -> None:
    frame = np.full((240, 320, 3), 90, np.uint8)
    status = OverlayStatus(fps=29.8, latency_p50_ms=71.0, speaking=False, preset="smile", muted=True)
    assert status.lines() == ["29.8 fps", "latency p50 71 ms", "VAD: silence", "preset: smile", "MUTED"]
    shown = draw_overlay(frame, status.lines())
    assert np.all(frame == 90), "the frame the other sinks get must stay untouched"
    changed = np.any(shown != frame, axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.max() < 240 * 0.6 and cols.max() < 320 * 0.6, "the overlay stays in the top-left corner"
    red = (shown[..., 0] > 200) & (shown[..., 1] < 100)
    assert red.any(), "MUTED is drawn in red"


def test_preview_without_a_display_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs an X display for windows")
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(SinkUnavailableError) as caught:
        PreviewSink()
    message = str(caught.value)
    assert message.startswith("There is no display for the preview window") and "\n" not in message


@dataclass
class ProbeWindow:
    """The sink probe's preview window in a child process, and what the child said."""

    display: Any  # an Xlib.display.Display on the test's X server
    window: Any  # the preview window on it
    window_id: str
    env: dict[str, str]
    output: str = ""
    returncode: int | None = None


@contextmanager
def _preview_probe(xvfb_display: str, seconds: float) -> Iterator[ProbeWindow]:
    """Run `tests.sink_probe preview` on `xvfb_display` until it ends on its own; its window
    while it runs, its output and exit status after."""
    import Xlib.display

    env = dict(os.environ, DISPLAY=xvfb_display)
    child = subprocess.Popen([sys.executable, "-m", "tests.sink_probe", "preview", f"{seconds:g}"], cwd=REPO_ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running"
        found = subprocess.run(["xdotool", "search", "--name", "AvatarCam preview"], env=env,
                               capture_output=True, text=True, timeout=10).stdout.split()
        assert len(found) == 1, f"expected one preview window, found {found}"
        display = Xlib.display.Display(xvfb_display)
        probe = ProbeWindow(display, display.create_resource_object("window", int(found[0])), found[0], env)
        try:
            yield probe
        finally:
            # A round trip before closing: after a mere flush a sent close message was lost in 6 of 16
            # runs on a loaded machine (most likely unread by the server when the connection closed).
            display.sync()
            display.close()
    finally:
        probe_output, _ = child.communicate(timeout=30)
    probe.output, probe.returncode = probe_output, child.returncode


def test_closing_the_preview_by_hand_stops_only_the_preview(xvfb_display: str) -> None:
    """The close button: a window manager sends the window WM_DELETE_WINDOW, as here."""
    import Xlib.protocol.event
    import Xlib.X

    with _preview_probe(xvfb_display, 4) as probe:
        display = probe.display
        protocols, delete = display.intern_atom("WM_PROTOCOLS"), display.intern_atom("WM_DELETE_WINDOW")
        probe.window.send_event(Xlib.protocol.event.ClientMessage(
            window=probe.window, client_type=protocols, data=(32, [delete, Xlib.X.CurrentTime, 0, 0, 0])),
            event_mask=0)
    assert probe.returncode == 0, probe.output
    assert "The preview window was closed; the other outputs go on." in probe.output, probe.output
    assert "sent all" in probe.output, probe.output  # the sender went on to its last frame


def test_preview_window_shows_the_frame_with_overlay(xvfb_display: str) -> None:
    import Xlib.X

    with _preview_probe(xvfb_display, 10) as probe:
        window = probe.window
        geometry = window.get_geometry()
        width, height = sink_probe.SIZE
        assert (geometry.width, geometry.height) == (width, height)
        deadline = time.monotonic() + 8.0
        nudge_at = time.monotonic() + 2.0
        while True:  # the window paints a moment after it is mapped, later on a busy machine
            image = window.get_image(0, 0, width, height, Xlib.X.ZPixmap, 0xFFFFFFFF)
            pixels = np.frombuffer(image.data, np.uint8).reshape(height, width, 4)[..., 2::-1]  # BGRX -> RGB
            if tuple(pixels[height - 10, width - 10]) == sink_probe.PREVIEW_COLOR or time.monotonic() > deadline:
                break
            if time.monotonic() > nudge_at:
                # In session 13 the window stayed black in 6 of 25 runs, then in none of 33 more; most
                # likely Qt missed its first Expose, which on a bare Xvfb no window manager sends
                # again. Mapping the window again makes the server send one.
                print("preview window still black after 2 s: mapping it again")
                for action in ("windowunmap", "windowmap"):
                    subprocess.run(["xdotool", action, "--sync", probe.window_id], env=probe.env, check=True,
                                   timeout=5)
                nudge_at = deadline
            time.sleep(0.1)
        assert tuple(pixels[height - 10, width - 10]) == sink_probe.PREVIEW_COLOR
        corner = pixels[: height // 2, : width // 2].reshape(-1, 3)
        assert (corner.min(axis=1) > 230).any(), "the overlay text (white) is on the window"
        assert ((corner[:, 0] > 200) & (corner[:, 1] < 100)).any(), "FROZEN is shown in red"
    assert probe.returncode == 0, probe.output
