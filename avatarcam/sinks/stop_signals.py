"""SIGTERM (and SIGHUP) handled like Ctrl-C, so a stopped run still cleans up.

Python's default SIGTERM ends the process on the spot: the camera stays open, the mp4 is
never finished and the virtual microphone stays loaded. Inside `stop_signals_interrupt()`
the first such signal raises KeyboardInterrupt in the main thread instead, so the `with`
blocks that own those resources close them; later ones are ignored while that runs.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Within the block, a stop signal raises KeyboardInterrupt once; the previous handlers
    come back afterwards. Outside the main thread (where Python allows no handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if raised:
            log.info("Still closing the outputs after %s; please wait.", signal.Signals(signum).name)
            return
        raised = True
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
