"""The "AvatarCam Mic": the user's voice, delayed to match the avatar's lips, as a
microphone that video-call apps can pick.

On Linux it is a PulseAudio (or PipeWire-pulse) null sink that avatarcam plays into, and a
source named "AvatarCam Mic" remapped from that sink's monitor. `VirtualMicrophone` loads
both modules and unloads them again; `DelayedPlayback` plays captured audio into the sink
so that a sample captured at time T reaches the source at T + delay.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import platform
import shutil
import subprocess
import threading
import time

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.pulse_playback import PulsePlayback, PulseStreamError
from avatarcam.errors import AvatarcamError

log = logging.getLogger(__name__)

MIC_DESCRIPTION = "AvatarCam Mic"  # the name apps list among microphones
MIC_SOURCE_NAME = "avatarcam_mic"
MIC_SINK_NAME = "avatarcam_mic_sink"
MIC_SINK_DESCRIPTION = "AvatarCam Mic (playback side)"
MIC_RATE = 48_000  # Hz; what video-call apps capture at, so the server need not resample
PACTL_TIMEOUT_S = 10.0

PLAYBACK_LATENCY_S = 0.03  # server-side buffer: room for scheduling hiccups, well under any delay asked
WRITE_BLOCK_S = 0.005  # granularity at which playback follows the requested delay
RESYNC_S = 0.002  # off by more than this (a stall, a new delay), the play position jumps
SLEW_DEADBAND_S = 0.00025  # off by more than this, it slips one sample per block: inaudible
MAX_DELAY_S = 2.0
BUFFER_S = MAX_DELAY_S + 1.0  # captured audio kept for playback
SNAP_S = 0.002  # a chunk starting this close to where the previous ended continues it
CLOSE_TIMEOUT_S = 2.0  # a write blocks for at most the stream's latency; longer means the server hangs

NO_SERVER_FIX = ("start PulseAudio or PipeWire (`systemctl --user start pipewire-pulse` or `pulseaudio --start`) "
                 "and check `pactl info`")
OTHER_OS_FIX = ("the delayed virtual microphone is built for Linux; on Windows use VB-Cable and on macOS "
                "BlackHole as described in the README, or run without --delay-audio")


class VirtualMicError(AvatarcamError):
    """The virtual microphone cannot be set up or fed; the rest of avatarcam can run without it."""


class VirtualMicrophone:
    """The null sink and the "AvatarCam Mic" source, loaded into the user's sound server for
    the life of this object and unloaded by `close` (or at interpreter exit)."""

    def __init__(self, description: str = MIC_DESCRIPTION, source_name: str = MIC_SOURCE_NAME,
                 sink_name: str = MIC_SINK_NAME, rate: int = MIC_RATE) -> None:
        """Name the devices; nothing is loaded before `open`."""
        self.description = description
        self.source_name = source_name
        self.sink_name = sink_name
        self.rate = rate
        self._modules: list[str] = []  # loaded module ids, in load order

    def open(self) -> None:
        """Load the sink and the source, first removing any left by a run that crashed;
        the user's default sink and source stay what they were."""
        if platform.system() != "Linux":
            raise VirtualMicError(f"There is no virtual microphone on {platform.system()}: {OTHER_OS_FIX}.")
        if shutil.which("pactl") is None:
            raise VirtualMicError(f"pactl is not installed, so no virtual microphone can be made: install "
                                  f"pulseaudio-utils (Debian/Ubuntu) and {NO_SERVER_FIX}.")
        defaults = self._defaults()
        self._unload_leftovers()
        atexit.register(self.close)
        try:
            self._modules.append(self._pactl(
                "load-module", "module-null-sink", f"sink_name={self.sink_name}", f"rate={self.rate}", "channels=1",
                f"sink_properties='device.description=\"{MIC_SINK_DESCRIPTION}\"'").strip())
            self._modules.append(self._pactl(
                "load-module", "module-remap-source", f"master={self.sink_name}.monitor",
                f"source_name={self.source_name}", f"source_properties='device.description=\"{self.description}\"'",
            ).strip())
            self._restore_defaults(defaults)
        except BaseException:
            self.close()
            raise

    def play_delayed(self, rate: int, delay_s: float) -> DelayedPlayback:
        """Start playing captured audio at `rate` into this microphone, `delay_s` after
        capture; raises VirtualMicError when the stream cannot open."""
        # An idle PulseAudio null sink renders up to 2 s ahead, so a stream joining it would
        # start that late; suspending it while the stream connects makes it start afresh.
        suspended = self._try_pactl("suspend-sink", self.sink_name, "1")
        try:
            return DelayedPlayback(self.sink_name, rate, delay_s)
        except PulseStreamError as err:
            raise VirtualMicError(str(err)) from err
        finally:
            if suspended:
                self._pactl("suspend-sink", self.sink_name, "0")

    def close(self) -> None:
        """Unload what `open` loaded, newest first; safe to repeat."""
        atexit.unregister(self.close)
        while self._modules:
            module = self._modules.pop()
            try:
                self._pactl("unload-module", module)
            except VirtualMicError as err:
                log.warning("Could not remove the virtual microphone's module %s: %s", module, err)

    def __enter__(self) -> VirtualMicrophone:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unload_leftovers(self) -> None:
        """Unload modules that made our sink or source in an earlier run that did not close."""
        ours = (f"sink_name={self.sink_name}", f"source_name={self.source_name}")
        leftovers = [line.split("\t")[0] for line in self._pactl("list", "modules", "short").splitlines()
                     if any(arg in line.split() for arg in ours)]
        for module in reversed(leftovers):  # the source, loaded last, goes first
            self._pactl("unload-module", module)
        if leftovers:
            log.info("Removed a virtual microphone left over from an earlier run.")

    def _defaults(self) -> dict[str, str]:
        """The server's default sink and source, as `pactl info` names them."""
        wanted = {"Default Sink": "set-default-sink", "Default Source": "set-default-source"}
        found = {}
        for line in self._pactl("info").splitlines():
            key, _, value = line.partition(": ")
            if key in wanted and value:
                found[wanted[key]] = value.strip()
        return found

    def _restore_defaults(self, before: dict[str, str]) -> None:
        """Undo a server policy that made the new sink or source the default."""
        for command, name in before.items():
            if self._defaults().get(command) != name:
                self._pactl(command, name)

    def _try_pactl(self, *args: str) -> bool:
        """Run a pactl command that is an improvement where the server supports it."""
        try:
            self._pactl(*args)
        except VirtualMicError as err:
            log.debug("%s", err)
            return False
        return True

    def _pactl(self, *args: str) -> str:
        env = dict(os.environ, LC_ALL="C")  # `pactl info` labels are translated otherwise
        try:
            done = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=PACTL_TIMEOUT_S)
        except subprocess.TimeoutExpired as err:
            raise VirtualMicError(f"The sound server did not answer `pactl {args[0]}`: {NO_SERVER_FIX}.") from err
        if done.returncode != 0:
            detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
            raise VirtualMicError(
                f"The virtual microphone cannot be set up (`pactl {args[0]}`: {detail}): {NO_SERVER_FIX}.")
        return done.stdout


class DelayedPlayback:
    """Plays captured audio into a sink so that the sample captured at T is played at T + delay.

    Before each block it asks the server when a sample written now will be played, and
    writes the audio captured one delay before that moment; so the delay holds whatever
    the server's buffering. Small errors (drift between the microphone's clock and the
    sink's) are slewed away a sample at a time; large ones (a stall, a new delay) jump.
    """

    def __init__(self, sink: str, rate: int, delay_s: float) -> None:
        """Open the playback stream at the capture `rate` and start playing (silence until
        audio is pushed)."""
        self.rate = rate
        self._delay_s = _checked_delay(delay_s)
        self._buffer = np.zeros(round(BUFFER_S * rate), np.float32)
        self._lock = threading.Lock()
        self._written_until: int | None = None  # absolute sample number after the newest pushed
        self._play_position = 0  # absolute sample number written to the stream next
        self._stopping = threading.Event()
        self.late_samples = 0  # pushed after their moment to play had passed
        self.resyncs = 0  # times the play position was re-aimed after the first
        self.error: str | None = None  # why playback stopped, if it did
        self._stream = PulsePlayback(sink, rate, PLAYBACK_LATENCY_S, "AvatarCam delayed voice")
        self._thread = threading.Thread(target=self._play, name="delayed-playback", daemon=True)
        self._thread.start()

    @property
    def delay_s(self) -> float:
        """The delay from capture to playback now aimed at."""
        return self._delay_s

    def set_delay(self, delay_s: float) -> None:
        """Aim at a new delay (e.g. as the measured mic-to-frame latency settles); a
        measurement outside 0 to MAX_DELAY_S is clamped rather than refused."""
        if math.isfinite(delay_s):
            self._delay_s = min(max(delay_s, 0.0), MAX_DELAY_S)

    def push(self, chunk: AudioChunk) -> None:
        """Add captured audio; `chunk.start_time` is on the monotonic capture clock."""
        if chunk.rate != self.rate:
            raise ValueError(f"delayed playback runs at {self.rate} Hz, not {chunk.rate} Hz")
        size = len(self._buffer)
        with self._lock:
            start = round(chunk.start_time * self.rate)
            newest = self._written_until if self._written_until is not None else start
            if abs(start - newest) <= SNAP_S * self.rate:
                start = newest
            late = self._play_position - start
            if late > 0:
                if not self.late_samples:
                    log.warning("The voice reaches the virtual microphone %.0f ms too late for a delay of "
                                "%.0f ms; raise --delay-audio.", 1000 * late / self.rate, 1000 * self._delay_s)
                self.late_samples += min(late, len(chunk.samples))
            # Keep only what the buffer can hold: nothing older than its span behind the newest.
            skip = max(0, max(newest, start + len(chunk.samples)) - size - start)
            samples, start = chunk.samples[skip:], start + skip
            if start > newest:
                self._buffer[np.arange(newest, min(start, newest + size)) % size] = 0.0
            self._buffer[np.arange(start, start + len(samples)) % size] = samples
            self._written_until = max(newest, start + len(samples))

    def close(self) -> None:
        """Stop playing and disconnect; safe to repeat."""
        self._stopping.set()
        self._thread.join(timeout=CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("The sound server does not respond; leaving its playback stream to the process exit.")
            return
        self._stream.close()

    def __enter__(self) -> DelayedPlayback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _play(self) -> None:
        block = max(1, round(WRITE_BLOCK_S * self.rate))
        aimed = False
        try:
            while not self._stopping.is_set():
                target = round((time.monotonic() + self._stream.latency() - self._delay_s) * self.rate)
                with self._lock:
                    error = self._play_position - target
                    if abs(error) > RESYNC_S * self.rate:
                        self.resyncs += aimed
                        self._play_position = target
                    elif abs(error) > SLEW_DEADBAND_S * self.rate:
                        self._play_position -= 1 if error > 0 else -1
                    aimed = True
                    samples = self._read(self._play_position, block)
                    self._play_position += block
                self._stream.write(samples)
        except PulseStreamError as err:
            self.error = str(err)
            log.warning("%s", err)

    def _read(self, start: int, count: int) -> np.ndarray:
        """Samples start..start+count of the captured audio, silence where none is held."""
        newest = self._written_until
        if newest is None:
            return np.zeros(count, np.float32)
        positions = np.arange(start, start + count)
        held = (positions >= newest - len(self._buffer)) & (positions < newest)
        return np.where(held, self._buffer[positions % len(self._buffer)], np.float32(0.0))


def parse_audio_delay(text: str) -> float | None:
    """`--delay-audio`: "auto" (None: follow the measured mic-to-frame latency) or milliseconds,
    returned in seconds."""
    if text.strip().lower() == "auto":
        return None
    try:
        milliseconds = float(text)
    except ValueError:
        raise VirtualMicError(f"--delay-audio {text!r} is neither auto nor a number of milliseconds; "
                              "write e.g. --delay-audio 120.") from None
    return _checked_delay(milliseconds / 1000)


def _checked_delay(delay_s: float) -> float:
    if not 0.0 <= delay_s <= MAX_DELAY_S:
        raise VirtualMicError(f"An audio delay of {delay_s * 1000:.0f} ms is out of range; "
                              f"choose 0 to {MAX_DELAY_S * 1000:.0f} ms (or auto).")
    return delay_s
