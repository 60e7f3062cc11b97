"""The one-place mailbox between the ticker, the render workers and the sink thread."""

from __future__ import annotations

import threading
import time

from avatarcam.newest_slot import NewestSlot


def test_an_item_is_taken_once() -> None:
    slot = NewestSlot[int]()
    assert slot.post(0) is None
    assert slot.take(timeout=0.01) == 0
    assert slot.take(timeout=0.01) is None


def test_an_item_nobody_took_is_replaced_and_handed_back() -> None:
    slot = NewestSlot[int]()
    slot.post(0)
    assert slot.post(1) == 0  # nobody took 0: the caller drops it
    assert slot.take(timeout=0.01) == 1
    assert slot.post(2) is None


def test_a_waiting_taker_wakes_for_an_item() -> None:
    slot = NewestSlot[int]()
    taken: list[int | None] = []
    worker = threading.Thread(target=lambda: taken.append(slot.take(timeout=2.0)))
    worker.start()
    time.sleep(0.05)
    slot.post(7)
    worker.join(timeout=2.0)
    assert taken == [7]


def test_closing_wakes_every_taker_with_nothing() -> None:
    slot = NewestSlot[int]()
    taken: list[int | None] = []
    workers = [threading.Thread(target=lambda: taken.append(slot.take(timeout=5.0))) for _ in range(2)]
    for worker in workers:
        worker.start()
    time.sleep(0.05)
    began = time.monotonic()
    slot.close()
    for worker in workers:
        worker.join(timeout=5.0)
    assert taken == [None, None] and time.monotonic() - began < 1.0
    slot.post(3)
    assert slot.take(timeout=0.01) is None  # closed for good
