"""The audio front end: chunks at any rate in, 16 kHz VAD verdicts and log-mel frames out,
each stamped with the capture time of the audio it came from.

A gap in the capture clock (overflow, a reopened microphone) restarts the resampler, the
VAD and the feature framing, because audio on either side of a gap is not one signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.features import StreamingLogMel
from avatarcam.audio.resample import StreamingResampler
from avatarcam.audio.vad import StreamingVad, VadConfig, VadFrame
from avatarcam.constants import CLOCK_JITTER_S, HOP_LENGTH, N_MELS, SAMPLE_RATE, WIN_LENGTH


@dataclass(frozen=True)
class FrontendStep:
    """What one input chunk produced."""

    features: np.ndarray  # (k, N_MELS) float32 log-mel frames completed by this chunk
    feature_times: np.ndarray  # (k,) capture time of the last sample in each frame's window
    vad: list[VadFrame]  # verdicts on the VAD frames completed by this chunk
    vad_times: np.ndarray  # (len(vad),) capture time at the end of each VAD frame
    speech: bool  # the smoothed live state after this chunk


@dataclass
class AudioFrontend:
    """Resampling, VAD and features for one audio source's chunks, in order."""

    in_rate: int
    vad_config: VadConfig = field(default_factory=VadConfig)
    # Leave the first samples after each (re)start out of the log-mel grid, so that every
    # window's audio is complete just as a 10 ms capture block ends rather than 5 ms into
    # the next one: the live engine's motion frames are ready half a block sooner.
    align_windows_to_blocks: bool = False

    def __post_init__(self) -> None:
        self.segments: list[list[float]] = []  # closed speech spans on the capture clock
        self.gaps = 0  # discontinuities seen in the capture clock
        self._base_time: float | None = None
        self._restart(0.0)

    def _restart(self, base_time: float) -> None:
        if self._base_time is not None:
            self._close_segments()
        self._resampler = StreamingResampler(self.in_rate, SAMPLE_RATE)
        self._vad = StreamingVad(self.vad_config)
        self._mel = StreamingLogMel()
        self._lead_in = self._window_lead_in() if self.align_windows_to_blocks else 0
        self._lead_left = self._lead_in  # lead-in samples still to leave out
        self._base_time = base_time
        self._next_in_time = base_time
        self._fresh = True  # the next chunk fixes the time base

    def _window_lead_in(self) -> int:
        """16 kHz samples to leave out so windows end where capture blocks end (which are
        whole hops long), less the resampler's delay."""
        delay = math.ceil(self._resampler.delay_s * SAMPLE_RATE - 1e-9)
        return -(WIN_LENGTH + delay) % HOP_LENGTH

    def _close_segments(self) -> None:
        assert self._base_time is not None
        for start, end in self._vad.finish():
            self.segments.append([self._base_time + start, self._base_time + end])

    @property
    def speech(self) -> bool:
        """The smoothed live VAD state."""
        return self._vad.in_speech

    def process(self, chunk: AudioChunk) -> FrontendStep:
        """Run one chunk through resampling, VAD and features."""
        if chunk.rate != self.in_rate:
            raise ValueError(f"chunk rate {chunk.rate} Hz differs from the front end's {self.in_rate} Hz")
        if self._fresh:
            self._base_time, self._fresh = chunk.start_time, False
        elif abs(chunk.start_time - self._next_in_time) > CLOCK_JITTER_S:
            self.gaps += 1
            self._restart(chunk.start_time)
        self._next_in_time = chunk.end_time
        return self._consume(self._resampler.process(chunk.samples))

    def flush(self) -> FrontendStep:
        """Push the resampler's tail through at the end of a stream and close open segments."""
        step = self._consume(self._resampler.process(np.zeros(0, dtype=np.float32), last=True))
        self._close_segments()
        self._vad = StreamingVad(self.vad_config)
        return step

    def _consume(self, samples16k: np.ndarray) -> FrontendStep:
        assert self._base_time is not None
        first_frame = self._mel.frames_emitted
        left_out = min(self._lead_left, len(samples16k))
        self._lead_left -= left_out
        features = self._mel.process(samples16k[left_out:])
        verdicts = self._vad.process(samples16k)
        frame_idx = np.arange(first_frame, first_frame + len(features))
        feature_times = self._base_time + (self._lead_in + frame_idx * HOP_LENGTH + WIN_LENGTH) / SAMPLE_RATE
        vad_span = self.vad_config.frame_ms / 1000.0
        vad_times = self._base_time + np.array([v.start_s + vad_span for v in verdicts])
        return FrontendStep(
            features=features if len(features) else np.zeros((0, N_MELS), np.float32),
            feature_times=feature_times,
            vad=verdicts,
            vad_times=vad_times,
            speech=self._vad.in_speech,
        )
