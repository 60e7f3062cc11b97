"""flite run as a program: `-psdur` prints each phone with its end time."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import soundfile

from avatarcam.train.phonemes import from_arpabet, from_end_times
from avatarcam.train.speech import NOMINAL_WPM, SpokenText, Style, require_program, spoken

# Voices built into Debian's flite and their typical F0 in Hz (kal is an 8 kHz voice).
VOICE_F0_HZ = {"kal": 100.0, "kal16": 100.0, "awb": 110.0, "rms": 105.0, "slt": 175.0}
VOICES = tuple(VOICE_F0_HZ)
PITCH_OCTAVES = 0.6  # `Style.pitch` 0..1 moves F0 over this span around the voice's own
TIMEOUT_S = 60


def target_f0(base_hz: float, pitch: float) -> float:
    """Mean F0 for a voice whose own is `base_hz`, moved by `Style.pitch`."""
    return base_hz * 2.0 ** ((pitch - 0.5) * PITCH_OCTAVES)


def speak(text: str, voice: str, style: Style) -> SpokenText:
    """`text` spoken by flite's `voice` in `style`, with phones from `-psdur`."""
    program = require_program("flite", "flite")
    with tempfile.TemporaryDirectory(prefix="avatarcam-flite-") as tmp:
        wav = Path(tmp) / "speech.wav"
        done = subprocess.run(
            [program, "-voice", voice, "-psdur",
             "--setf", f"duration_stretch={NOMINAL_WPM / style.rate_wpm:.4f}",
             "--setf", f"int_f0_target_mean={target_f0(VOICE_F0_HZ[voice], style.pitch):.1f}",
             "-t", text, "-o", str(wav)],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=True,
        )
        samples, rate = soundfile.read(str(wav), dtype="float32")
    pairs = [item.rsplit(":", 1) for item in done.stdout.split()]
    phones = from_end_times([from_arpabet(name) for name, _ in pairs], [float(end) for _, end in pairs])
    return spoken(samples, rate, phones, style)
