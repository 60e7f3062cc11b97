"""A renderer that runs in a child process of its own.

The render graph makes hundreds of small torch calls per frame, and each one gives up and
takes back the interpreter lock (GIL). In one process with the realtime loop's audio thread
(front end and motion model, also Python), every take-back can wait for that thread, and a
frame that rendered in 13 ms alone took 18–22 ms there, more in bursts that dropped frames.
In a child process the graph holds a lock of its own; the parent only sends motion vectors
down a pipe and copies finished frames out of shared memory.
"""

from __future__ import annotations

import multiprocessing
import signal
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

import numpy as np
import torch

from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import NUM_FIELDS
from avatarcam.render.avatar import Avatar
from avatarcam.render.backends import BackendUnavailableError, open_renderer
from avatarcam.render.framing import output_size

START_TIMEOUT_S = 120.0  # a first start may build and cache the render graph
FRAME_TIMEOUT_S = 10.0  # far beyond any frame: the child is stuck, not slow
STOP_TIMEOUT_S = 5.0
CHILD_TORCH_THREADS = 1  # one core for rendering, the other for audio and motion


class RenderProcessError(AvatarcamError):
    """The render process failed to start, stopped, or stopped answering."""


def _serve(avatar: Avatar, size_name: str, cache_dir: Path, backends: tuple[str, ...],
           memory_name: str, connection: Connection) -> None:
    """The child: open a renderer, then render each vector received into shared memory."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    torch.set_num_threads(CHILD_TORCH_THREADS)
    memory = shared_memory.SharedMemory(name=memory_name)
    try:
        _render_requests(avatar, size_name, cache_dir, backends, memory, connection)
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone: nothing left to render for
    finally:
        memory.close()


def _render_requests(avatar: Avatar, size_name: str, cache_dir: Path, backends: tuple[str, ...],
                     memory: shared_memory.SharedMemory, connection: Connection) -> None:
    """Open the renderer, say so, and answer render requests until an empty one."""
    size = output_size(size_name)
    try:
        backend, renderer = open_renderer(avatar, size_name, cache_dir, backends)
    except BackendUnavailableError as err:
        connection.send(("unavailable", str(err)))
        return
    frame = np.ndarray((size.height, size.width, 3), np.uint8, memory.buf)
    connection.send(("ready", backend))
    try:
        while (message := connection.recv_bytes()) != b"":
            vector = np.frombuffer(message, np.float32).reshape(1, NUM_FIELDS)
            frame[:] = renderer.render(vector)[0]
            connection.send_bytes(b"1")
    finally:
        del frame  # the shared buffer cannot close while a view of it lives


class ProcessRenderer:
    """A Renderer whose graph runs in a child process; open it with `start()` (or `with`)."""

    def __init__(self, avatar: Avatar, size_name: str, cache_dir: str | Path,
                 backends: tuple[str, ...]) -> None:
        size = output_size(size_name)
        self.shape = (size.height, size.width, 3)
        self.backend = ""
        self._args = (avatar, size_name, Path(cache_dir), tuple(backends))
        self._memory: shared_memory.SharedMemory | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None
        self._frame: np.ndarray | None = None

    def start(self) -> ProcessRenderer:
        """Start the child and wait until its renderer is open; raises the child's
        BackendUnavailableError, or RenderProcessError if it does not come up."""
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._memory = shared_memory.SharedMemory(create=True, size=int(np.prod(self.shape)))
        self._frame = np.ndarray(self.shape, np.uint8, self._memory.buf)
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(*self._args, self._memory.name, child),
                                        name="avatarcam-render", daemon=True)
        self._process.start()
        child.close()
        try:
            status, detail = self._receive(START_TIMEOUT_S, "start")
        except RenderProcessError:
            self.close()
            raise
        if status != "ready":
            self.close()
            raise BackendUnavailableError(detail)
        self.backend = detail
        return self

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def render(self, motion: np.ndarray) -> np.ndarray:
        """uint8 frames (B, H, W, 3) for motion vectors (B, NUM_FIELDS)."""
        if self._connection is None or self._frame is None:
            raise RenderProcessError("The render process is not running; start it before rendering.")
        frames = np.empty((len(motion), *self.shape), np.uint8)
        for i, vector in enumerate(np.asarray(motion, np.float32)):
            try:
                self._connection.send_bytes(np.ascontiguousarray(vector).tobytes())
            except (BrokenPipeError, OSError) as err:
                raise self._stopped() from err
            self._receive_bytes(FRAME_TIMEOUT_S)
            frames[i] = self._frame
        return frames

    def close(self) -> None:
        """Stop the child and free the shared frame; safe to call more than once."""
        if self._connection is not None:
            try:
                self._connection.send_bytes(b"")
            except (BrokenPipeError, OSError):
                pass
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(STOP_TIMEOUT_S)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(STOP_TIMEOUT_S)
            self._process = None
        if self._memory is not None:
            self._frame = None
            self._memory.close()
            self._memory.unlink()
            self._memory = None

    def __enter__(self) -> ProcessRenderer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _stopped(self) -> RenderProcessError:
        code = self._process.exitcode if self._process is not None else None
        return RenderProcessError(
            f"The render process stopped unexpectedly (exit code {code}); run `avatarcam doctor` "
            "and try again, or pick another backend with --backend.")

    def _wait(self, timeout_s: float, what: str) -> None:
        assert self._connection is not None
        try:
            ready = self._connection.poll(timeout_s)
        except (EOFError, OSError) as err:
            raise self._stopped() from err
        if not ready:
            raise RenderProcessError(
                f"The render process did not {what} within {timeout_s:g} s; the machine may be "
                "overloaded: close other programs or choose a smaller --size.")

    def _receive(self, timeout_s: float, what: str) -> tuple[str, str]:
        self._wait(timeout_s, what)
        assert self._connection is not None
        try:
            return self._connection.recv()
        except (EOFError, OSError) as err:
            raise self._stopped() from err

    def _receive_bytes(self, timeout_s: float) -> None:
        self._wait(timeout_s, "finish a frame")
        assert self._connection is not None
        try:
            self._connection.recv_bytes()
        except (EOFError, OSError) as err:
            raise self._stopped() from err
