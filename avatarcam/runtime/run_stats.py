"""What a run measured: latency from audio capture to frame hand-off, frame rate, drops,
first-frame delays, CPU and memory; written as JSON by `--stats-json` and printed by
`bench e2e`."""

from __future__ import annotations

import bisect
import json
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from avatarcam.runtime.timed_series import TimedSeries
from avatarcam.runtime.timing import percentile_summary

MB = 1024 * 1024


@dataclass
class RunStats:
    """Counters the engine updates as it runs: motion arrivals from the audio thread, all
    else from the render thread. Per-frame figures are arrays of doubles, so a run of hours
    keeps every one of them in a few MB an hour."""

    started: float = field(default_factory=time.monotonic)
    latencies_s: array[float] = field(default_factory=lambda: array("d"))
    frame_times: array[float] = field(default_factory=lambda: array("d"))  # hand-offs of frames showing captured audio
    # hand-offs of frames showing no newly captured audio: the rest pose before the first
    # motion, and the held face while frozen; output frames all the same, without a latency
    still_frame_times: array[float] = field(default_factory=lambda: array("d"))
    drop_times: array[float] = field(default_factory=lambda: array("d"))  # one per output tick skipped
    held: int = 0  # frames that showed the newest motion because none newer had arrived
    first_frame_at: float | None = None
    first_speech_at: float | None = None  # capture instant of the first speech motion
    first_speech_frame_at: float | None = None  # hand-off of the first frame showing it
    memory_marks: dict[str, float] = field(default_factory=dict)  # label -> RSS MB
    # (wall clock, how long after the instant it depicts) per motion frame, as it arrives
    motion_arrivals: TimedSeries = field(default_factory=TimedSeries)
    render_times: TimedSeries = field(default_factory=TimedSeries)  # (wall clock, seconds) per render
    # (wall clock, motion frames per 40 ms made from then on), at the start and at each change
    sub_steps: TimedSeries = field(default_factory=TimedSeries)
    motion_weights: str = ""  # the motion model's weights file, by name

    def __post_init__(self) -> None:
        self._process = psutil.Process()
        self._cpu_start = (time.monotonic(), self._cpu_seconds())
        self._cpu_window: tuple[float, float] | None = None  # (wall s, CPU s) once finished

    def finish(self) -> None:
        """Close the CPU measurement window: the run is over, so the figures that follow,
        however many times they are asked for, describe the run and not what came after."""
        if self._cpu_window is None:
            self._cpu_window = self._cpu_now()

    def frame(self, handed_at: float, capture_time: float, speech: bool, held: bool) -> None:
        """Record one frame handed to the sinks."""
        if self.first_frame_at is None:
            self.first_frame_at = handed_at
        if speech and self.first_speech_at is None:
            self.first_speech_at, self.first_speech_frame_at = capture_time, handed_at
        self.latencies_s.append(handed_at - capture_time)
        self.frame_times.append(handed_at)
        self.held += held

    def still_frame(self, handed_at: float) -> None:
        """Record one frame handed to the sinks that shows no newly captured audio."""
        if self.first_frame_at is None:
            self.first_frame_at = handed_at
        self.still_frame_times.append(handed_at)

    def handed_since(self, since: float) -> int:
        """How many frames of either kind were handed to the sinks at or after `since`."""
        return _count_since(self.frame_times, since) + _count_since(self.still_frame_times, since)

    def drops_since(self, since: float) -> int:
        """How many output ticks were skipped at or after `since`."""
        return _count_since(self.drop_times, since)

    def motion_arrived(self, at: float, depicted: float) -> None:
        """Record a motion frame ready at `at` that shows the capture instant `depicted`:
        the audio, model and audio-thread part of the latency, before pacing and rendering."""
        self.motion_arrivals.append(at, at - depicted)

    def rendered(self, at: float, seconds: float) -> None:
        """Record one frame that took the renderer `seconds`, done at `at`."""
        self.render_times.append(at, seconds)

    def dropped(self, at: float, ticks: int) -> None:
        """Record `ticks` output ticks skipped at `at` because rendering fell behind."""
        self.drop_times.extend([at] * ticks)

    def sub_steps_set(self, at: float, count: int) -> None:
        """Record that from `at` on the motion model makes `count` frames per 40 ms."""
        self.sub_steps.append(at, float(count))

    def mark_memory(self, label: str) -> None:
        """Note the resident memory now under `label` (e.g. "1 min")."""
        self.memory_marks[label] = self._rss_mb()

    def summary(self, skip_s: float = 0.0) -> dict[str, object]:
        """The figures; the first `skip_s` seconds (warm-up) are left out of latency, fps
        and `drops_after_warmup`."""
        times = np.asarray(self.frame_times)
        keep = times >= self.started + skip_s if times.size else times.astype(bool)
        handed = np.sort(np.concatenate((times, self.still_frame_times)))
        kept_times = handed[handed >= self.started + skip_s]
        span = float(kept_times[-1] - kept_times[0]) if kept_times.size > 1 else 0.0
        latency = percentile_summary(np.asarray(self.latencies_s)[keep], 1000.0)
        motion = percentile_summary(self.motion_arrivals.values_since(self.started + skip_s), 1000.0)
        render = percentile_summary(self.render_times.values_since(self.started + skip_s), 1000.0)
        return {
            "latency_ms": {k: latency[k] for k in ("p50", "p95", "max")},
            "motion_ready_ms": {k: motion[k] for k in ("p50", "p95", "max")},
            "render_ms": {k: render[k] for k in ("p50", "p95", "max")},
            "fps": round((kept_times.size - 1) / span, 2) if span > 0 else 0.0,
            "frames": len(handed),
            "drops": len(self.drop_times),
            "drops_after_warmup": self.drops_since(self.started + skip_s),
            "held": self.held,
            "first_frame_ms": _ms(self.first_frame_at, self.started),
            "first_speech_frame_ms": _ms(self.first_speech_frame_at, self.first_speech_at),
            "cpu_percent": self._cpu_percent(),
            "rss_mb": self._rss_mb(),
            "memory_mb": dict(self.memory_marks),
            "sub_steps_time_share": _time_shares(self.sub_steps, self.started + skip_s,
                                                 float(handed[-1]) if handed.size else self.started),
            "motion_weights": self.motion_weights,
        }

    def _cpu_seconds(self) -> float:
        """CPU time this process has used, all its threads, user and system, with that of
        its child processes (ffmpeg writing an mp4), ended or running."""
        times = self._process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in self._children():
            try:
                child_times = child.cpu_times()
            except psutil.Error:  # it ended just now
                continue
            total += child_times.user + child_times.system
        return float(total)

    def _children(self) -> list[psutil.Process]:
        try:
            return self._process.children(recursive=True)
        except psutil.Error:
            return []

    def _cpu_now(self) -> tuple[float, float]:
        """(wall s, CPU s) since the stats started."""
        return time.monotonic() - self._cpu_start[0], self._cpu_seconds() - self._cpu_start[1]

    def _cpu_percent(self) -> float:
        """CPU used over the run (to now if not finished), in % of one core."""
        wall_s, cpu_s = self._cpu_window or self._cpu_now()
        return round(100.0 * cpu_s / wall_s, 1) if wall_s > 0 else 0.0

    def _rss_mb(self) -> float:
        """Resident memory of this process and its child processes now, MB."""
        total = self._process.memory_info().rss
        for child in self._children():
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return round(total / MB, 1)

    def write_json(self, path: Path) -> None:
        """Write `summary()` to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary(), indent=1) + "\n", encoding="utf-8")


def _count_since(times: array[float], since: float) -> int:
    """How many of the ascending `times` are at or after `since`."""
    return len(times) - bisect.bisect_left(times, since)


def _time_shares(settings: TimedSeries, start: float, end: float) -> dict[str, float]:
    """The share of `start` … `end` that each value of `settings` (set at its times, held
    until the next) was in force, by value; empty when nothing was set or the span is empty."""
    if not len(settings) or end <= start:
        return {}
    rows = settings.as_array()
    begins = np.clip(rows[:, 0], start, end)
    ends = np.append(begins[1:], end)
    shares: dict[str, float] = {}
    for value, begin, stop in zip(rows[:, 1], begins, ends):
        key = f"{value:g}"
        shares[key] = shares.get(key, 0.0) + float(stop - begin) / (end - start)
    return {key: round(share, 3) for key, share in sorted(shares.items())}


def _ms(later: float | None, earlier: float | None) -> float | None:
    """Milliseconds between two clock readings, None if either is missing."""
    if later is None or earlier is None:
        return None
    return round((later - earlier) * 1000.0, 1)
