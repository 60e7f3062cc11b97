"""Sizes shared across stages, defined once with their derivations checked at import.

Every other module imports these names instead of repeating a number; a change here that
makes a derived size inexact fails at import rather than producing misaligned frames.
"""

from __future__ import annotations


def exact_div(numerator: int, denominator: int) -> int:
    """`numerator / denominator` as an int, failing loudly if it does not divide exactly."""
    if numerator % denominator:
        raise ValueError(f"{numerator} is not divisible by {denominator}")
    return numerator // denominator


# --- audio front end -------------------------------------------------------------------
SAMPLE_RATE = 16_000  # Hz; what the VAD, features and motion model consume
HOP_MS = 10  # feature stride
HOP_LENGTH = exact_div(SAMPLE_RATE * HOP_MS, 1000)  # 160 samples
WIN_MS = 25  # analysis window of one log-mel frame
WIN_LENGTH = exact_div(SAMPLE_RATE * WIN_MS, 1000)  # 400 samples
N_FFT = 512  # next power of two above WIN_LENGTH
N_MELS = 80
MEL_FMIN_HZ = 40.0
MEL_FMAX_HZ = 7_600.0  # just under Nyquist, above the telephone band
LOG_MEL_FLOOR = 1e-6  # power floor before log, about -120 dB below full scale
FEATURES_PER_SECOND = exact_div(1000, HOP_MS)  # 100

RESAMPLE_QUALITY = "HQ"  # libsoxr preset: 20-bit, steep band-limiting filter
CAPTURE_BLOCK_MS = 10  # microphone callback block; part of the latency budget
CLOCK_JITTER_S = 0.02  # block timestamps closer than this to contiguous are snapped to it
RING_SECONDS = 4.0  # capture ring capacity; overflows beyond this are counted, not grown

VAD_FRAME_MS_CHOICES = (10, 20, 30)  # the only frame lengths webrtcvad accepts
VAD_DEFAULT_FRAME_MS = 20

# --- motion ----------------------------------------------------------------------------
MOTION_FPS = 25
SAMPLES_PER_MOTION_FRAME = exact_div(SAMPLE_RATE, MOTION_FPS)  # 640
FEATURES_PER_MOTION_FRAME = exact_div(SAMPLES_PER_MOTION_FRAME, HOP_LENGTH)  # 4

# --- reopening a lost microphone -------------------------------------------------------
REOPEN_BACKOFF_START_S = 0.25
REOPEN_BACKOFF_MAX_S = 4.0
CAPTURE_STALL_S = 1.0  # no callback for this long means the device is gone or hung
SUPERVISE_INTERVAL_S = 0.05  # how often the capture supervisor checks the stream

assert N_FFT >= WIN_LENGTH, "the FFT must hold a whole analysis window"
assert MEL_FMAX_HZ <= SAMPLE_RATE / 2, "mel bands cannot reach above Nyquist"
