"""Resampling to the front end's 16 kHz.

Live audio goes through `StreamingResampler`, a windowed-sinc interpolator of our own
whose delay is under a millisecond and whose output follows its input block by block.
libsoxr's stream, used before, held back 20–30 ms at 48 and 22.05 kHz and released its
output in bursts, which showed up one to one in the mic-to-frame latency. Whole signals
(offline paths, the training corpus) still go through libsoxr's steeper filter.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import soxr

from avatarcam.constants import RESAMPLE_QUALITY, SAMPLE_RATE

Floats = npt.NDArray[np.float32]

ZERO_CROSSINGS = 32  # of the low-pass sinc on each side: sets the filter's length and delay
ROLLOFF = 0.96  # cut-off (half amplitude) as a share of the lower rate's Nyquist frequency
KAISER_BETA = 8.0  # window shape: about 80 dB stop band for the taps above
MAX_PHASES = 4096  # distinct output phases tabulated; rarer ratios round to the nearest


class StreamingResampler:
    """Converts successive chunks from `in_rate` to `out_rate` as one continuous signal.
    Output sample k lies at input time k / out_rate; it is returned as soon as the input
    reaches `delay_s` past that time."""

    def __init__(self, in_rate: int, out_rate: int = SAMPLE_RATE) -> None:
        self.in_rate, self.out_rate = in_rate, out_rate
        common = math.gcd(in_rate, out_rate)
        self._up, self._down = out_rate // common, in_rate // common  # output k ↔ input k·down/up
        cutoff = ROLLOFF * min(1.0, out_rate / in_rate)  # in cycles per input sample × 2
        self._half = math.ceil(ZERO_CROSSINGS / cutoff)  # taps each side, in input samples
        self._phases = min(self._up, MAX_PHASES)
        self._table = _kernel_table(self._phases, self._half, cutoff)
        self._history = np.zeros(self._half, np.float32)  # input before the first sample is silence
        self._history_start = -self._half  # input index of self._history[0]
        self._next = 0  # index of the next output sample

    @property
    def delay_s(self) -> float:
        """How far the input must run past an output sample's time before it is made."""
        return 0.0 if self._up == self._down else self._half / self.in_rate

    def process(self, samples: npt.ArrayLike, last: bool = False) -> Floats:
        """Resample the next piece of the signal; `last=True` also makes the samples that
        wait on input after the end (read as silence)."""
        chunk = np.asarray(samples, np.float32)
        if self._up == self._down:
            return chunk
        received = self._history_start + len(self._history) + len(chunk)  # input samples so far
        pad = self._half if last else 0  # at the end, input after it reads as silence
        buffer = np.concatenate((self._history, chunk, np.zeros(pad, np.float32)))
        # output k needs input up to floor(k·down/up) + half; at the end, every k inside the input
        reach = received if last else received - self._half
        stop = max(self._next, -(-reach * self._up // self._down))
        out = self._interpolate(buffer, self._next, stop)
        self._next = stop
        keep_from = self._next * self._down // self._up - self._half + 1
        drop = max(0, keep_from - self._history_start)
        self._history = buffer[drop: len(buffer) - pad]
        self._history_start += drop
        return out

    def _interpolate(self, buffer: Floats, first: int, stop: int) -> Floats:
        """Output samples first … stop - 1 from `buffer` (input from self._history_start)."""
        if stop <= first:
            return np.zeros(0, np.float32)
        outputs = np.arange(first, stop, dtype=np.int64)
        base = outputs * self._down // self._up  # the input sample at or before each output
        phase = (outputs * self._down % self._up) * self._phases // self._up
        taps = base[:, None] - self._history_start + np.arange(-self._half + 1, self._half + 1)
        return np.einsum("nk,nk->n", buffer[taps], self._table[phase]).astype(np.float32)


def _kernel_table(phases: int, half: int, cutoff: float) -> npt.NDArray[np.float32]:
    """(phases, 2·half) low-pass interpolation weights: row p for an output sample p/phases
    of an input sample after input tap `half - 1`, each row summing to 1."""
    offsets = np.arange(-half + 1, half + 1)[None, :] - (np.arange(phases) / phases)[:, None]
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (offsets / half) ** 2, 0.0, 1.0))) / np.i0(KAISER_BETA)
    weights = np.sinc(cutoff * offsets) * window
    return (weights / weights.sum(1, keepdims=True)).astype(np.float32)


def resample_whole(samples: np.ndarray, in_rate: int, out_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a whole signal at once (offline paths and tests)."""
    if in_rate == out_rate:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples.astype(np.float32, copy=False), in_rate, out_rate, quality=RESAMPLE_QUALITY)
