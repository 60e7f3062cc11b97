"""Microphone capture: a PortAudio input stream feeding an `AudioRing`, kept alive by a
supervisor that reopens the device with backoff when it vanishes or stalls mid-stream.

The audio callback only copies the block into preallocated memory and stamps it with its
capture time on the monotonic clock; it never blocks, logs or allocates buffers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.devices import InputDevice, load_sounddevice, resolve_input_device
from avatarcam.audio.ring import AudioRing
from avatarcam.constants import (
    CAPTURE_BLOCK_MS,
    CAPTURE_STALL_S,
    REOPEN_BACKOFF_MAX_S,
    REOPEN_BACKOFF_START_S,
    RING_SECONDS,
    SUPERVISE_INTERVAL_S,
)
from avatarcam.errors import AudioInputError, DeviceNotFoundError

log = logging.getLogger(__name__)

READ_BLOCKS = 4  # a read returns at most this many capture blocks


class MicrophoneSource:
    """Live mono audio from a microphone, as timestamped chunks."""

    def __init__(self, device: str | int | None = None, rate: int | None = None,
                 block_ms: int = CAPTURE_BLOCK_MS, ring_seconds: float = RING_SECONDS) -> None:
        """`device` is a name, index or None for the default; `rate` None uses the
        device's own default rate (resampling is done by the front end)."""
        self._spec = device
        self._requested_rate = rate
        self._block_ms = block_ms
        self._ring_seconds = ring_seconds
        self._sd = load_sounddevice()
        self._stream: Any = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._last_callback = 0.0
        self.device: InputDevice | None = None
        self.rate = 0
        self.reopen_count = 0  # successful reopens after a loss
        self.driver_overflows = 0  # blocks the driver reported as overrun
        self.lost = False  # True while the device is gone and being retried
        self._ring: AudioRing | None = None

    # --- public interface --------------------------------------------------------------
    def start(self) -> None:
        """Open the device (raising a one-sentence `AudioInputError` if it cannot be) and
        start the supervisor that keeps it open."""
        self.device = resolve_input_device(self._spec)
        self.rate = self._open_first(self.device)
        block = self.rate * self._block_ms // 1000
        self._ring = AudioRing(self.rate, int(self.rate * self._ring_seconds), max_block=8 * block)
        self._start_stream()
        self._supervisor = threading.Thread(target=self._supervise, name="mic-supervisor", daemon=True)
        self._supervisor.start()

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next captured audio (up to a few blocks), or None if none came in `timeout` s."""
        if self._ring is None or self._stopping.is_set():
            return None
        return self._ring.read(READ_BLOCKS * self.rate * self._block_ms // 1000, timeout)

    @property
    def finished(self) -> bool:
        """True after `stop`; a live microphone otherwise never runs out."""
        return self._stopping.is_set()

    @property
    def overflow_samples(self) -> int:
        """Samples dropped because the consumer fell behind."""
        return self._ring.overflow_samples if self._ring else 0

    def stop(self) -> None:
        """Stop the supervisor and close the stream; safe to call more than once."""
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=2.0)
        self._close_stream()
        if self._ring is not None:
            self._ring.wake()

    def __enter__(self) -> MicrophoneSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- stream management -------------------------------------------------------------
    def _open_first(self, device: InputDevice) -> int:
        """Pick a rate the device accepts: the requested one, else its default (said once)."""
        default = int(device.default_samplerate)
        rate = self._requested_rate or default
        try:
            self._sd.check_input_settings(device=device.index, channels=1, samplerate=rate, dtype="float32")
            return rate
        except self._sd.PortAudioError as err:
            if rate == default:
                raise AudioInputError(
                    f"The microphone {device.name!r} cannot be opened ({err}); check that no other "
                    "program holds it exclusively and that `avatarcam devices` lists it."
                ) from err
        except ValueError as err:
            raise AudioInputError(f"The microphone {device.name!r} rejects mono capture ({err}).") from err
        log.warning("The microphone %r does not support %d Hz; using its default %d Hz instead.",
                    device.name, rate, default)
        self._requested_rate = default
        return self._open_first(device)

    def _start_stream(self) -> None:
        assert self.device is not None
        stream = self._sd.InputStream(
            device=self.device.index, channels=1, samplerate=self.rate, dtype="float32",
            blocksize=self.rate * self._block_ms // 1000, latency="low", callback=self._callback,
        )
        self._last_callback = time.monotonic()
        stream.start()
        self._stream = stream

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic()
        if status.input_overflow:
            self.driver_overflows += 1
        age = time_info.currentTime - time_info.inputBufferAdcTime
        first_sample = now - age if time_info.inputBufferAdcTime > 0 and 0 <= age < 1 else now - frames / self.rate
        assert self._ring is not None
        self._ring.write(indata[:, 0], first_sample)
        self._last_callback = now

    def _close_stream(self) -> None:
        """Close the stream without letting a hung driver hang us: closing runs aside."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        closer = threading.Thread(target=_close_quietly, args=(stream,), daemon=True)
        closer.start()
        closer.join(timeout=1.0)

    def _healthy(self) -> bool:
        stream = self._stream
        return (stream is not None and stream.active
                and time.monotonic() - self._last_callback < CAPTURE_STALL_S)

    def _supervise(self) -> None:
        backoff = REOPEN_BACKOFF_START_S
        while not self._stopping.wait(SUPERVISE_INTERVAL_S):
            if self._healthy():
                continue
            if not self.lost:
                self.lost = True
                name = self.device.name if self.device else "microphone"
                log.warning("The microphone %r stopped delivering audio; reopening it with backoff "
                            "(the avatar idles meanwhile).", name)
            self._close_stream()
            if self._try_reopen():
                self.lost = False
                self.reopen_count += 1
                backoff = REOPEN_BACKOFF_START_S
                log.warning("The microphone %r is back.", self.device.name if self.device else "")
            elif self._stopping.wait(backoff):
                return
            else:
                backoff = min(backoff * 2, REOPEN_BACKOFF_MAX_S)

    def _try_reopen(self) -> bool:
        """One attempt to find the device again (PortAudio re-scanned) and restart capture."""
        try:
            self._sd._terminate()  # PortAudio only sees re-plugged devices after re-initialising
            self._sd._initialize()
            self.device = resolve_input_device(self._spec)
            self._start_stream()
        except (self._sd.PortAudioError, DeviceNotFoundError, AudioInputError, OSError) as err:
            log.debug("reopen failed: %s", err)
            return False
        return True


def _close_quietly(stream: Any) -> None:
    try:
        stream.abort()
        stream.close()
    except Exception as err:  # noqa: BLE001 - the device is already gone; nothing to save
        log.debug("closing a lost stream failed: %s", err)
