"""The realtime loop: audio → features and VAD → motion → frames → sinks.

Threads with nothing queued between them: a small window of timestamped motion frames,
and one-place mailboxes where the newest item wins (`NewestSlot`):

- the audio thread reads the source, runs the front end (resampling, VAD, features) and
  the motion model as soon as a frame's audio is complete, and passes the audio on
  (recording, delayed virtual microphone); when the source has nothing (a microphone
  unplugged, a file at its end) it feeds silence on the capture clock, so the avatar keeps
  idling instead of freezing;
- the ticker posts an output tick every period; at the motion's own rate (25 fps) the
  ticks slide to just after motion frames arrive (`TickPhase`). Twice a second it also
  tells the motion model how many frames per 40 ms the machine has time for
  (`SubStepGovernor`);
- one or more render workers take the ticks: each asks the playback clock which capture
  instant to show and renders the motion interpolated to it. With two workers on the CPU,
  a frame slowed past the period overlaps the next instead of costing it;
- the sink thread hands the frames to the sinks in tick order, so sinks see one thread.

A tick no worker could take within a period, and a frame overtaken by a later one, are
dropped and counted, never queued.

The audio thread and the workers call torch, so torch runs one thread per caller while
the engine runs: with its default pool of one thread per core, two callers on two cores
slowed each other three- to fourfold. numpy's OpenBLAS is held to one thread too: after
each call its idle workers spin in sched_yield, which cost a whole core.

Every frame carries the capture time of the audio it shows, so latency is measured.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.audio.source import AudioSource
from avatarcam.constants import REOPEN_BACKOFF_MAX_S, REOPEN_BACKOFF_START_S, SAMPLE_RATE
from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import Vector
from avatarcam.newest_slot import NewestSlot
from avatarcam.render.backends import Renderer
from avatarcam.runtime.falling_behind import FallingBehind
from avatarcam.runtime.indicators import frozen_badge
from avatarcam.runtime.motion_buffer import MotionBuffer, PlaybackClock, ShownMotion
from avatarcam.runtime.run_stats import RunStats
from avatarcam.runtime.silence import SilenceFiller
from avatarcam.runtime.sub_step_governor import SubStepGovernor
from avatarcam.runtime.tick_phase import TickPhase
from avatarcam.sinks.sink import OpenedSinks, OverlayStatus

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.02  # how long the audio thread waits for a block before looking around
SOURCE_SILENT_S = 0.25  # no audio for this long: the source is gone or done; feed silence
MIN_PLAYBACK_DELAY_S = 0.0
MAX_PLAYBACK_DELAY_S = 0.3
# Motion arrives every 40 ms (10 ms with sub-steps, motion/sub_steps.py), so how late the
# newest frame is swings over that period. Showing the instant that the median lateness
# allows interpolates on half the ticks and holds the newest frame on the rest, half a
# period sooner than waiting until nearly every tick can interpolate.
PLAYBACK_QUANTILE = 0.5
STATUS_EVERY_S = 0.5  # how often the overlay's figures are refreshed
STATUS_FRAMES = 60  # the overlay's fps and latency (and the auto voice delay) cover these frames
# The render thread runs hundreds of small torch operations per frame, each releasing and
# retaking the GIL; with the audio thread busy in Python, every retake can wait a whole
# switch interval (5 ms by default). A short interval keeps the render thread's waits short.
GIL_SWITCH_INTERVAL_S = 0.0005
TORCH_THREADS = 1  # per calling thread while the engine runs (see the module docstring)
BLAS_THREADS = 1  # numpy's BLAS while the engine runs (see the module docstring)


class Streamer(Protocol):
    """The motion model's streaming interface (avatarcam.motion.stream.MotionStreamer)."""

    def push(self, step: object) -> list: ...  # noqa: D102 - documented on MotionStreamer
    def set_sub_steps(self, count: int) -> None: ...  # noqa: D102 - documented on MotionStreamer
    def set_preset(self, target: np.ndarray, weight: np.ndarray) -> None: ...  # noqa: D102


class ControlState(Protocol):
    """What the expression controls say at one instant."""

    target: np.ndarray  # (NUM_FIELDS,) preset target
    weight: np.ndarray  # (NUM_FIELDS,) how strongly each field follows it
    muted: bool
    frozen: bool
    preset: str | None


class Controls(Protocol):
    """Expression presets and toggles (avatarcam.control.preset_control.PresetController)."""

    def state(self, now: float) -> ControlState: ...  # noqa: D102


@dataclass(frozen=True)
class EngineOptions:
    """How the loop runs."""

    fps: float = 30.0  # output frame rate
    duration_s: float | None = None  # stop after this long; None: until stopped
    stop_when_source_ends: bool = False  # a file source: stop once it is played out
    tail_s: float = 0.0  # with stop_when_source_ends: idle this long after the end
    render_workers: int = 1  # frames that may be rendered at once (`Backend.overlap`)
    sub_steps: int = 1  # the most motion frames per 40 ms the streamer was set up for (`StreamConfig`)


@dataclass(frozen=True)
class FinishedFrame:
    """A rendered frame on its way to the sinks."""

    frame: np.ndarray  # uint8 RGB (H, W, 3)
    motion: ShownMotion | None  # what it shows; None when it shows no newly captured audio
    time_s: float  # the capture-clock time it stands for


class Engine:
    """One run of the realtime loop over one source, renderer and set of sinks."""

    def __init__(self, source: AudioSource, streamer: Streamer, renderer: Renderer,
                 sinks: OpenedSinks, rest_motion: Vector, options: EngineOptions,
                 controls: Controls | None = None,
                 audio_taps: Sequence[Callable[[AudioChunk], None]] = (),
                 latency_listener: Callable[[float], None] | None = None) -> None:
        """`latency_listener`, if given, is told the measured median latency (s) as it
        settles (the delayed virtual microphone follows it)."""
        self.source, self.streamer, self.renderer, self.sinks = source, streamer, renderer, sinks
        self.options, self.controls = options, controls
        self.latency_listener = latency_listener
        self.frontend: AudioFrontend | None = None
        self.buffer = MotionBuffer()
        self.clock = PlaybackClock(MIN_PLAYBACK_DELAY_S, MAX_PLAYBACK_DELAY_S, PLAYBACK_QUANTILE)
        self.stats = RunStats()
        self.behind = FallingBehind(options.fps)
        self.phase = TickPhase(options.fps)
        self.governor = SubStepGovernor(options.fps, options.sub_steps)
        self.filler = SilenceFiller(SAMPLE_RATE)
        self.rest_motion = np.asarray(rest_motion, np.float32)
        self.audio_taps = [sinks.send_audio, *audio_taps]
        self.stop_event = threading.Event()
        self.ticks = NewestSlot[int]()  # output tick numbers, ticker → render workers
        self.frames = NewestSlot[FinishedFrame]()  # render workers → the sink thread
        self._record = threading.Lock()  # the stats are written from several threads
        self._order = threading.Lock()  # frames are passed on in tick order
        self._passed_tick = -1
        self._last_frame: np.ndarray | None = None
        self._overlay, self._status_at = OverlayStatus(), 0.0
        self.source_ended_at: float | None = None
        self.errors: list[BaseException] = []
        self._speaking = False

    # --- audio thread -------------------------------------------------------------------
    def _open_source(self) -> None:
        """Start the source; a microphone that is missing is retried with backoff while
        the avatar idles (said once, when first found missing)."""
        backoff = REOPEN_BACKOFF_START_S
        warned = False
        while not self.stop_event.is_set():
            try:
                self.source.start()
                if warned:
                    log.info("The microphone is there now; the avatar listens again.")
                return
            except AvatarcamError as err:
                if not warned:
                    log.warning("%s The avatar idles meanwhile and avatarcam keeps trying.", str(err).rstrip())
                    warned = True
            deadline = time.monotonic() + backoff
            while time.monotonic() < deadline and not self.stop_event.is_set():
                for silent in self.filler.fill(time.monotonic()):
                    self._feed(silent)
                time.sleep(READ_TIMEOUT_S)
            backoff = min(2.0 * backoff, REOPEN_BACKOFF_MAX_S)

    def _audio_loop(self) -> None:
        self._open_source()
        last_heard = time.monotonic()
        while not self.stop_event.is_set():
            chunk = self.source.read(timeout=READ_TIMEOUT_S)
            now = time.monotonic()
            if chunk is not None:
                last_heard = now
                chunk = self.filler.trim(chunk)
                if chunk is None:
                    continue
                self.filler.heard(chunk)
                self._feed(chunk)
                continue
            if self.source.finished and self.source_ended_at is None:
                self.source_ended_at = now
            if now - last_heard >= SOURCE_SILENT_S or self.source.finished:
                for silent in self.filler.fill(now):
                    self._feed(silent)
            if self.source.finished:  # it returns at once now: without a pause this loop would spin
                self.stop_event.wait(READ_TIMEOUT_S)

    def _feed(self, chunk: AudioChunk) -> None:
        """One block through the front end; its features queued for the motion model, the
        audio on to the taps."""
        heard = chunk
        state = self.controls.state(time.monotonic()) if self.controls is not None else None
        if state is not None and state.muted:
            heard = AudioChunk(np.zeros_like(chunk.samples), chunk.rate, chunk.start_time)
        if self.frontend is None or self.frontend.in_rate != chunk.rate:
            self.frontend = AudioFrontend(chunk.rate, align_windows_to_blocks=True)  # first audio, or silence ↔ mic
        step = self.frontend.process(heard)
        self._speaking = step.speech
        if state is not None:
            self.streamer.set_preset(state.target, state.weight)
        frames = self.streamer.push(step)
        ready = time.monotonic()
        for frame in frames:
            self.buffer.add(frame.time, frame.vector, frame.speech)
            self.stats.motion_arrived(ready, frame.time)
        for tap in self.audio_taps:
            tap(chunk)

    # --- ticker and render workers ------------------------------------------------------
    def _tick_loop(self) -> None:
        """Post an output tick every period (slid by `TickPhase`); refresh the overlay's
        figures. A tick the ticker itself was too late for is counted as dropped."""
        period = 1.0 / self.options.fps
        next_tick = time.monotonic()
        tick = 0
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now < next_tick:
                time.sleep(next_tick - now)
                now = time.monotonic()
            self.clock.observe(now, self.buffer.newest_time)
            if self.ticks.post(tick) is not None:  # no worker took the last tick in a whole period
                self._dropped(1)
            tick += 1
            if now - self._status_at >= STATUS_EVERY_S:
                self._refresh_status(now)
            next_tick += period
            next_tick += self.phase.shift(next_tick, self.stats.motion_arrivals)
            late = int((time.monotonic() - next_tick) // period)
            if late > 0:
                self._dropped(late)
                next_tick += late * period
                tick += late

    def _refresh_status(self, now: float) -> None:
        """The overlay's figures, the falling-behind check, the sub-steps the machine has
        time for and the voice delay, twice a second."""
        state = self.controls.state(now) if self.controls else None
        self._overlay, self._status_at = self._status(state), now
        with self._record:
            behind = self.behind.check(now, self.stats)
            sub_steps = self.governor.update(now, self.stats.render_times)
            if sub_steps is not None:
                self.stats.sub_steps_set(now, sub_steps)
        if sub_steps is not None:
            self.streamer.set_sub_steps(sub_steps)
        if behind is not None:
            log.warning("%s", behind)
        if self.latency_listener is not None and self._overlay.latency_p50_ms is not None:
            self.latency_listener(self._overlay.latency_p50_ms / 1000.0)

    def _render_worker(self) -> None:
        """Render the ticks one after another as this worker gets them."""
        while not self.stop_event.is_set():
            tick = self.ticks.take(timeout=READ_TIMEOUT_S)
            if tick is not None:
                self._render_tick(tick)

    def _render_tick(self, tick: int) -> None:
        """Draw the face at the instant the playback clock shows now and pass it on to the
        sink thread, unless a later tick's frame was passed on first (then it is stale)."""
        now = time.monotonic()
        state = self.controls.state(now) if self.controls else None
        frozen = bool(state and state.frozen)
        shown = self.buffer.at(self.clock.instant(now))
        held_frame = self._last_frame
        redrawn = not (frozen and held_frame is not None)
        if redrawn:
            vector = self.rest_motion if shown is None else shown.vector
            began = time.monotonic()
            frame = self.renderer.render(vector[None])[0]
            with self._record:
                done = time.monotonic()
                self.stats.rendered(done, done - began)
        else:
            frame = frozen_badge(held_frame)
        with self._order:
            if tick < self._passed_tick:
                self._dropped(1)
                return
            self._passed_tick = tick
            if redrawn:
                self._last_frame = frame
            replaced = self.frames.post(FinishedFrame(frame, shown if not frozen else None,
                                                      shown.time if shown is not None else now))
        if replaced is not None:  # the sink thread was still busy with the frame before
            self._dropped(1)

    def _hand_off_loop(self) -> None:
        """Hand each finished frame to the sinks: only this thread calls them."""
        while not self.stop_event.is_set():
            finished = self.frames.take(timeout=READ_TIMEOUT_S)
            if finished is None:
                continue
            self.sinks.send(finished.frame, finished.time_s, self._overlay)
            with self._record:
                handed = time.monotonic()
                motion = finished.motion
                if motion is not None:
                    self.stats.frame(handed, motion.time, motion.speech, motion.held)
                else:
                    self.stats.still_frame(handed)

    def _dropped(self, ticks: int) -> None:
        with self._record:
            self.stats.dropped(time.monotonic(), ticks)

    def _status(self, state: ControlState | None) -> OverlayStatus:
        """The overlay's figures now."""
        recent = self.stats.latencies_s[-STATUS_FRAMES:]
        times = sorted([*self.stats.frame_times[-STATUS_FRAMES:], *self.stats.still_frame_times[-STATUS_FRAMES:]])
        times = times[-STATUS_FRAMES:]
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None
        return OverlayStatus(
            fps=fps, latency_p50_ms=float(np.median(recent)) * 1000.0 if recent else None,
            speaking=self._speaking, preset=state.preset if state else None,
            frozen=bool(state and state.frozen), muted=bool(state and state.muted))

    # --- running ------------------------------------------------------------------------
    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        """`target` run so that an exception stops the whole engine instead of one thread."""
        def run() -> None:
            try:
                target()
            except BaseException as err:  # noqa: BLE001 - re-raised in the main thread
                self.errors.append(err)
                self.stop_event.set()
        return run

    def _should_stop(self, now: float) -> bool:
        options = self.options
        if options.duration_s is not None and now - self.stats.started >= options.duration_s:
            return True
        return (options.stop_when_source_ends and self.source_ended_at is not None
                and now - self.source_ended_at >= options.tail_s)

    def _run_threads(self) -> None:
        """Start the threads, wait for a reason to stop, then stop them and the source."""
        self.stats = RunStats()
        self.stats.sub_steps_set(self.stats.started, self.governor.count)
        loops = [("avatarcam-audio", self._audio_loop), ("avatarcam-ticks", self._tick_loop),
                 ("avatarcam-sinks", self._hand_off_loop)]
        loops += [(f"avatarcam-render-{n}", self._render_worker) for n in range(self.options.render_workers)]
        threads = [threading.Thread(target=self._guarded(loop), name=name, daemon=True) for name, loop in loops]
        for thread in threads:
            thread.start()
        marks = {60.0: "1 min", 600.0: "10 min"}
        try:
            while not self.stop_event.wait(0.05):
                now = time.monotonic()
                for at, label in list(marks.items()):
                    if now - self.stats.started >= at:
                        self.stats.mark_memory(label)
                        del marks[at]
                if self._should_stop(now):
                    break
        finally:
            self.stop_event.set()
            self.ticks.close()
            self.frames.close()
            for thread in threads:
                thread.join(timeout=5.0)
            self.source.stop()

    def run(self) -> RunStats:
        """Run until the duration, the end of the source or Ctrl-C/SIGTERM, then stop the
        threads and the source (the caller closes the sinks). Returns the measurements."""
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(TORCH_THREADS)
        try:
            with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
                self._run_threads()
        finally:
            torch.set_num_threads(torch_threads)
            self.stats.finish()
        if self.errors:
            raise self.errors[0]
        return self.stats
