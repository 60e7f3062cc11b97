"""Where rendered frames go: the sink interface, sink specs, and opening several at once.

The engine renders each frame once and hands it to every sink the user asked for (virtual
camera, mp4 file, preview window, null). A sink that cannot open is named with the reason
and its fix, and the run goes on with the others, so a missing virtual camera never stops
a recording; only when none can open is that an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.errors import AvatarcamError

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".mp4", ".mov")  # containers ffmpeg's mov muxer writes, which take +faststart


class SinkUnavailableError(AvatarcamError):
    """A sink cannot be opened or has stopped working; the message says why and how to fix it."""


class SinkSpecError(AvatarcamError):
    """A sink spec on the command line or in the settings cannot be parsed."""


class Sink(Protocol):
    """A destination for frames of one fixed size and rate, opened ready to use."""

    name: str  # the spec it was opened from, for messages, e.g. "file:out/talk.mp4"

    def send(self, frame: np.ndarray, time_s: float) -> None:
        """Take one uint8 RGB frame (H, W, 3); `time_s` is the capture-clock time
        (`time.monotonic()`) of the audio it was rendered from. Never keeps a reference
        to `frame` past the call unless it copies it."""
        ...

    def close(self) -> None:
        """Release the device or finish the file; safe to call more than once."""
        ...


@runtime_checkable
class AudioSink(Protocol):
    """A sink that also records the microphone (the mp4 file)."""

    def send_audio(self, chunk: AudioChunk) -> None:
        """Take captured audio, stamped on the same capture clock as the frames."""
        ...


@dataclass(frozen=True)
class OverlayStatus:
    """What the preview window can print over the picture, refreshed every frame."""

    fps: float | None = None  # output frames per second, measured
    latency_p50_ms: float | None = None  # median speech-capture-to-frame latency
    speaking: bool | None = None  # the VAD's decision for the latest audio
    preset: str | None = None  # the active expression preset
    frozen: bool = False  # the engine is holding the last frame
    muted: bool = False  # the avatar idles whatever the microphone hears

    def lines(self) -> list[str]:
        """The overlay as short text lines, only for the fields that are known."""
        lines = []
        if self.fps is not None:
            lines.append(f"{self.fps:.1f} fps")
        if self.latency_p50_ms is not None:
            lines.append(f"latency p50 {self.latency_p50_ms:.0f} ms")
        if self.speaking is not None:
            lines.append("VAD: speech" if self.speaking else "VAD: silence")
        if self.preset:
            lines.append(f"preset: {self.preset}")
        lines += [flag for flag, on in (("FROZEN", self.frozen), ("MUTED", self.muted)) if on]
        return lines


@runtime_checkable
class StatusDisplay(Protocol):
    """A sink that can show an `OverlayStatus` (the preview window)."""

    def show_status(self, status: OverlayStatus) -> None:
        """Use `status` for the frames sent from now on."""
        ...


@dataclass(frozen=True)
class SinkSettings:
    """Choices for opening sinks that a spec alone does not carry (from the settings file)."""

    camera_device: str | None = None  # e.g. "/dev/video10" or "OBS Virtual Camera"; None: any
    camera_backend: str | None = None  # pyvirtualcam backend name; None: try each on this OS
    preview_overlay: bool = True  # draw fps, latency, VAD and preset over the preview


@dataclass(frozen=True)
class SinkSpec:
    """One parsed sink spec: its kind and, for some kinds, a target after the colon."""

    kind: str  # "virtualcam", "file", "preview" or "null"
    target: str | None = None  # camera device for virtualcam, output path for file

    def __str__(self) -> str:
        """The spec as the user writes it."""
        return f"{self.kind}:{self.target}" if self.target else self.kind


@dataclass(frozen=True)
class VideoFormat:
    """The fixed frame size and rate every sink is opened with."""

    width: int
    height: int
    fps: float


Opener = Callable[[SinkSpec, VideoFormat, SinkSettings], Sink]


def _open_virtual_camera(spec: SinkSpec, video: VideoFormat, settings: SinkSettings) -> Sink:
    # Sink modules are imported on use: pyvirtualcam, ffmpeg and OpenCV load only when asked for.
    from avatarcam.sinks.virtual_camera import VirtualCameraSink

    return VirtualCameraSink(video.width, video.height, video.fps,
                             device=spec.target or settings.camera_device, backend=settings.camera_backend)


def _open_file(spec: SinkSpec, video: VideoFormat, settings: SinkSettings) -> Sink:
    from avatarcam.sinks.mp4_file import Mp4FileSink

    assert spec.target is not None
    return Mp4FileSink(Path(spec.target), video.width, video.height, video.fps)


def _open_preview(spec: SinkSpec, video: VideoFormat, settings: SinkSettings) -> Sink:
    from avatarcam.sinks.preview import PreviewSink

    return PreviewSink(overlay=settings.preview_overlay)


def _open_null(spec: SinkSpec, video: VideoFormat, settings: SinkSettings) -> Sink:
    from avatarcam.sinks.null_sink import NullSink

    return NullSink()


OPENERS: dict[str, Opener] = {
    "virtualcam": _open_virtual_camera,
    "file": _open_file,
    "preview": _open_preview,
    "null": _open_null,
}
TARGET_REQUIRED = {"file"}  # kinds whose spec must name a target
TARGET_FORBIDDEN = {"preview", "null"}


def parse_sink_spec(text: str) -> SinkSpec:
    """`virtualcam`, `virtualcam:DEVICE`, `file:PATH.mp4`, `preview` or `null` as a SinkSpec."""
    kind, _, target = text.strip().partition(":")
    kind = kind.lower()
    if kind not in OPENERS:
        raise SinkSpecError(f"{text!r} is not an output; use virtualcam[:DEVICE], file:PATH.mp4, preview or null.")
    if kind in TARGET_REQUIRED and not target:
        raise SinkSpecError(f"{text!r} names no file; write it as file:PATH.mp4.")
    if kind in TARGET_FORBIDDEN and target:
        raise SinkSpecError(f"{text!r}: the {kind} output takes nothing after a colon; write just {kind}.")
    if kind == "file" and Path(target).suffix.lower() not in FILE_SUFFIXES:
        raise SinkSpecError(f"{text!r}: the output file must end in {' or '.join(FILE_SUFFIXES)}.")
    return SinkSpec(kind, target or None)


def parse_sink_specs(texts: Iterable[str]) -> list[SinkSpec]:
    """Each spec parsed, in order, without repeats (asking twice for one output opens it once)."""
    specs: list[SinkSpec] = []
    for text in texts:
        spec = parse_sink_spec(text)
        if spec not in specs:
            specs.append(spec)
    return specs


class OpenedSinks:
    """The sinks that opened, fed together; a sink that fails later is closed, named and
    dropped while the others go on."""

    def __init__(self, sinks: list[Sink], failures: list[str]) -> None:
        """`failures` are the sentences saying why the other requested sinks did not open."""
        self.sinks = sinks
        self.failures = failures
        self._lock = threading.Lock()  # frames and audio arrive on different threads

    @property
    def names(self) -> list[str]:
        """The specs of the sinks still open."""
        return [sink.name for sink in self.sinks]

    def send(self, frame: np.ndarray, time_s: float, status: OverlayStatus | None = None) -> None:
        """Hand one frame to every sink (and `status` to those that display it)."""
        for sink in list(self.sinks):
            try:
                if status is not None and isinstance(sink, StatusDisplay):
                    sink.show_status(status)
                sink.send(frame, time_s)
            except SinkUnavailableError as err:
                self._drop(sink, str(err))

    def send_audio(self, chunk: AudioChunk) -> None:
        """Hand captured audio to the sinks that record it."""
        for sink in list(self.sinks):
            if isinstance(sink, AudioSink):
                try:
                    sink.send_audio(chunk)
                except SinkUnavailableError as err:
                    self._drop(sink, str(err))

    def close(self) -> None:
        """Close every sink, each even when another fails to close."""
        with self._lock:
            sinks, self.sinks = self.sinks, []
        unexpected: BaseException | None = None
        for sink in sinks:
            try:
                sink.close()
            except SinkUnavailableError as err:
                log.warning("%s", err)
            except BaseException as err:  # the rest (the camera above all) still get closed first
                unexpected = unexpected or err
        if unexpected is not None:
            raise unexpected

    def __enter__(self) -> OpenedSinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drop(self, sink: Sink, reason: str) -> None:
        with self._lock:
            if sink not in self.sinks:
                return  # the other thread dropped it first
            self.sinks = [other for other in self.sinks if other is not sink]
        log.warning("%s", reason)
        self.failures.append(reason)
        try:
            sink.close()
        except SinkUnavailableError as err:
            log.debug("closing the failed sink %s: %s", sink.name, err)
        if not self.sinks:
            raise SinkUnavailableError(f"The last output stopped working ({reason.rstrip('.')}).")


def open_sinks(specs: Sequence[str | SinkSpec], width: int, height: int, fps: float,
               settings: SinkSettings | None = None) -> OpenedSinks:
    """Open every sink in `specs` for frames of `width`×`height` at `fps`; one that cannot
    open is logged as one sentence and skipped. Raises SinkUnavailableError when none opens."""
    settings = settings or SinkSettings()
    video = VideoFormat(width, height, fps)
    parsed = parse_sink_specs(str(spec) for spec in specs)
    if not parsed:
        raise SinkSpecError("No output was asked for; name at least one of virtualcam, file:PATH.mp4, preview, null.")
    opened: list[Sink] = []
    failures: list[str] = []
    try:
        for spec in parsed:
            try:
                opened.append(OPENERS[spec.kind](spec, video, settings))
            except SinkUnavailableError as err:
                log.warning("%s", err)
                failures.append(str(err))
    except BaseException:
        OpenedSinks(opened, failures).close()  # an interrupt while opening still frees the camera
        raise
    if not opened:
        if len(failures) == 1:
            raise SinkUnavailableError(failures[0])
        reasons = "; ".join(failure.rstrip(".") for failure in failures)
        raise SinkUnavailableError(f"None of the outputs could be opened ({reasons}).")
    return OpenedSinks(opened, failures)
