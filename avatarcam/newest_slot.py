"""One place between threads where the newest item wins: how the engine's output ticks
reach its render workers, its finished frames the sink thread, and the preview's frames
the thread that owns its window, without a queue.

In the engine, the ticker posts every output tick and the render workers take them. A
worker still busy when its next tick comes takes that tick as soon as it is done (it
catches up, a little late); a tick that waited a whole period for a worker is replaced by
the next one and counted as dropped. So a slow frame never builds a queue, and with two
workers a frame that is slow, as when the machine slows down for a moment, overlaps the
next one instead of costing it.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class NewestSlot(Generic[T]):
    """A one-place mailbox: posting replaces what nobody has taken yet."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._item: T | None = None
        self._closed = False

    def post(self, item: T) -> T | None:
        """Offer `item` to a taker; the item it replaced, which nobody took (None if none)."""
        with self._ready:
            replaced, self._item = self._item, item
            self._ready.notify()
            return replaced

    def take(self, timeout: float) -> T | None:
        """The waiting item, waiting up to `timeout` s for one; None if none came or the
        slot is closed."""
        with self._ready:
            self._ready.wait_for(lambda: self._item is not None or self._closed, timeout)
            if self._closed:
                return None
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake every waiting taker with nothing: the run is over."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
