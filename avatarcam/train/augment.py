"""Audio degradations that a webcam microphone adds to a voice — noise, room reverb,
level changes, a telephone-like band, mains hum — so a model trained on clean synthetic
speech still hears real speech; every random choice comes from the caller's generator."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, fftconvolve, sosfilt

from avatarcam.constants import SAMPLE_RATE

Audio = npt.NDArray[np.float32]

NOISE_KINDS = ("white", "pink", "babble")
SNR_DB = (5.0, 30.0)
NOISE_CHANCE = 0.7
REVERB_CHANCE = 0.35
RT60_S = (0.15, 0.8)
REVERB_WET = (0.2, 0.7)  # reverberant energy relative to the direct sound
TELEPHONE_CHANCE = 0.15
TELEPHONE_BAND_HZ = (300.0, 3400.0)
HUM_CHANCE = 0.15
HUM_HZ = (50.0, 60.0)
HUM_HARMONICS = 5
HUM_LEVEL_DB = (-40.0, -20.0)  # relative to the speech level
GAIN_DB = (-20.0, 6.0)
PEAK_LIMIT = 0.99
BABBLE_TALKERS = 6
BABBLE_SYLLABLE_HZ = (3.0, 6.0)
BABBLE_BAND_HZ = (200.0, 3000.0)


@dataclass(frozen=True)
class Augmentation:
    """The degradations chosen for one item; None where one is not applied."""

    noise: str | None
    snr_db: float | None
    rt60_s: float | None
    reverb_wet: float | None
    telephone: bool
    hum_hz: float | None
    hum_level_db: float | None
    gain_db: float

    def describe(self) -> dict[str, object]:
        """The applied degradations only, for the manifest."""
        return {key: value for key, value in asdict(self).items() if value not in (None, False)}


def choose(rng: np.random.Generator) -> Augmentation:
    """A random set of degradations, each applied with its own chance."""
    noisy = rng.uniform() < NOISE_CHANCE
    reverb = rng.uniform() < REVERB_CHANCE
    hum = rng.uniform() < HUM_CHANCE
    return Augmentation(
        noise=str(rng.choice(NOISE_KINDS)) if noisy else None,
        snr_db=round(float(rng.uniform(*SNR_DB)), 2) if noisy else None,
        rt60_s=round(float(rng.uniform(*RT60_S)), 3) if reverb else None,
        reverb_wet=round(float(rng.uniform(*REVERB_WET)), 3) if reverb else None,
        telephone=bool(rng.uniform() < TELEPHONE_CHANCE),
        hum_hz=float(rng.choice(HUM_HZ)) if hum else None,
        hum_level_db=round(float(rng.uniform(*HUM_LEVEL_DB)), 2) if hum else None,
        gain_db=round(float(rng.uniform(*GAIN_DB)), 2),
    )


def speech_power(samples: Audio, speech: npt.NDArray[np.bool_]) -> float:
    """Mean power over the samples marked as speech (the whole signal if none are)."""
    part = samples[speech] if np.any(speech) else samples
    return float(np.mean(np.square(part, dtype=np.float64)))


def _shaped_noise(rng: np.random.Generator, count: int, exponent: float) -> npt.NDArray[np.float64]:
    """Gaussian noise with power falling as 1/f**exponent (0 white, 1 pink)."""
    spectrum = np.fft.rfft(rng.standard_normal(count))
    freqs = np.maximum(np.fft.rfftfreq(count, 1.0 / SAMPLE_RATE), 1.0)
    return np.fft.irfft(spectrum / freqs ** (exponent / 2.0), n=count)


def _babble(rng: np.random.Generator, count: int) -> npt.NDArray[np.float64]:
    """Speech-like crowd noise: band-limited pink noise from several 'talkers', each
    switched on and off at a syllable rate."""
    band = butter(4, BABBLE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")
    t = np.arange(count) / SAMPLE_RATE
    crowd = np.zeros(count)
    for _ in range(BABBLE_TALKERS):
        rate = rng.uniform(*BABBLE_SYLLABLE_HZ)
        envelope = np.maximum(0.0, np.sin(2.0 * np.pi * rate * t + rng.uniform(0.0, 2.0 * np.pi)))
        crowd += envelope * sosfilt(band, _shaped_noise(rng, count, 1.0))
    return crowd


def noise(kind: str, rng: np.random.Generator, count: int) -> npt.NDArray[np.float64]:
    """`count` samples of `kind` noise (one of `NOISE_KINDS`), unit-free."""
    if kind == "babble":
        return _babble(rng, count)
    return _shaped_noise(rng, count, 0.0 if kind == "white" else 1.0)


def add_noise(samples: Audio, speech: npt.NDArray[np.bool_], kind: str, snr_db: float,
              rng: np.random.Generator) -> Audio:
    """`samples` plus `kind` noise whose power is `snr_db` below the speech's."""
    added = noise(kind, rng, samples.size)
    scale = np.sqrt(speech_power(samples, speech) / 10.0 ** (snr_db / 10.0) / np.mean(added**2))
    return (samples + scale * added).astype(np.float32)


def reverb(samples: Audio, rt60_s: float, wet: float, rng: np.random.Generator) -> Audio:
    """`samples` in a room: the direct sound plus an exponentially decaying noise tail
    (60 dB down after `rt60_s`), at the original level."""
    t = np.arange(int(rt60_s * SAMPLE_RATE)) / SAMPLE_RATE
    tail = rng.standard_normal(t.size) * np.exp(-3.0 * np.log(10.0) * t / rt60_s)
    tail *= np.sqrt(wet / np.sum(tail**2))
    tail[0] = 1.0
    out = fftconvolve(samples, tail)[: samples.size]
    level = np.sqrt(np.mean(samples**2) / max(float(np.mean(out**2)), 1e-20))
    return (out * level).astype(np.float32)


def telephone(samples: Audio) -> Audio:
    """`samples` limited to the 300–3400 Hz telephone band."""
    band = butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(band, samples).astype(np.float32)


def add_hum(samples: Audio, speech: npt.NDArray[np.bool_], hum_hz: float, level_db: float) -> Audio:
    """`samples` plus mains hum at `hum_hz` and its harmonics, `level_db` below the speech."""
    t = np.arange(samples.size) / SAMPLE_RATE
    hum = sum(np.sin(2.0 * np.pi * k * hum_hz * t) / k for k in range(1, HUM_HARMONICS + 1))
    scale = np.sqrt(speech_power(samples, speech) * 10.0 ** (level_db / 10.0) / np.mean(hum**2))
    return (samples + scale * hum).astype(np.float32)


def apply(samples: Audio, speech: npt.NDArray[np.bool_], chosen: Augmentation,
          rng: np.random.Generator) -> Audio:
    """`samples` degraded as `chosen` says, in the order a real chain adds them (room,
    line, hum, background noise, level), never clipping."""
    out = samples
    if chosen.rt60_s is not None and chosen.reverb_wet is not None:
        out = reverb(out, chosen.rt60_s, chosen.reverb_wet, rng)
    if chosen.telephone:
        out = telephone(out)
    if chosen.hum_hz is not None and chosen.hum_level_db is not None:
        out = add_hum(out, speech, chosen.hum_hz, chosen.hum_level_db)
    if chosen.noise is not None and chosen.snr_db is not None:
        out = add_noise(out, speech, chosen.noise, chosen.snr_db, rng)
    out = out * np.float32(10.0 ** (chosen.gain_db / 20.0))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return (out * min(1.0, PEAK_LIMIT / peak) if peak > 0 else out).astype(np.float32)
