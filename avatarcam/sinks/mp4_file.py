"""An mp4 recording of the avatar with the microphone's sound, in sync, written by ffmpeg.

Frames go to an ffmpeg H.264 encoder through a pipe while the run lasts; the audio is kept
beside it as raw samples, and closing muxes both (AAC) into the final file. Muxing at the
end, rather than feeding one ffmpeg two live pipes, means a slow or early input can never
stall the engine, and each sample lands exactly where its capture time says: frame k shows
time t0 + k/fps, where t0 is the first frame's capture time, and audio captured at t sits
at t - t0 in the file.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.sinks.sink import SinkUnavailableError

log = logging.getLogger(__name__)

FFMPEG_FIX = "run install/system-packages.sh (Debian/Ubuntu: `sudo apt install ffmpeg`)"
X264_PRESET = "ultrafast"  # leaves the cores to the renderer while recording live; bigger files
X264_CRF = 20  # visually clean talking heads at a few Mbit/s
AAC_BITRATE = "128k"
QUEUE_SECONDS = 1.0  # frames held for a slow encoder before some are repeated instead
AUDIO_SNAP_S = 0.005  # a chunk starting this close to where the last ended is treated as contiguous
PENDING_AUDIO_S = 5.0  # audio kept from before the first frame, which anchors the file's time zero
FINISH_TIMEOUT_S = 120.0  # longest wait for the encoder to flush and for the final mux
LOG_TAIL_CHARS = 300  # how much of ffmpeg's error output a message quotes


class Mp4FileSink:
    """Frames and captured audio into one mp4 (or mov) file, finished on `close`."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        """Start the encoder for `width`×`height` RGB frames at `fps`; raises
        SinkUnavailableError when ffmpeg is missing or the file cannot be written."""
        self.name = f"file:{path}"
        self.path = path
        self._shape = (height, width, 3)
        self._fps = Fraction(fps).limit_denominator(1001)
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise SinkUnavailableError(f"ffmpeg is not installed, so {path} cannot be written: {FFMPEG_FIX}.")
        if width % 2 or height % 2:
            raise SinkUnavailableError(
                f"{path} cannot be encoded at {width}x{height}: H.264 in yuv420p needs an even width and height.")
        self._ffmpeg = ffmpeg
        stem = path.with_name(f".{path.stem}.avatarcam")
        self._video_part = Path(f"{stem}-video{path.suffix}")
        self._audio_part = Path(f"{stem}-audio.f32")
        self._mux_part = Path(f"{stem}-mux{path.suffix}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._audio_file: IO[bytes] = open(self._audio_part, "wb")
        except OSError as err:
            raise SinkUnavailableError(
                f"{path} cannot be written ({err.strerror}); choose a folder you may write to.") from err
        self._log = tempfile.TemporaryFile()
        self._encoder = subprocess.Popen(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(self._fps), "-i", "pipe:0",
             "-c:v", "libx264", "-preset", X264_PRESET, "-crf", str(X264_CRF), "-pix_fmt", "yuv420p",
             # Fragments keep the part file readable even if this process is killed outright.
             "-movflags", "+frag_keyframe+empty_moov", str(self._video_part)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log,
            start_new_session=True,  # Ctrl-C in the terminal must not stop the encoder before close()
        )
        self._queue: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue(max(1, round(QUEUE_SECONDS * fps)))
        self._writer = threading.Thread(target=self._write_frames, name="mp4-writer", daemon=True)
        self._writer.start()
        self._lock = threading.Lock()
        self._t0: float | None = None  # capture time of frame 0
        self._last_index = -1  # file position of the newest frame queued
        self._audio_rate: int | None = None
        self._audio_written = 0  # samples in the audio part file
        self._pending: deque[AudioChunk] = deque()  # audio that came before the first frame
        self._error: str | None = None
        self._closed = False
        self._lag_reported = False
        self.frames_written = 0  # frames in the file, repeats included
        self.frames_repeated = 0  # written again to fill a slot no frame arrived for
        self.frames_dropped = 0  # arrived for a slot already filled, or while the encoder lagged

    # --- frames ------------------------------------------------------------------------
    def send(self, frame: np.ndarray, time_s: float) -> None:
        """Place `frame` at the file position its capture time `time_s` falls on."""
        if self._error:
            raise SinkUnavailableError(self._error)
        if self._closed:
            return
        if frame.shape != self._shape or frame.dtype != np.uint8:
            raise ValueError(f"{self.name} takes uint8 frames of shape {self._shape}, not {frame.dtype} {frame.shape}")
        with self._lock:
            if self._t0 is None:
                self._t0 = time_s
                self._place_pending_audio()
            index = round((time_s - self._t0) * self._fps)
        if index <= self._last_index:
            self.frames_dropped += 1
            return
        try:
            self._queue.put_nowait((index, frame.copy()))
        except queue.Full:
            if not self._lag_reported:
                self._lag_reported = True
                log.warning("The encoder for %s falls behind; some frames are repeated in the file.", self.path)
            self.frames_dropped += 1
            return
        self._last_index = index

    def _write_frames(self) -> None:
        """Encoder feed: each frame at its index, the previous one repeated over any gap."""
        assert self._encoder.stdin is not None
        previous: bytes | None = None
        while (item := self._queue.get()) is not None:
            if self._error:
                continue
            index, frame = item
            data = frame.tobytes()
            try:
                if previous is not None:
                    for _ in range(index - self.frames_written):
                        self._encoder.stdin.write(previous)
                        self.frames_repeated += 1
                        self.frames_written += 1
                self._encoder.stdin.write(data)
            except OSError as err:
                self._error = (f"The encoder for {self.path} stopped ({self._encoder_log() or err}); "
                               "check the free disk space.")
                continue
            self.frames_written += 1
            previous = data

    # --- audio -------------------------------------------------------------------------
    def send_audio(self, chunk: AudioChunk) -> None:
        """Keep `chunk` for the file at the position its capture time falls on."""
        with self._lock:
            if self._closed:
                return
            if self._audio_rate is None:
                self._audio_rate = chunk.rate
            elif chunk.rate != self._audio_rate:
                raise ValueError(f"{self.name} records {self._audio_rate} Hz audio, not {chunk.rate} Hz")
            if self._t0 is None:
                self._pending.append(chunk)
                while self._pending[0].end_time < chunk.end_time - PENDING_AUDIO_S:
                    self._pending.popleft()
                return
            self._place_audio(chunk)

    def _place_pending_audio(self) -> None:
        while self._pending:
            self._place_audio(self._pending.popleft())

    def _place_audio(self, chunk: AudioChunk) -> None:
        """Write `chunk` at sample (capture time - t0) × rate, trimming what overlaps
        earlier audio or precedes time zero and filling gaps with silence."""
        assert self._t0 is not None and self._audio_rate is not None
        rate = self._audio_rate
        start = round((chunk.start_time - self._t0) * rate)
        if abs(start - self._audio_written) <= AUDIO_SNAP_S * rate:
            start = self._audio_written
        samples = chunk.samples[max(0, self._audio_written - start):]
        start = max(start, self._audio_written)
        if not len(samples):
            return
        try:
            self._audio_file.write(np.zeros(start - self._audio_written, "<f4").tobytes())
            self._audio_file.write(np.asarray(samples, "<f4").tobytes())
        except OSError as err:
            self._error = f"The audio for {self.path} cannot be written ({err.strerror}); check the free disk space."
            return
        self._audio_written = start + len(samples)

    # --- finishing -----------------------------------------------------------------------
    def close(self) -> None:
        """Flush the encoder and mux video and audio into the final file; safe to repeat."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._writer.join()
        assert self._encoder.stdin is not None
        try:
            self._encoder.stdin.close()
        except OSError:
            pass  # the encoder is gone; its exit status says so below
        try:
            encoded = self._encoder.wait(timeout=FINISH_TIMEOUT_S) == 0
        except subprocess.TimeoutExpired:
            self._encoder.kill()
            encoded = False
        self._audio_file.close()
        try:
            if self._error or not encoded:
                raise SinkUnavailableError(
                    self._error or f"The encoder for {self.path} failed ({self._encoder_log()}); "
                    "check the free disk space and that ffmpeg has libx264.")
            if not self.frames_written:
                log.warning("No frame was rendered, so %s was not written.", self.path)
                return
            self._mux()
        finally:
            self._log.close()
            for part in (self._video_part, self._audio_part, self._mux_part):
                part.unlink(missing_ok=True)

    def _mux(self) -> None:
        """Video (copied) and audio (AAC, cut or padded to the video's length) into `path`."""
        command = [self._ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(self._video_part)]
        if self._audio_rate is not None:
            target = round(self.frames_written * self._audio_rate / self._fps)
            with open(self._audio_part, "r+b") as audio:
                audio.truncate(target * 4)  # pads with zero bytes, which are float32 silence
            command += ["-f", "f32le", "-ar", str(self._audio_rate), "-ac", "1", "-i", str(self._audio_part),
                        "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", AAC_BITRATE]
        command += ["-c:v", "copy", "-movflags", "+faststart", str(self._mux_part)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=FINISH_TIMEOUT_S,
                                  start_new_session=True)
            problem = ""
            if done.returncode:
                problem = done.stderr.strip()[-LOG_TAIL_CHARS:] or f"exit status {done.returncode}"
        except subprocess.TimeoutExpired:
            problem = f"no result within {FINISH_TIMEOUT_S:.0f} s"
        if problem:
            raise SinkUnavailableError(f"ffmpeg could not finish {self.path} ({problem}); check the free disk space.")
        os.replace(self._mux_part, self.path)

    def _encoder_log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip()[-LOG_TAIL_CHARS:]
