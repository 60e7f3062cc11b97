"""The front end and the motion model in a process of their own.

In one process the audio path's Python work (resampling, VAD, log-mel, the stream's
bookkeeping, four model runs per 40 ms) holds the interpreter lock between the render
thread's hundreds of small torch calls per frame, and each of those waits for it: rendering
inside the loop took 10–14 ms longer than alone (docs/benchmarks.md). Here the engine's
audio thread only reads the source, sends each block down a pipe and passes the audio on;
the child sends back the motion frames each block completes, plus its log lines.

The child is started with "spawn" (a fork of a process already running torch and OpenMP
threads can deadlock), ignores Ctrl-C (the parent decides when to stop and tells it),
and ends when told, when the pipe closes (the parent died), or on a fault, which the
parent reports in one sentence at the next block.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from avatarcam.audio.chunk import AudioChunk
from avatarcam.errors import AvatarcamError
from avatarcam.motion.stream import MotionStreamer, StreamConfig
from avatarcam.runtime.motion_path import Deliver, Preset

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0  # importing torch and loading the model on a slow, cold disk
STOP_TIMEOUT_S = 3.0  # how long the child gets to end once told, before it is terminated


class MotionProcessError(AvatarcamError):
    """The motion model's process could not start, or stopped."""


@dataclass(frozen=True)
class MotionJob:
    """What the child needs to build its motion stream (it is pickled to the child)."""

    model_path: Path | None  # None: the shipped models/motion.pt
    config: StreamConfig
    seed: int
    graphs: Path | None  # where ONNX chunk graphs are cached


class _ForwardLogs(logging.Handler):
    """Sends the child's log records to the parent, which logs them as its own."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(logging.INFO)
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        """Send one record's level and text."""
        try:
            self.conn.send(("log", record.levelno, record.getMessage()))
        except OSError:  # the parent has gone: nobody to tell
            pass


def _child_main(job: MotionJob, conn: Connection) -> None:
    """The child: build the stream, say ready (or why not), then turn blocks into frames
    until told to stop or the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger().addHandler(_ForwardLogs(conn))
    logging.getLogger().setLevel(logging.INFO)
    try:
        import torch
        from threadpoolctl import threadpool_limits

        from avatarcam.motion.stream import load_motion_model
        from avatarcam.runtime.motion_path import MotionPipeline

        torch.set_num_threads(1)  # one core's work; the render thread has the other
        threadpool_limits(limits=1, user_api="blas")
        streamer = MotionStreamer(load_motion_model(job.model_path), job.config, seed=job.seed,
                                  graphs=job.graphs)
    except AvatarcamError as err:
        conn.send(("error", str(err)))
        return
    except Exception as err:  # noqa: BLE001 - told to the parent, which says it in one sentence
        conn.send(("error", f"The motion model could not start ({type(err).__name__}: {err}); "
                            "reinstall with `make venv` and run `avatarcam doctor`."))
        return
    conn.send(("ready", streamer.runner.name))
    pipeline = MotionPipeline(streamer)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        samples, rate, start_time, preset = message
        frames, speech = pipeline.process(AudioChunk(samples, rate, start_time), preset)
        conn.send(("frames", frames, speech))


class MotionProcess:
    """The motion path (`motion_path.MotionPath`) in a child process; start it early, since
    the child needs a few seconds to import torch and load the model."""

    def __init__(self, job: MotionJob) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_child_main, args=(job, child_conn),
                                        name="avatarcam-motion", daemon=True)
        self._process.start()
        child_conn.close()
        self.name = ""
        self._receiver: threading.Thread | None = None
        self._failure: str | None = None
        self._closing = False

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block until the child has its model loaded; MotionProcessError if it cannot."""
        while True:
            if not self._conn.poll(timeout_s):
                self.close()
                raise MotionProcessError(f"The motion model's process did not start within {timeout_s:g} s; "
                                         "check that the machine is not out of memory and try again.")
            try:
                kind, *rest = self._conn.recv()
            except EOFError:
                raise MotionProcessError(self._death_sentence()) from None
            if kind == "log":
                log.log(rest[0], "%s", rest[1])
            elif kind == "error":
                self.close()
                raise MotionProcessError(rest[0])
            else:
                self.name = f"{rest[0]} (own process)"
                return

    def open(self, deliver: Deliver) -> None:
        """Start passing the child's frames to `deliver` (from a thread of this class)."""
        if not self.name:
            self.wait_ready()
        self._receiver = threading.Thread(target=self._receive, args=(deliver,),
                                          name="avatarcam-motion-receiver", daemon=True)
        self._receiver.start()

    def _receive(self, deliver: Deliver) -> None:
        while True:
            try:
                kind, *rest = self._conn.recv()
            except (EOFError, OSError):
                if not self._closing:
                    self._failure = self._death_sentence()
                return
            if kind == "frames":
                deliver(rest[0], rest[1])
            elif kind == "log":
                log.log(rest[0], "%s", rest[1])

    def feed(self, chunk: AudioChunk, preset: Preset | None) -> None:
        """Send one block; MotionProcessError once the child has stopped."""
        if self._failure is not None:
            raise MotionProcessError(self._failure)
        try:
            self._conn.send((chunk.samples, chunk.rate, chunk.start_time, preset))
        except OSError:
            raise MotionProcessError(self._death_sentence()) from None

    def _death_sentence(self) -> str:
        self._process.join(timeout=1.0)
        code = self._process.exitcode
        how = "was killed" if code is not None and code < 0 else f"ended (exit code {code})"
        return (f"The motion model's process {how} while running, so the avatar stopped; "
                "start avatarcam again, and if it keeps happening, check free memory and run `avatarcam doctor`.")

    def close(self) -> None:
        """Tell the child to stop, wait for it (terminating it if it does not), and end the
        receiver; safe to call more than once."""
        self._closing = True
        if self._process.is_alive():
            try:
                self._conn.send(None)
            except OSError:
                pass
            self._process.join(STOP_TIMEOUT_S)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(STOP_TIMEOUT_S)
        if self._receiver is not None:  # the child's end is closed now: it reads the end of the pipe
            self._receiver.join(STOP_TIMEOUT_S)
        self._conn.close()
