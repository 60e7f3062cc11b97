"""Voice activity detection: webrtcvad's per-frame verdict, made steady for an avatar.

Raw webrtcvad flickers inside words and fires on clicks, breathing and fan noise. A frame
counts as a speech candidate only when webrtcvad says speech AND its level clears both an
absolute floor and the running noise floor by a margin. Speech starts after `attack_ms` of
candidates (clicks are shorter) that include at least one voiced frame (a pitch peak in the
cepstrum, which breath, fans and other noise lack); gaps shorter than `onset_gap_ms` do not
break that onset run. It ends after `hangover_ms` without a candidate (the pauses between
words are shorter). Segments are reported from the first candidate of the onset run, so a
soft or unvoiced first sound is kept, to the end of the last candidate frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import webrtcvad

from avatarcam.constants import SAMPLE_RATE, VAD_DEFAULT_FRAME_MS, VAD_FRAME_MS_CHOICES, exact_div

VOICING_WINDOW = exact_div(SAMPLE_RATE * 64, 1000)  # latest samples judged for pitch; resolves a 60 Hz voice
PITCH_RANGE_HZ = (60.0, 400.0)  # voice pitches the cepstral peak is searched over
HARMONICS_MAX_HZ = 4000.0  # the cepstrum looks at the band where a voice's harmonics stand out
_HANN = np.hanning(VOICING_WINDOW).astype(np.float32)
_HARMONIC_BINS = slice(1, round(HARMONICS_MAX_HZ * VOICING_WINDOW / SAMPLE_RATE) + 1)
_QUEFRENCIES = slice(round(SAMPLE_RATE / PITCH_RANGE_HZ[1]), round(SAMPLE_RATE / PITCH_RANGE_HZ[0]) + 1)


@dataclass(frozen=True)
class VadConfig:
    """How speech is told from silence; every field can be set from the config file."""

    frame_ms: int = VAD_DEFAULT_FRAME_MS  # 10, 20 or 30: webrtcvad's frame lengths
    aggressiveness: int = 2  # webrtcvad mode 0 (lenient) … 3 (strict; it cuts soft speech short)
    attack_ms: int = 60  # candidate speech (with a voiced frame) needed to enter speech
    onset_gap_ms: int = 60  # a candidate-free gap this long ends an onset run; shorter ones are bridged
    hangover_ms: int = 300  # candidate-free time needed to leave speech
    energy_floor_dbfs: float = -50.0  # frames quieter than this are never speech
    noise_margin_db: float = 8.0  # a candidate must be this far above the noise floor
    noise_window_ms: int = 1500  # the noise floor is the quietest frame in this window
    voicing_threshold: float = 0.25  # cepstral pitch peak of a voiced frame; noise stays under 0.2

    def __post_init__(self) -> None:
        if self.frame_ms not in VAD_FRAME_MS_CHOICES:
            raise ValueError(f"VAD frame_ms must be one of {VAD_FRAME_MS_CHOICES}, not {self.frame_ms}")
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError(f"VAD aggressiveness must be 0..3, not {self.aggressiveness}")
        if min(self.attack_ms, self.onset_gap_ms, self.hangover_ms) < 0 or self.noise_window_ms < self.frame_ms:
            raise ValueError("VAD attack_ms, onset_gap_ms and hangover_ms must be ≥ 0 and noise_window_ms ≥ frame_ms")

    @property
    def frame_length(self) -> int:
        """Samples per VAD frame at 16 kHz."""
        return exact_div(SAMPLE_RATE * self.frame_ms, 1000)

    @property
    def decision_delay_ms(self) -> int:
        """How long after speech onset the live state turns to speech at the earliest: the
        attack run plus the frame that must be complete before it is judged."""
        return self.frames_in(self.attack_ms) * self.frame_ms

    def frames_in(self, ms: int) -> int:
        """Whole VAD frames needed to cover `ms` milliseconds (at least one)."""
        return max(1, -(-ms // self.frame_ms))


@dataclass
class VadFrame:
    """The verdict on one frame; `start_s` counts from the first sample the VAD saw."""

    start_s: float
    is_speech: bool  # the smoothed live state after this frame
    candidate: bool  # this frame alone looked like speech
    level_dbfs: float


@dataclass
class StreamingVad:
    """Smoothed speech/silence decisions over 16 kHz audio arriving in pieces of any size."""

    config: VadConfig = field(default_factory=VadConfig)

    def __post_init__(self) -> None:
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        self._pending = np.zeros(0, dtype=np.float32)
        self._levels: deque[float] = deque(maxlen=max(1, self.config.noise_window_ms // self.config.frame_ms))
        self._attack_frames = self.config.frames_in(self.config.attack_ms)
        self._hangover_frames = self.config.frames_in(self.config.hangover_ms)
        self._frames_seen = 0
        self._onset_gap_frames = self.config.frames_in(self.config.onset_gap_ms)
        self._quiet = 0  # non-candidate frames since the last candidate
        self._onset_frames = 0  # candidates in the current onset run
        self._onset_voiced = False  # the current onset run holds a voiced frame
        self._onset_s = 0.0  # where the current onset run began
        self._recent = np.zeros(VOICING_WINDOW, dtype=np.float32)  # the last samples, for voicing
        self.in_speech = False
        self.segments: list[list[float]] = []  # closed and open [start_s, end_s] spans
        self._last_candidate_end = 0.0

    def process(self, samples: np.ndarray) -> list[VadFrame]:
        """Feed audio; return one verdict per frame completed by it."""
        self._pending = np.concatenate((self._pending, np.asarray(samples, dtype=np.float32)))
        n = self.config.frame_length
        verdicts = []
        while len(self._pending) >= n:
            frame, self._pending = self._pending[:n], self._pending[n:]
            verdicts.append(self._judge(frame))
        return verdicts

    def finish(self) -> list[list[float]]:
        """Close an open segment at the end of the stream and return all segments."""
        if self.in_speech and self.segments:
            self.segments[-1][1] = self._last_candidate_end
            self.in_speech = False
        return self.segments

    def _judge(self, frame: np.ndarray) -> VadFrame:
        frame_s = self.config.frame_ms / 1000.0
        start_s = self._frames_seen * frame_s
        self._frames_seen += 1
        level = 10.0 * float(np.log10(np.mean(frame.astype(np.float64) ** 2) + 1e-12))
        self._levels.append(level)
        noise_floor = min(self._levels)
        pcm = (np.clip(frame, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        candidate = (
            level > self.config.energy_floor_dbfs
            and level > noise_floor + self.config.noise_margin_db
            and self._vad.is_speech(pcm, SAMPLE_RATE)
        )
        self._recent = np.concatenate((self._recent, frame))[-VOICING_WINDOW:]
        if candidate:
            self._last_candidate_end = start_s + frame_s
        voiced = candidate and not self.in_speech and self._voiced()
        self._advance(candidate, voiced, start_s, frame_s)
        return VadFrame(start_s=start_s, is_speech=self.in_speech, candidate=candidate, level_dbfs=level)

    def _voiced(self) -> bool:
        """Whether the last `VOICING_WINDOW` samples have a voice pitch: the cepstrum of the
        log spectrum up to `HARMONICS_MAX_HZ` peaks at a period in `PITCH_RANGE_HZ` by at least
        the threshold (evenly spaced harmonics make that peak; noise spectra have none)."""
        log_power = np.log(np.abs(np.fft.rfft(self._recent * _HANN)[_HARMONIC_BINS]) ** 2 + 1e-12)
        band = np.zeros(VOICING_WINDOW // 2 + 1)
        band[_HARMONIC_BINS] = log_power - log_power.mean()
        return float(np.max(np.fft.irfft(band, VOICING_WINDOW)[_QUEFRENCIES])) >= self.config.voicing_threshold

    def _advance(self, candidate: bool, voiced: bool, start_s: float, frame_s: float) -> None:
        self._quiet = 0 if candidate else self._quiet + 1
        if self.in_speech:
            self.segments[-1][1] = self._last_candidate_end
            self.in_speech = self._quiet < self._hangover_frames
            return
        if self._quiet >= self._onset_gap_frames:
            self._onset_frames, self._onset_voiced = 0, False
        elif candidate:
            if not self._onset_frames:
                self._onset_s = start_s
            self._onset_frames += 1
            self._onset_voiced = self._onset_voiced or voiced
        if self._onset_frames >= self._attack_frames and self._onset_voiced:
            self.segments.append([self._onset_s, start_s + frame_s])
            self.in_speech, self._onset_frames, self._onset_voiced = True, 0, False
