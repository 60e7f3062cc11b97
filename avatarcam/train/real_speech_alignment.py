"""Phone timings for a real recording from its transcript, with nothing downloaded: the
transcript is spoken by espeak-ng (whose phoneme events time every phone), both signals
are described by cepstra of the project's own log-mel features, and dynamic time warping
carries the synthetic phone boundaries onto the real voice. Silence before, after and
inside the real speech (pauses) is found by energy and kept out of the warp.

The lip-sync evaluation needs this because real clips come with text, not with timings,
and the mouth targets of a real clip are the viseme targets of its aligned phones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.fft import dct
from scipy.spatial.distance import cdist

from avatarcam.audio.features import log_mel
from avatarcam.constants import FEATURES_PER_SECOND, SAMPLE_RATE, WIN_LENGTH
from avatarcam.motion.loudness_baseline import BLOCK_S, block_levels
from avatarcam.train.espeak_synth import engine
from avatarcam.train.phonemes import SILENCE, Phone, merge_silences
from avatarcam.train.speech import NOMINAL_WPM, Style

VOICE = "en-us"
PITCH = 0.5  # Style.pitch for the reference voice
WPM_RANGE = (80, 400)  # rates espeak-ng speaks intelligibly
CEPSTRA = 14  # c0..c13 of the log-mel spectrum, with their slopes over time
SPEECH_BELOW_PEAK_DB = 35.0  # blocks this far below the loudest block still count as speech
SPEECH_ABOVE_FLOOR_DB = 10.0  # ... but never closer than this to the quietest blocks
FLOOR_PERCENTILE = 5.0
PAUSE_MIN_S = 0.2  # quiet stretches inside speech at least this long are pauses (stop closures are shorter)
FRAME_OFFSET_S = WIN_LENGTH / 2 / SAMPLE_RATE  # a feature frame's centre after its start


@dataclass(frozen=True)
class Speech:
    """Where a recording speaks: from its first to its last loud 10 ms block, with the
    pauses in between, all in seconds."""

    start: float
    end: float
    pauses: tuple[tuple[float, float], ...]

    def spoken(self, times: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """True at the times that lie in the speech and outside its pauses."""
        inside = (times >= self.start) & (times <= self.end)
        for start, end in self.pauses:
            inside &= (times < start) | (times >= end)
        return inside


def find_speech(samples16k: npt.ArrayLike) -> Speech:
    """The speech in a recording, found by energy: leading and trailing silence cut off and
    inner silences of at least PAUSE_MIN_S marked as pauses."""
    levels = block_levels(samples16k)
    if levels.size == 0:
        raise ValueError("the signal is shorter than one 10 ms block")
    floor = float(np.percentile(levels, FLOOR_PERCENTILE))
    loud = levels >= max(levels.max() - SPEECH_BELOW_PEAK_DB, floor + SPEECH_ABOVE_FLOOR_DB)
    if not loud.any():  # a flat signal: no quieter surroundings to trim
        return Speech(0.0, levels.size * BLOCK_S, ())
    first, last = np.flatnonzero(loud)[[0, -1]]
    edges = np.flatnonzero(np.diff(loud[first:last + 1].astype(np.int8))) + first + 1
    pauses = tuple((start * BLOCK_S, end * BLOCK_S) for start, end in zip(edges[::2], edges[1::2])
                   if (end - start) * BLOCK_S >= PAUSE_MIN_S)
    return Speech(first * BLOCK_S, (last + 1) * BLOCK_S, pauses)


def cepstra(samples16k: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Mel cepstra and their deltas per 10 ms feature frame, normalised to zero mean and
    unit variance over the utterance, so two voices and two recording chains compare by
    the shape and movement of their spectra rather than by level or timbre."""
    spectra = log_mel(np.asarray(samples16k, dtype=np.float32)).astype(np.float64)
    coefficients = dct(spectra, type=2, norm="ortho", axis=1)[:, :CEPSTRA]
    features = np.hstack((coefficients, np.gradient(coefficients, axis=0)))
    return (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-9)


def dtw_path(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """The cheapest monotone path from cell (0, 0) to the last cell of `cost`, as (i, j)
    rows, whose local slope lies between 1/2 and 2 (symmetric steps (1,1), (1,2), (2,1)),
    so neither signal is stretched past twice or squeezed below half its pace."""
    n, m = cost.shape
    total = np.full((n, m), np.inf)
    move = np.zeros((n, m), dtype=np.int8)  # 0: (1,1), 1: (2,1), 2: (1,2)
    total[0, 0] = 2.0 * cost[0, 0]
    for i in range(1, n):
        options = np.full((3, m), np.inf)
        options[0, 1:] = total[i - 1, :-1] + 2.0 * cost[i, 1:]
        if i >= 2:
            options[1, 1:] = total[i - 2, :-1] + 2.0 * cost[i - 1, 1:] + cost[i, 1:]
        options[2, 2:] = total[i - 1, :-2] + 2.0 * cost[i, 1:-1] + cost[i, 2:]
        move[i] = np.argmin(options, axis=0)
        total[i] = options[move[i], np.arange(m)]
    if not np.isfinite(total[-1, -1]):
        raise ValueError(f"no path with slope 1/2..2 joins {n} and {m} frames")
    path = [(n - 1, m - 1)]
    i, j = n - 1, m - 1
    while (i, j) != (0, 0):
        step = move[i, j]
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            path.append((i - 1, j))
            i, j = i - 2, j - 1
        else:
            path.append((i, j - 1))
            i, j = i - 1, j - 2
        path.append((i, j))
    return np.array(path[::-1], dtype=np.int64)


def _warp(path: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The path as a monotone map from synthetic to real frame index: each synthetic frame
    goes to the mean of the real frames it is paired with."""
    synthetic = np.unique(path[:, 0])
    real = np.array([path[path[:, 0] == i, 1].mean() for i in synthetic])
    return synthetic.astype(np.float64), real


def _phrases(kept: npt.NDArray[np.int64]) -> list[slice]:
    """The runs of consecutive frame indices in `kept` (phrases between pauses), as slices of it."""
    breaks = [0, *(np.flatnonzero(np.diff(kept) > 1) + 1).tolist(), kept.size]
    return [slice(start, end) for start, end in zip(breaks[:-1], breaks[1:])]


def _warp_by_phrases(synth: npt.NDArray[np.float64], synth_kept: npt.NDArray[np.int64],
                     real: npt.NDArray[np.float64], real_kept: npt.NDArray[np.int64]
                     ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The warp from synthetic to real voiced frames (indices into the kept frames): phrase
    by phrase when both have as many phrases and each pair can be warped, else as a whole."""
    pairs = list(zip(_phrases(synth_kept), _phrases(real_kept)))
    if len(pairs) > 1 and len(_phrases(synth_kept)) == len(_phrases(real_kept)):
        try:
            warps = [_warp(dtw_path(cdist(synth[s], real[r]))) for s, r in pairs]
        except ValueError:  # a phrase pair too unequal in length for the slope limits
            pass
        else:
            return (np.concatenate([w[0] + s.start for w, (s, _) in zip(warps, pairs)]),
                    np.concatenate([w[1] + r.start for w, (_, r) in zip(warps, pairs)]))
    return _warp(dtw_path(cdist(synth, real)))


def _spoken(transcript: str, rate_wpm: int) -> tuple[npt.NDArray[np.float32], list[Phone], Speech]:
    """The transcript in the reference voice at `rate_wpm`: samples, phones, and where it
    speaks, with its pauses where espeak-ng placed silence (however short) rather than
    found by energy."""
    said = engine().speak(transcript, VOICE, Style(rate_wpm, PITCH, 1.0))
    found = find_speech(said.samples)
    pauses = tuple((p.start, p.end) for p in said.phones
                   if p.name == SILENCE and found.start < p.start and p.end < found.end)
    return said.samples, list(said.phones), Speech(found.start, found.end, pauses)


def _rate_matching(transcript: str, real_seconds: float) -> tuple[npt.NDArray[np.float32], list[Phone], Speech]:
    """The transcript spoken at the rate that makes its speech (pauses left out) last as
    long as the real recording's, so the warp only has to absorb local differences of pace."""
    nominal = _spoken(transcript, NOMINAL_WPM)[2]
    rate = int(np.clip(round(NOMINAL_WPM * _voiced_seconds(nominal) / real_seconds), *WPM_RANGE))
    return _spoken(transcript, rate)


def _voiced_seconds(speech: Speech) -> float:
    """How long the speech lasts without its pauses."""
    return speech.end - speech.start - sum(end - start for start, end in speech.pauses)


def _voiced_frames(samples16k: npt.NDArray[np.float32], speech: Speech
                   ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Cepstra of the frames whose centres lie in the speech outside its pauses, and
    their frame indices."""
    features = cepstra(samples16k)
    kept = np.flatnonzero(speech.spoken(np.arange(len(features)) / FEATURES_PER_SECOND + FRAME_OFFSET_S))
    if kept.size == 0:
        raise ValueError("no speech was found in the recording")
    return features[kept], kept


def align_transcript(samples16k: npt.ArrayLike, transcript: str) -> list[Phone]:
    """Phones of `transcript` on the time axis of the real 16 kHz recording `samples16k`,
    covering it end to end: silence before, after and in the pauses of the speech found
    by energy, and the synthetic phones warped onto the speech between.

    Both signals are warped without their pauses, so a pause one speaker makes and the
    other does not cannot drag words into it; where both pause equally often, the pauses
    are taken to be the same and each phrase is warped onto its counterpart.
    """
    real = np.asarray(samples16k, dtype=np.float32)
    speech = find_speech(real)
    real_features, real_kept = _voiced_frames(real, speech)
    synthetic, phones, synth_speech = _rate_matching(transcript, _voiced_seconds(speech))
    synth_features, synth_kept = _voiced_frames(synthetic, synth_speech)
    synth_steps, real_steps = _warp_by_phrases(synth_features, synth_kept, real_features, real_kept)

    def to_real(t: float) -> float:
        frame = (t - FRAME_OFFSET_S) * FEATURES_PER_SECOND
        step = np.interp(np.interp(frame, synth_kept, np.arange(synth_kept.size)), synth_steps, real_steps)
        warped = np.interp(step, np.arange(real_kept.size), real_kept) / FEATURES_PER_SECOND + FRAME_OFFSET_S
        return float(np.clip(warped, speech.start, speech.end))

    mapped = [Phone(SILENCE, 0.0, speech.start)]
    for phone in phones:
        if phone.name == SILENCE or phone.end <= synth_speech.start or phone.start >= synth_speech.end:
            continue
        start, end = to_real(phone.start), to_real(phone.end)
        if end > start:
            mapped.append(Phone(phone.name, start, end))
    mapped.append(Phone(SILENCE, speech.end, real.size / SAMPLE_RATE))
    return merge_silences(_fill_gaps(_carve_pauses(mapped, speech.pauses)))


def _carve_pauses(phones: Sequence[Phone], pauses: Sequence[tuple[float, float]]) -> list[Phone]:
    """`phones` with every pause made silence: phones reaching into a pause are cut back to
    its edges, a phone spanning one keeps only its longer side, and phones inside are dropped."""
    out = list(phones)
    for start, end in pauses:
        kept = [Phone(SILENCE, start, end)]
        for phone in out:
            pieces = [piece for piece in (Phone(phone.name, phone.start, min(phone.end, start)),
                                          Phone(phone.name, max(phone.start, end), phone.end))
                      if piece.end > piece.start]
            kept += pieces if len(pieces) < 2 else [max(pieces, key=lambda piece: piece.end - piece.start)]
        out = sorted(kept, key=lambda phone: phone.start)
    return out


def _fill_gaps(phones: Sequence[Phone]) -> list[Phone]:
    """Phones end to end: a gap (where the synthetic voice paused) becomes silence."""
    out: list[Phone] = []
    for phone in phones:
        if out and phone.start > out[-1].end:
            out.append(Phone(SILENCE, out[-1].end, phone.start))
        out.append(phone)
    return out
