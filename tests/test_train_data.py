"""The training-corpus generator: synthesizer timings, viseme and motion targets,
augmentation, the held-out split, determinism and the `train data` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avatarcam.cli.main import build_parser
from avatarcam.constants import MOTION_FPS, SAMPLE_RATE
from avatarcam.motion.motion_io import read_csv
from avatarcam.motion.space import LOWER_BOUNDS, UPPER_BOUNDS, index_of
from avatarcam.train import augment, corpus, espeak_synth, festival_synth, flite_synth, speech
from avatarcam.train.blinks import eyelid_track, schedule
from avatarcam.train.phonemes import BILABIALS, PHONEMES, SILENCE, VOWELS, Phone, from_espeak
from avatarcam.train.synthesizers import HELD_OUT_SYNTH, HELD_OUT_VOICES, speak
from avatarcam.train.visemes import MOUTH_FIELDS, VISEMES, mouth_targets

TEXT = "Maybe the blue moon will rise above the boat, my happy friend. Please bring the map."
STYLE = speech.Style(rate_wpm=160, pitch=0.5, loudness=1.0)
JAW, PRESS, ROUND = index_of("jaw_open"), index_of("lip_press"), index_of("mouth_round")


def _one(synth: str, voice: str) -> speech.SpokenText:
    return speak(synth, voice, [TEXT], [STYLE])[0]


@pytest.fixture(scope="module")
def spoken() -> dict[str, speech.SpokenText]:
    """The same sentence from each synthesizer."""
    return {"espeak": _one("espeak", "en-us"), "flite": _one("flite", "kal16"),
            "festival": _one("festival", "kal_diphone")}


@pytest.fixture(scope="module")
def items() -> list[corpus.Item]:
    """A few minutes of generated items (clean audio, phones, targets)."""
    return [corpus.make_item(plan) for plan in corpus.plan(0.05, seed=11)]


@pytest.mark.parametrize("synth", ["espeak", "flite", "festival"])
def test_phone_timings_are_monotonic_and_cover_the_audio(
    spoken: dict[str, speech.SpokenText], synth: str
) -> None:
    said = spoken[synth]
    starts = np.array([p.start for p in said.phones])
    ends = np.array([p.end for p in said.phones])
    assert starts[0] == 0.0 and ends[-1] == pytest.approx(said.duration, abs=1e-6)
    assert np.all(ends > starts) and np.allclose(starts[1:], ends[:-1])
    assert sum(p.name in VOWELS for p in said.phones) >= 15
    assert {p.name for p in said.phones} >= {"m", "b", "uw"}


def test_espeak_phoneme_events_line_up_with_the_audio(spoken: dict[str, speech.SpokenText]) -> None:
    said = spoken["espeak"]
    def level(phone: Phone) -> float:
        part = said.samples[int(phone.start * SAMPLE_RATE):int(phone.end * SAMPLE_RATE)]
        return float(np.sqrt(np.mean(part**2)))
    vowels = [level(p) for p in said.phones if p.name in VOWELS]
    pauses = [level(p) for p in said.phones if p.name == SILENCE and p.end - p.start > 0.05]
    assert np.median(vowels) > 0.05 and np.mean(np.array(vowels) > 0.02) > 0.95
    assert pauses and max(pauses) < 0.2 * np.median(vowels)


def test_espeak_names_map_through_accent_suffixes() -> None:
    assert from_espeak("@2") == "ah" and from_espeak("l/2") == "l" and from_espeak("aI@3") == "ay"


def test_missing_synthesizer_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech.shutil, "which", lambda _: None)
    expected = "flite is not installed.*install/system-packages.sh"
    with pytest.raises(speech.SynthesizerMissingError, match=expected):
        flite_synth.speak("hello", "kal16", STYLE)
    with pytest.raises(speech.SynthesizerMissingError, match="festival is not installed"):
        festival_synth.speak_batch(["hello"], "kal_diphone", [STYLE])


def test_visemes_close_lips_on_bilabials_and_shape_vowels(items: list[corpus.Item]) -> None:
    for made in items:
        frames = made.targets.track.frames
        for phone in made.phones:
            frame = min(round(phone.centre * MOTION_FPS), len(frames) - 1)
            if phone.name in BILABIALS:
                assert frames[frame, JAW] < 0.1 and frames[frame, PRESS] > 0.5, (made.entry["voice"], phone)
    phones = [Phone(SILENCE, 0.0, 0.5), Phone("aa", 0.5, 0.7), Phone("t", 0.7, 0.75), Phone("iy", 0.75, 0.95),
              Phone("k", 0.95, 1.0), Phone("uw", 1.0, 1.2), Phone(SILENCE, 1.2, 2.0)]
    mouth = mouth_targets(phones, np.array([0.6, 0.85, 1.1]))
    open_vowel, spread, rounded = mouth
    assert open_vowel[0] > spread[0] + 0.2 and open_vowel[0] > rounded[0] + 0.2
    assert rounded[3] > 0.6 and spread[2] > 0.5


def test_every_syllable_gets_a_jaw_cycle_even_at_fast_rates() -> None:
    vowel_jaws = [VISEMES[name][0] for name in VOWELS]
    consonant_jaws = [VISEMES[name][0] for name in PHONEMES - VOWELS - {SILENCE}]
    assert max(consonant_jaws) <= min(vowel_jaws)
    # close vowels after alveolars at 120 ms a syllable (about 220 words/min)
    names = ["t", "iy", "t", "ih", "s", "iy", "n", "uw", "d", "iy"]
    phones = [Phone(SILENCE, 0.0, 0.3)] + [Phone(n, 0.3 + 0.06 * i, 0.36 + 0.06 * i) for i, n in enumerate(names)]
    times = np.arange(0.0, 0.9, 0.005)
    jaw = mouth_targets(phones, times)[:, MOUTH_FIELDS.index("jaw_open")]
    vowel_centres = [np.argmin(np.abs(times - p.centre)) for p in phones if p.name in VOWELS]
    for before, after in zip(vowel_centres, vowel_centres[1:]):
        assert min(jaw[before], jaw[after]) - jaw[before:after].min() >= 0.05


def test_silence_closes_the_mouth_and_fields_stay_in_bounds(items: list[corpus.Item]) -> None:
    for made in items:
        frames = made.targets.track.frames
        times = made.targets.track.times
        assert np.all(frames >= LOWER_BOUNDS) and np.all(frames <= UPPER_BOUNDS)
        for phone in made.phones:
            if phone.name == SILENCE and phone.end - phone.start >= 0.5:
                inside = (times >= phone.start + 0.2) & (times <= phone.end - 0.2)
                assert np.all(frames[inside, JAW] < 0.05)
        vad = made.targets.vad
        assert set(np.unique(vad)) <= {0.0, 1.0} and 0.2 < vad.mean() < 0.95


def test_blink_rate_and_durations() -> None:
    rng = np.random.default_rng(5)
    minutes = 4.0
    blinks = schedule(minutes * 60.0, [float(t) for t in np.arange(3.0, 240.0, 6.0)], rng)
    closure = eyelid_track(blinks, int(minutes * 60 * MOTION_FPS))
    closings = np.count_nonzero((closure[1:] > 0.5) & (closure[:-1] <= 0.5))
    assert 8 <= closings / minutes <= 25
    assert all(0.1 <= b.duration <= 0.3 for b in blinks)


@pytest.mark.parametrize("kind", augment.NOISE_KINDS)
def test_noise_lands_at_the_requested_snr(kind: str) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    clean = (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 1.0)).astype(np.float32)
    speech_mask = t > 1.0
    noisy = augment.add_noise(clean, speech_mask, kind, 12.0, rng)
    measured = 10 * np.log10(augment.speech_power(clean, speech_mask) / np.mean((noisy - clean) ** 2))
    assert measured == pytest.approx(12.0, abs=0.2)


def test_augmentations_keep_length_and_do_not_clip() -> None:
    rng = np.random.default_rng(2)
    clean = (0.5 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    mask = np.ones(clean.size, dtype=bool)
    chosen = augment.Augmentation("pink", 10.0, 0.4, 0.5, True, 50.0, -25.0, 6.0)
    out = augment.apply(clean, mask, chosen, rng)
    assert out.shape == clean.shape and np.max(np.abs(out)) <= augment.PEAK_LIMIT + 1e-6


def test_held_out_split_holds_only_held_out_voices() -> None:
    plans = corpus.plan(2.0, seed=3)
    held = [p for p in plans if p.split == "heldout"]
    assert held and len(held) < len(plans) / 2
    for p in plans:
        out = p.synth == HELD_OUT_SYNTH or p.voice in HELD_OUT_VOICES.get(p.synth, ())
        assert (p.split == "heldout") == out
    assert all(p.synth != HELD_OUT_SYNTH for p in plans if p.split == "train")


def _run_train_data(out: Path, seed: int, workers: int) -> int:
    args = build_parser("train").parse_args(["train", "data", "--out", str(out), "--hours", "0.01",
                              "--seed", str(seed), "--workers", str(workers)])
    return int(args.handler(args))


def test_train_data_end_to_end_and_deterministic(tmp_path: Path) -> None:
    assert _run_train_data(tmp_path / "a", seed=4, workers=2) == 0
    assert _run_train_data(tmp_path / "b", seed=4, workers=1) == 0
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["items"]
    for entry in manifest["items"]:
        track, extras = read_csv(tmp_path / "a" / entry["motion"])
        wav = (tmp_path / "a" / entry["audio"])
        assert wav.stat().st_size > 0 and set(extras) == {"vad"}
        assert len(track.times) == round(entry["duration_s"] * MOTION_FPS)
        for name in ("audio", "motion"):
            assert (tmp_path / "a" / entry[name]).read_bytes() == (tmp_path / "b" / entry[name]).read_bytes()
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()


def test_espeak_voices_all_load() -> None:
    for voice in espeak_synth.VOICES:
        assert espeak_synth.engine().speak("Hello.", voice, STYLE).duration > 0.2


def test_espeak_voiceless_stops_start_at_their_closure() -> None:
    """espeak-ng reports p/t/k at the burst; the phone must start where the lips shut, i.e.
    in the silent closure before the burst, so the first 20 ms of each is (near) silent."""
    spoken = espeak_synth.engine().speak("A paper tip, a top kit.", "en-us", STYLE)
    stops = [p for p in spoken.phones if p.name in ("p", "t", "k") and p.start > 0.05]
    assert len(stops) >= 5
    for phone in stops:
        head = spoken.samples[round(phone.start * SAMPLE_RATE):round((phone.start + 0.02) * SAMPLE_RATE)]
        assert np.abs(head).max() < 0.01, phone
