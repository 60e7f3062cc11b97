"""Figures that describe generated motion: how it behaves on silence, and whether chunks join
without seams. Tests assert on them and the model card reports them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatarcam.constants import MOTION_FPS
from avatarcam.motion.space import field_mask

Frames = npt.NDArray[np.float32]

SETTLE_S = 0.2  # idle figures ignore the first 200 ms of a stream
JAW_CLOSED = 0.05  # jaw_open below this counts as a closed mouth
BLINK_PEAK = 0.5  # a blink closes the eyelids at least this far
BLINK_EDGE = 0.1  # a blink lasts while the eyelids are closed more than this
SWAY_FIELDS = ("yaw", "pitch", "roll")
LOOP_MAX_LAG_S = 60.0  # repetition is looked for at lags up to this


@dataclass(frozen=True)
class IdleFigures:
    """How a face behaves over a stretch of silence."""

    seconds: float  # length judged (after SETTLE_S)
    jaw_closed_share: float  # frames with jaw_open < JAW_CLOSED
    blinks_per_minute: float
    blink_durations_s: tuple[float, ...]  # each blink's time above BLINK_EDGE closure
    sway_std_deg: dict[str, float]  # per head rotation, standard deviation
    breathing_ty_std: float  # vertical head shift std (face heights)
    loop_autocorrelation: float  # highest head-rotation autocorrelation past its first dip


def _column(frames: Frames, name: str) -> npt.NDArray[np.float64]:
    """One field over time."""
    return frames[:, field_mask([name]).nonzero()[0][0]].astype(np.float64)


def _crossing(values: npt.NDArray[np.float64], i: int, level: float) -> float:
    """Fractional frame where the signal crosses `level` between frames i and i + 1."""
    a, b = values[i], values[i + 1]
    return i + (level - a) / (b - a) if b != a else float(i)


def blink_durations(eyelids: npt.NDArray[np.float64]) -> list[float]:
    """Seconds each blink (a run above BLINK_EDGE that peaks above BLINK_PEAK) lasts,
    with crossing times interpolated between frames."""
    above = np.concatenate(([False], eyelids > BLINK_EDGE, [False]))
    starts = np.flatnonzero(~above[:-1] & above[1:])
    ends = np.flatnonzero(above[:-1] & ~above[1:])
    durations = []
    for start, end in zip(starts, ends):
        if eyelids[start:end].max() < BLINK_PEAK or start == 0 or end == len(eyelids):
            continue
        rise = _crossing(eyelids, start - 1, BLINK_EDGE)
        fall = _crossing(eyelids, end - 1, BLINK_EDGE)
        durations.append((fall - rise) / MOTION_FPS)
    return durations


def loop_autocorrelation(signal: npt.NDArray[np.float64]) -> float:
    """The highest normalised autocorrelation of `signal` at lags past its first fall below
    zero, up to LOOP_MAX_LAG_S: near 1 for motion that repeats, low for motion that wanders."""
    centred = signal - signal.mean()
    if not np.any(centred):
        return 0.0
    max_lag = min(len(centred) // 2, int(LOOP_MAX_LAG_S * MOTION_FPS))
    corr = np.array([np.corrcoef(centred[:-lag], centred[lag:])[0, 1] for lag in range(1, max_lag + 1)])
    corr = np.nan_to_num(corr)
    below = np.flatnonzero(corr < 0.0)
    return float(corr[below[0]:].max()) if below.size else float(corr[-1])


def idle_figures(frames: Frames) -> IdleFigures:
    """Idle figures of motion made on silence (frames at MOTION_FPS from the stream start)."""
    settled = np.asarray(frames, np.float32)[int(round(SETTLE_S * MOTION_FPS)):]
    seconds = len(settled) / MOTION_FPS
    eyelids = 0.5 * (_column(settled, "blink_l") + _column(settled, "blink_r"))
    durations = blink_durations(eyelids)
    return IdleFigures(
        seconds=seconds,
        jaw_closed_share=float(np.mean(_column(settled, "jaw_open") < JAW_CLOSED)),
        blinks_per_minute=len(durations) * 60.0 / seconds,
        blink_durations_s=tuple(round(d, 3) for d in durations),
        sway_std_deg={name: float(np.std(_column(settled, name))) for name in SWAY_FIELDS},
        breathing_ty_std=float(np.std(_column(settled, "ty"))),
        loop_autocorrelation=max(loop_autocorrelation(_column(settled, name)) for name in SWAY_FIELDS),
    )


@dataclass(frozen=True)
class SeamFigures:
    """Frame-to-frame jumps across chunk borders against those inside chunks."""

    border_p99: float
    within_p99: float
    border_mean: float
    within_mean: float
    borders: int  # jumps counted at borders
    withins: int  # jumps counted inside chunks


def frame_jumps(frames: Frames, scale: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Size of each frame-to-frame change, fields divided by `scale` (e.g. the model's std)."""
    steps = np.diff(np.asarray(frames, np.float64), axis=0) / np.asarray(scale, np.float64)
    return np.linalg.norm(steps, axis=1)


def seam_figures(jumps_per_track: list[npt.NDArray[np.float64]], chunk_frames: int) -> SeamFigures:
    """Split the jumps of tracks made in chunks of `chunk_frames` into border and inside."""
    border, within = [], []
    for jumps in jumps_per_track:
        into = np.arange(1, len(jumps) + 1)  # jump i leads into frame i + 1
        at_border = into % chunk_frames == 0
        border.append(jumps[at_border])
        within.append(jumps[~at_border])
    b, w = np.concatenate(border), np.concatenate(within)
    return SeamFigures(float(np.percentile(b, 99)), float(np.percentile(w, 99)),
                       float(b.mean()), float(w.mean()), b.size, w.size)
