"""A mono float32 playback stream into one named PulseAudio (or PipeWire-pulse) sink.

It talks to libpulse-simple directly because the delayed virtual microphone needs the one
figure PortAudio and `pacat` hide: how long a sample written now takes until the server
plays it (`pa_simple_get_latency`), which is what lets playback land at an exact time.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from avatarcam.errors import AvatarcamError

_PA_STREAM_PLAYBACK = 1  # pa_stream_direction_t
_PA_SAMPLE_FLOAT32LE = 5  # pa_sample_format_t
_PA_DEFAULT = 0xFFFFFFFF  # (uint32_t) -1: "let the server choose" in pa_buffer_attr
_USEC = 1e-6


class PulseStreamError(AvatarcamError):
    """The PulseAudio client library or server cannot play into the sink as asked."""


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]


def _load_libraries() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    """libpulse-simple (streams) and libpulse (error texts), with their signatures declared."""
    names = [ctypes.util.find_library(lib) for lib in ("pulse-simple", "pulse")]
    if not all(names):
        raise PulseStreamError(
            "The PulseAudio client library is missing, so the virtual microphone cannot play: install "
            "libpulse0 (Debian/Ubuntu: `sudo apt install libpulse0`)."
        )
    simple, pulse = (ctypes.CDLL(name) for name in names)
    simple.pa_simple_new.restype = ctypes.c_void_p
    simple.pa_simple_new.argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
        ctypes.POINTER(_SampleSpec), ctypes.c_void_p, ctypes.POINTER(_BufferAttr), ctypes.POINTER(ctypes.c_int),
    ]
    simple.pa_simple_write.restype = ctypes.c_int
    simple.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]
    simple.pa_simple_get_latency.restype = ctypes.c_uint64
    simple.pa_simple_get_latency.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    simple.pa_simple_free.restype = None
    simple.pa_simple_free.argtypes = [ctypes.c_void_p]
    pulse.pa_strerror.restype = ctypes.c_char_p
    pulse.pa_strerror.argtypes = [ctypes.c_int]
    return simple, pulse


class PulsePlayback:
    """A blocking playback stream: `write` returns once the server has room for the samples,
    which paces the caller at the sink's rate."""

    def __init__(self, sink: str, rate: int, target_latency_s: float, stream_name: str) -> None:
        """Connect to the default server and open a mono float32 stream into `sink` whose
        total latency (client buffer plus sink) the server keeps near `target_latency_s`."""
        self._simple, self._pulse = _load_libraries()
        self.rate = rate
        spec = _SampleSpec(_PA_SAMPLE_FLOAT32LE, rate, 1)
        target_bytes = int(target_latency_s * rate) * 4
        attr = _BufferAttr(_PA_DEFAULT, target_bytes, _PA_DEFAULT, _PA_DEFAULT, _PA_DEFAULT)
        error = ctypes.c_int(0)
        handle = self._simple.pa_simple_new(
            None, b"avatarcam", _PA_STREAM_PLAYBACK, sink.encode(), stream_name.encode(),
            ctypes.byref(spec), None, ctypes.byref(attr), ctypes.byref(error),
        )
        if not handle:
            raise PulseStreamError(
                f"Cannot play into the sound server's sink {sink!r} ({self._reason(error)}); check that "
                "PulseAudio or PipeWire runs (`pactl info`)."
            )
        self._handle: int | None = handle

    def write(self, samples: np.ndarray) -> None:
        """Queue mono float32 samples for playback, blocking while the stream is full."""
        data = np.ascontiguousarray(samples, dtype="<f4")
        error = ctypes.c_int(0)
        if self._simple.pa_simple_write(self._live(), data.ctypes.data, data.nbytes, ctypes.byref(error)) < 0:
            raise PulseStreamError(f"The sound server stopped taking audio ({self._reason(error)}); restart avatarcam.")

    def latency(self) -> float:
        """Seconds from now until a sample written next is played by the sink."""
        error = ctypes.c_int(0)
        usec = self._simple.pa_simple_get_latency(self._live(), ctypes.byref(error))
        if usec == ctypes.c_uint64(-1).value:
            raise PulseStreamError(f"The sound server gives no playback latency ({self._reason(error)}).")
        return usec * _USEC

    def close(self) -> None:
        """Disconnect; the samples still queued are dropped. Safe to call more than once."""
        handle, self._handle = self._handle, None
        if handle:
            self._simple.pa_simple_free(handle)

    def _live(self) -> int:
        if not self._handle:
            raise PulseStreamError("The playback stream is closed.")
        return self._handle

    def _reason(self, error: ctypes.c_int) -> str:
        return self._pulse.pa_strerror(error.value).decode(errors="replace")
