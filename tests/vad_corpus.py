"""The VAD evaluation corpus: speech and non-speech signals with per-frame ground truth.

Everything is 16 kHz float32, built in memory and deterministic: each item draws its
randomness from a generator seeded by the corpus seed and the item's name, so one item's
signal does not change when others are added. Speech items are clean speech laid over
quiet room noise (never digital zeros, which no microphone delivers); their truth comes
from the clean speech alone (`speech_truth`), never from the VAD under test. Non-speech
items are all-silence truth. `score` runs `StreamingVad` the way the live front end does
and compares its segments with the truth frame by frame.
"""

from __future__ import annotations

import shutil
import subprocess
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal as sps

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.resample import resample_whole
from avatarcam.audio.vad import StreamingVad, VadConfig
from avatarcam.constants import CAPTURE_BLOCK_MS, SAMPLE_RATE

CORPUS_SEED = 20240611
ROOM_NOISE_DBFS = -65.0  # RMS of the quiet room under every speech item
PAD_SECONDS = (1.0, 2.0)  # room noise before and after each speech item, drawn per side
JOIN_GAP_S = 1.5  # room noise between the two clips of a joined item
VOICED_WITHIN_DB = 38.0  # a clean frame this close to the clip's loudest frame is voiced
FILL_GAP_MS = 300  # shorter gaps between voiced frames are pauses inside speech
NOISE_SECONDS = 10.0
NOISE_LEVELS_DBFS = (-40.0, -30.0, -20.0)
CLICK_PEAK_DBFS = -10.0

ESPEAK_TAKES = (
    ("en-us", 160, "The quick brown fox jumps over the lazy dog. Then it rests in the shade."),
    ("en+f3", 130, "Please hold the line while I check the schedule for tomorrow morning."),
    ("en-gb+m3", 200, "Seven silver spoons were sitting on the kitchen shelf, next to a bowl of plums."),
    ("en-us+f4", 175, "Could you send me the report before lunch? I would like to read it twice."),
    ("en-gb-scotland", 145, "Rain fell over the hills all afternoon, and nobody went outside."),
)


@dataclass(frozen=True)
class CorpusItem:
    """One evaluation signal and its truth: one bool per whole VAD frame, True = speech."""

    name: str
    samples: np.ndarray  # float32, 16 kHz
    truth: np.ndarray  # bool, len(samples) // frame_length entries


@dataclass(frozen=True)
class Score:
    """How the VAD did on one item; `speech_fraction` is the false-speech rate on noise."""

    name: str
    frames: int
    accuracy: float  # fraction of frames where the VAD agrees with the truth
    speech_fraction: float  # fraction of frames the VAD put inside a speech segment
    truth_fraction: float  # fraction of frames that are speech by the truth


def item_rng(name: str) -> np.random.Generator:
    """The generator for item `name`: fixed by the corpus seed and the name alone."""
    return np.random.default_rng([CORPUS_SEED, zlib.crc32(name.encode())])


def db_to_amplitude(dbfs: float) -> float:
    """Linear amplitude of a level in dB relative to full scale."""
    return float(10.0 ** (dbfs / 20.0))


def frame_levels_db(samples: np.ndarray, frame_length: int) -> np.ndarray:
    """Mean-square level in dB of each whole frame, the same measure the VAD uses."""
    frames = samples[: len(samples) // frame_length * frame_length].astype(np.float64).reshape(-1, frame_length)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _at_rms(x: np.ndarray, rms_dbfs: float) -> np.ndarray:
    """`x` scaled to the given RMS level, as float32."""
    return (x * db_to_amplitude(rms_dbfs) / np.sqrt(np.mean(x**2))).astype(np.float32)


def coloured_noise(seconds: float, rms_dbfs: float, rng: np.random.Generator, slope: float) -> np.ndarray:
    """Gaussian noise whose power falls as f**-slope (0 = white, 1 = pink) from 20 Hz up, at
    `rms_dbfs` RMS. Below 20 Hz there is nothing, as from an audio noise generator or behind
    a sound card's DC-blocking filter; 1/f down to 0.1 Hz would be a slow level drift."""
    n = round(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spectrum[1:] /= freqs[1:] ** (slope / 2.0)
    spectrum[freqs < 20.0] = 0.0
    return _at_rms(np.fft.irfft(spectrum, n), rms_dbfs)


def room_noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """The quiet background of a room: pink noise at `ROOM_NOISE_DBFS`."""
    return coloured_noise(seconds, ROOM_NOISE_DBFS, rng, slope=1.0)


def _band(x: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """`x` through a 4th-order Butterworth band-pass."""
    sos = sps.butter(4, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sps.sosfilt(sos, x)


def keyboard_click(rng: np.random.Generator) -> np.ndarray:
    """One key click: a 5–20 ms band-passed noise burst decaying to under 2 % of its start,
    with its peak within a few dB of `CLICK_PEAK_DBFS`."""
    length = round(rng.uniform(0.005, 0.020) * SAMPLE_RATE)
    burst = _band(rng.standard_normal(length), 800.0, 6000.0) * np.exp(-np.arange(length) / (length / 4.0))
    return burst * db_to_amplitude(CLICK_PEAK_DBFS + rng.uniform(-4.0, 2.0)) / np.max(np.abs(burst))


def click_track(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Keyboard typing over room noise: `keyboard_click`s 80–400 ms apart."""
    out = room_noise(seconds, rng).astype(np.float64)
    t = rng.uniform(0.05, 0.4)
    while t < seconds - 0.05:
        click = keyboard_click(rng)
        start = round(t * SAMPLE_RATE)
        out[start : start + len(click)] += click
        t += rng.uniform(0.08, 0.4)
    return out.astype(np.float32)


def breathing(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Breaths close to the microphone over room noise: band-passed noise swelling in and
    out over 1–2 s, peaking around −30 dBFS, with a short rest between breaths."""
    n = round(seconds * SAMPLE_RATE)
    envelope = np.zeros(n)
    start = round(rng.uniform(0.2, 0.6) * SAMPLE_RATE)
    while start < n:
        length = round(rng.uniform(1.0, 2.0) * SAMPLE_RATE)
        swell = np.sin(np.pi * np.arange(length) / length) ** 2 * db_to_amplitude(rng.uniform(-33.0, -27.0))
        envelope[start : start + length] = swell[: n - start]
        start += length + round(rng.uniform(0.3, 1.0) * SAMPLE_RATE)
    air = _band(rng.standard_normal(n), 300.0, 4000.0)
    breath = air / np.sqrt(np.mean(air**2)) * envelope
    return (room_noise(seconds, rng) + breath).astype(np.float32)


def fan_switching_on(seconds: float, rng: np.random.Generator, on_s: float = 3.0) -> np.ndarray:
    """Room noise, then a desk fan spinning up over 1 s from `on_s`: airflow (pink noise
    low-passed at 1.5 kHz, −30 dBFS) plus a 90 Hz blade hum with four harmonics at −40 dBFS.
    The switch-on is the hard part: until the noise floor catches up, the fan is far louder
    than the room and its hum is periodic."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    lowpass = sps.butter(2, 1500.0, fs=SAMPLE_RATE, output="sos")
    airflow = _at_rms(sps.sosfilt(lowpass, coloured_noise(seconds, -30.0, rng, slope=1.0)), -30.0)
    hum = _at_rms(sum(np.sin(2.0 * np.pi * k * 90.0 * t) / k for k in range(1, 6)), -40.0)
    spin_up = np.clip(t - on_s, 0.0, 1.0)
    return (room_noise(seconds, rng) + (airflow + hum) * spin_up).astype(np.float32)


def vowel_word(seconds: float, f0_hz: float) -> np.ndarray:
    """A synthetic voiced 'word' at −20 dBFS RMS, built as a voice is: a glottal pulse train
    (5 Hz vibrato, −6 dB/octave tilt) through resonators at the formants of /a/, with 30 ms
    fades at both ends."""
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    cycles = np.cumsum(f0_hz * (1.0 + 0.03 * np.sin(2.0 * np.pi * 5.0 * t))) / SAMPLE_RATE
    voiced = sps.lfilter([1.0], [1.0, -0.9], np.diff(np.floor(cycles), prepend=0.0))
    for formant_hz, bandwidth_hz in ((700.0, 90.0), (1220.0, 110.0), (2600.0, 160.0)):
        radius = np.exp(-np.pi * bandwidth_hz / SAMPLE_RATE)
        angle = 2.0 * np.pi * formant_hz / SAMPLE_RATE
        voiced = sps.lfilter([1.0 - radius], [1.0, -2.0 * radius * np.cos(angle), radius**2], voiced)
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.03)
    return _at_rms(voiced * fade, -20.0)


def speech_truth(clean: np.ndarray, frame_length: int) -> np.ndarray:
    """Per-frame truth for clean speech, independent of any VAD.

    A frame is voiced when its mean-square level is within `VOICED_WITHIN_DB` of the
    clip's loudest frame; gaps between voiced frames shorter than `FILL_GAP_MS` are filled,
    because pauses between words and stop closures belong to the utterance (an avatar
    should not close its mouth between words). Frames before the first and after the last
    voiced frame, and longer pauses, are silence.
    """
    levels = frame_levels_db(clean, frame_length)
    voiced = levels > levels.max() - VOICED_WITHIN_DB
    truth = voiced.copy()
    frame_ms = 1000.0 * frame_length / SAMPLE_RATE
    indices = np.flatnonzero(voiced)
    for before, after in zip(indices[:-1], indices[1:]):
        if (after - before - 1) * frame_ms < FILL_GAP_MS:
            truth[before:after] = True
    return truth


def padded_speech_item(name: str, clean: np.ndarray, frame_length: int) -> CorpusItem:
    """Clean speech placed between 1–2 s of room noise on each side (whole frames, so the
    truth of the clean speech shifts by a whole number of frames), room noise under it all."""
    rng = item_rng(name)
    clean = np.concatenate((clean, np.zeros(-len(clean) % frame_length, dtype=np.float32)))
    before, after = (round(rng.uniform(*PAD_SECONDS) * SAMPLE_RATE) // frame_length for _ in range(2))
    total = (before + after) * frame_length + len(clean)
    samples = room_noise(total / SAMPLE_RATE, rng)
    samples[before * frame_length : before * frame_length + len(clean)] += clean
    truth = np.concatenate((np.zeros(before, bool), speech_truth(clean, frame_length), np.zeros(after, bool)))
    return CorpusItem(name=name, samples=samples, truth=truth)


def load_16k(path: Path) -> np.ndarray:
    """An audio file as mono float32 at 16 kHz, through the project's own decoder."""
    decoded = decode_audio_file(path)
    return resample_whole(decoded.samples, decoded.rate)


def real_speech_items(clips: list[Path], frame_length: int) -> list[CorpusItem]:
    """Each real clip padded with room noise, plus the first two joined by a `JOIN_GAP_S` gap."""
    speech = {clip.stem: load_16k(clip) for clip in clips}
    items = [padded_speech_item(stem, clean, frame_length) for stem, clean in speech.items()]
    (first, a), (second, b) = list(speech.items())[:2]
    gap = np.zeros(round(JOIN_GAP_S * SAMPLE_RATE), dtype=np.float32)
    items.append(padded_speech_item(f"{first}+{second}", np.concatenate((a, gap, b)), frame_length))
    return items


def espeak_available() -> bool:
    """Whether the espeak-ng binary is on PATH."""
    return shutil.which("espeak-ng") is not None


def espeak_items(workdir: Path, frame_length: int) -> list[CorpusItem]:
    """Each of `ESPEAK_TAKES` (voice, words per minute, text) spoken by espeak-ng into a
    WAV in `workdir`, read back and padded with room noise."""
    items = []
    for voice, rate, text in ESPEAK_TAKES:
        wav = workdir / f"espeak-{voice}-{rate}.wav"
        command = ["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text]
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        items.append(padded_speech_item(f"espeak {voice} -s {rate}", load_16k(wav), frame_length))
    return items


def noise_items(frame_length: int) -> list[CorpusItem]:
    """Non-speech inputs, `NOISE_SECONDS` each, all with all-silence truth."""
    signals = {"digital silence": np.zeros(round(NOISE_SECONDS * SAMPLE_RATE), dtype=np.float32)}
    signals["room noise"] = room_noise(NOISE_SECONDS, item_rng("room noise"))
    for colour, slope in (("white", 0.0), ("pink", 1.0)):
        for level in NOISE_LEVELS_DBFS:
            name = f"{colour} noise {level:.0f} dBFS"
            signals[name] = coloured_noise(NOISE_SECONDS, level, item_rng(name), slope)
    signals["keyboard clicks"] = click_track(NOISE_SECONDS, item_rng("keyboard clicks"))
    signals["breathing"] = breathing(NOISE_SECONDS, item_rng("breathing"))
    signals["fan switching on"] = fan_switching_on(NOISE_SECONDS, item_rng("fan switching on"))
    return [
        CorpusItem(name=name, samples=samples, truth=np.zeros(len(samples) // frame_length, bool))
        for name, samples in signals.items()
    ]


def feed_in_pieces(vad: StreamingVad, samples: np.ndarray, rng: np.random.Generator) -> None:
    """Feed `samples` in uneven pieces around the capture block size (half to one and a half
    blocks), as a live front end behind a resampler delivers them."""
    block = SAMPLE_RATE * CAPTURE_BLOCK_MS // 1000
    pos = 0
    while pos < len(samples):
        size = int(rng.integers(block // 2, block * 3 // 2 + 1))
        vad.process(samples[pos : pos + size])
        pos += size


def segments_to_frames(segments: Iterable[list[float]], n_frames: int, frame_ms: int) -> np.ndarray:
    """Per-frame labels from [start_s, end_s] segments; their ends fall on frame edges."""
    labels = np.zeros(n_frames, bool)
    frame_s = frame_ms / 1000.0
    for start_s, end_s in segments:
        labels[round(start_s / frame_s) : round(end_s / frame_s)] = True
    return labels


def vad_labels(samples: np.ndarray, config: VadConfig, rng: np.random.Generator) -> np.ndarray:
    """The VAD's per-frame verdict: frames inside the segments `finish()` reports, which
    back-date each onset to the first candidate of its onset run."""
    vad = StreamingVad(config)
    feed_in_pieces(vad, samples, rng)
    return segments_to_frames(vad.finish(), len(samples) // config.frame_length, config.frame_ms)


def score(item: CorpusItem, config: VadConfig) -> Score:
    """Run the VAD over `item` and compare its frames with the truth."""
    labels = vad_labels(item.samples, config, item_rng(f"{item.name} pieces"))
    return Score(
        name=item.name,
        frames=len(item.truth),
        accuracy=float(np.mean(labels == item.truth)),
        speech_fraction=float(np.mean(labels)),
        truth_fraction=float(np.mean(item.truth)),
    )
