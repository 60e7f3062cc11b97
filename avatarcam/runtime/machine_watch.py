"""How much the machine itself held the engine up during a run, seen from outside the engine.

A dropped frame is either the loop's own fault (a render too slow for its tick) or the
machine's: on a shared VM the hypervisor takes CPU time from every core ("steal"), either
in thin slices that slow everything down or as pauses of tens of milliseconds, and no code
inside can keep its frame rate through that. To tell the two apart, the end to end benchmark
runs a watcher in its own process (its own interpreter lock, so the engine's threads never
hold it up). It asks to wake every few milliseconds and notes each wake-up that came far
too late: on two cores with the engine using about one, a process that was ready to run and
still waited that long was held up by the machine, not by the engine. Twice a second it
also notes the machine's steal counter (Linux), so the share stolen can be drawn over time.

Some hypervisors slow the guest without pausing it or counting steal: on this project's
Firecracker VM a fixed piece of Python work took 2–10 times its usual CPU time for about
0.1 s every 1.4 s or so, and renders in those spans took 50–100 ms instead of 20. The
watcher therefore also times a small fixed piece of work every 20 ms in its own thread's
CPU time, which the engine competing for the cores cannot inflate (a thread waiting for a
core uses none), and notes the spans where it took SLOW_FACTOR times its median or more.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np

TICK_S = 0.002  # how often the watcher asks to wake
LATE_S = 0.02  # a wake-up this much later than asked is a stall
STEAL_EVERY_S = 0.5  # how often the steal counter is read
STOP_WAIT_S = 5.0  # longest wait for the watcher's report when it is stopped
DROP_AFTER_STALL_S = 0.1  # a drop up to three 30 fps ticks after a stall ended is put down to it
STOLEN_SHARE = 10.0  # % of CPU time stolen in a half second that counts as the machine interfering
PROC_STAT = Path("/proc/stat")
STEAL_COLUMN = 7  # counting from 0 after "cpu": user nice system idle iowait irq softirq steal guest …
PROBE_EVERY_S = 0.02  # how often the fixed piece of work is timed
PROBE_LOOPS = 4000  # its size: about 0.3 ms of CPU on this VM, so probing costs under 2 % of a core
SLOW_FACTOR = 3.0  # a probe this many times its median CPU time means the machine was slowed

Interval = tuple[float, float]  # (start, end) on time.monotonic, which all processes share


def cpu_ticks() -> np.ndarray | None:
    """The machine's cumulative CPU time per /proc/stat column (None where there is none)."""
    try:
        first = PROC_STAT.read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError):
        return None
    return np.array([int(value) for value in first[1:]], dtype=np.int64)


def steal_percent(before: np.ndarray | None, after: np.ndarray | None) -> float | None:
    """Share of all CPU time between two `cpu_ticks` readings that the hypervisor stole."""
    if before is None or after is None or len(before) <= STEAL_COLUMN:
        return None
    spent = after - before
    total = int(spent[: STEAL_COLUMN + 1].sum())  # guest time is already inside user time
    return round(100.0 * int(spent[STEAL_COLUMN]) / total, 1) if total > 0 else None


@dataclass
class MachineLoad:
    """What the watcher saw: stalls, the steal counter over time, and slowdowns."""

    stalls: list[Interval] = field(default_factory=list)
    steal: list[tuple[float, float]] = field(default_factory=list)  # (end of a reading's span, % stolen in it)
    slowdowns: list[Interval] = field(default_factory=list)  # runs of probes SLOW_FACTOR times slower
    probe_ms: float | None = None  # a probe's median CPU time


def probe_cpu_s() -> float:
    """The CPU time this thread takes for a fixed piece of Python work, seconds."""
    began = time.thread_time()
    total = 0
    for i in range(PROBE_LOOPS):
        total += i * i
    return time.thread_time() - began


def slow_spans(probes: Sequence[tuple[float, float, float]], factor: float = SLOW_FACTOR) -> list[Interval]:
    """Runs of consecutive probes (start, end, CPU s) that took `factor` times the median
    CPU time or more, each as (start of its first, end of its last)."""
    if not probes:
        return []
    cpu = np.array([p[2] for p in probes])
    slow = cpu >= factor * float(np.median(cpu))
    spans: list[Interval] = []
    for index in np.flatnonzero(slow):
        if index > 0 and slow[index - 1]:  # the run the previous probe began goes on
            spans[-1] = (spans[-1][0], probes[index][1])
        else:
            spans.append((probes[index][0], probes[index][1]))
    return spans


def watch_until_told(stop: threading.Event) -> MachineLoad:
    """Note late wake-ups, the steal counter and timed probes until `stop` is set."""
    load = MachineLoad()
    before = time.monotonic()
    ticks, ticks_at = cpu_ticks(), before
    probes: list[tuple[float, float, float]] = []
    probe_at = before
    while not stop.is_set():
        time.sleep(TICK_S)
        now = time.monotonic()
        if now - before > TICK_S + LATE_S:
            load.stalls.append((before, now))
        if now - probe_at >= PROBE_EVERY_S:
            cpu_s = probe_cpu_s()
            probe_at = time.monotonic()
            probes.append((now, probe_at, cpu_s))
            now = probe_at  # the probe's own time is not a late wake-up
        before = now
        if now - ticks_at >= STEAL_EVERY_S:
            latest = cpu_ticks()
            share = steal_percent(ticks, latest)
            if share is not None:
                load.steal.append((now, share))
            ticks, ticks_at = latest, now
    load.slowdowns = slow_spans(probes)
    load.probe_ms = round(1000.0 * float(np.median([p[2] for p in probes])), 3) if probes else None
    return load


def _watcher_main() -> None:
    """The watcher process: watch until its stdin closes, then print what it saw as JSON."""
    stop = threading.Event()

    def wait_for_close() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_close, daemon=True).start()
    load = watch_until_told(stop)
    json.dump(asdict(load), sys.stdout)


class MachineWatcher:
    """A context manager that watches the machine from a separate process while it is
    open; `load` holds what it saw once it is closed (empty if the watcher failed)."""

    def __init__(self) -> None:
        self.load = MachineLoad()
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        """The watcher process's id once started (what to pause to see it notice)."""
        return self._process.pid if self._process else None

    def __enter__(self) -> MachineWatcher:
        # A fresh interpreter that imports only this module: a forked or spawned copy of the
        # caller would carry (or re-import) torch and the whole CLI.
        self._process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._process is not None
        try:
            out, _ = self._process.communicate(timeout=STOP_WAIT_S)  # closing stdin stops it
            seen = json.loads(out)
            self.load = MachineLoad([tuple(s) for s in seen["stalls"]], [tuple(s) for s in seen["steal"]],
                                    [tuple(s) for s in seen["slowdowns"]], seen["probe_ms"])
        except (subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
            self._process.kill()  # a watcher that hung or died leaves the figures unknown, not the run failed
            self._process.wait()


@dataclass(frozen=True)
class LoadSummary:
    """The stalls and slowdowns of a stretch of run, and how many of its drops came with
    the machine's interference."""

    stalls: int
    stalled_ms: float  # all stalls together
    longest_stall_ms: float
    drops: int  # drops in the stretch
    drops_after_stalls: int  # of them, during a stall or within DROP_AFTER_STALL_S of its end
    drops_in_steal: int  # of the rest, in a steal reading's span with STOLEN_SHARE or more
    slowdowns: int = 0  # slowdowns that ended in the stretch
    drops_in_slowdowns: int = 0  # of the drops left after those two, during or just after a slowdown
    # how much of the stretch lies in a slowdown or just after one: the share of drops that
    # would land there by chance
    slowed_percent: float = 0.0


def _ended_since(spans: Sequence[Interval], since: float) -> np.ndarray:
    """`spans` that ended at or after `since`, as an (n, 2) array."""
    return np.array([s for s in spans if s[1] >= since], np.float64).reshape(-1, 2)


def _during_or_just_after(times: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Which `times` lie in one of `spans` or within DROP_AFTER_STALL_S of its end."""
    return ((times[:, None] >= spans[None, :, 0])
            & (times[:, None] <= spans[None, :, 1] + DROP_AFTER_STALL_S)).any(axis=1)


def _covered_s(spans: np.ndarray, since: float, until: float) -> float:
    """Seconds of since..until inside a span or within DROP_AFTER_STALL_S of its end."""
    covered, reached = 0.0, since
    for start, end in sorted(map(tuple, spans)):
        start, end = max(start, reached), min(end + DROP_AFTER_STALL_S, until)
        if end > start:
            covered += end - start
            reached = end
    return covered


def summarize_load(load: MachineLoad, drop_times: Sequence[float], since: float,
                   until: float | None = None) -> LoadSummary:
    """Stalls and slowdowns that ended at or after `since`, and which drops at or after it
    came during or just after a stall, while the hypervisor took a large share of the CPU
    time, or during or just after a slowdown (each drop put down to the first that fits);
    `until` (default: the last drop or slowdown) ends the stretch."""
    kept = _ended_since(load.stalls, since)
    lengths = (kept[:, 1] - kept[:, 0]) * 1000.0
    drops = np.array([t for t in drop_times if t >= since], np.float64)
    stalled = _during_or_just_after(drops, kept)
    slowdowns = _ended_since(load.slowdowns, since)
    slowed = _during_or_just_after(drops, slowdowns)
    steal = np.asarray(load.steal, np.float64).reshape(-1, 2)
    reading = np.searchsorted(steal[:, 0], drops)  # the reading whose span holds each drop
    inside = reading < len(steal)
    stolen = np.zeros(len(drops), bool)
    stolen[inside] = steal[reading[inside], 1] >= STOLEN_SHARE
    return LoadSummary(stalls=len(kept), stalled_ms=round(float(lengths.sum()), 1),
                       longest_stall_ms=round(float(lengths.max()), 1) if len(kept) else 0.0,
                       drops=len(drops), drops_after_stalls=int(stalled.sum()),
                       drops_in_steal=int((stolen & ~stalled).sum()), slowdowns=len(slowdowns),
                       drops_in_slowdowns=int((slowed & ~stolen & ~stalled).sum()),
                       slowed_percent=_slowed_percent(slowdowns, drops, since, until))


def _slowed_percent(slowdowns: np.ndarray, drops: np.ndarray, since: float, until: float | None) -> float:
    """The share (%) of since..until in or just after a slowdown."""
    if until is None:
        until = max([since, *drops.tolist(), *(slowdowns[:, 1] + DROP_AFTER_STALL_S).tolist()])
    return round(100.0 * _covered_s(slowdowns, since, until) / (until - since), 1) if until > since else 0.0


if __name__ == "__main__":
    _watcher_main()
