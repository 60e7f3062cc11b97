"""The capture ring under a real concurrent producer and consumer."""

from __future__ import annotations

import threading
import time

import numpy as np

from avatarcam.audio.ring import AudioRing

RATE = 16_000
BLOCK = 160


def test_concurrent_producer_and_consumer_lose_and_duplicate_nothing() -> None:
    ring = AudioRing(RATE, capacity=4 * RATE, max_block=BLOCK)
    n_blocks = 3000
    received: list[np.ndarray] = []
    times: list[float] = []

    def produce() -> None:
        for b in range(n_blocks):
            # far faster than real time, but never more than half the ring ahead: on a
            # loaded machine the consumer may be descheduled for a while, and an overflow
            # would be lost audio that this test does not ask about
            while ring.available() > ring.capacity // 2:
                time.sleep(0.0005)
            block = np.arange(b * BLOCK, (b + 1) * BLOCK, dtype=np.float32)
            ring.write(block, 100.0 + b * BLOCK / RATE)
            if b % 50 == 0:
                time.sleep(0.001)

    producer = threading.Thread(target=produce)
    producer.start()
    total = 0
    while total < n_blocks * BLOCK:
        chunk = ring.read(int(np.random.default_rng(total).integers(1, 700)), timeout=5.0)
        assert chunk is not None, "the consumer starved although the producer was writing"
        received.append(chunk.samples)
        times.append(chunk.start_time)
        total += len(chunk.samples)
    producer.join()
    samples = np.concatenate(received)
    np.testing.assert_array_equal(samples, np.arange(n_blocks * BLOCK, dtype=np.float32))
    assert np.all(np.diff(times) > 0)
    # Each chunk's start time is the capture time of its first sample.
    starts = np.cumsum([0] + [len(r) for r in received[:-1]])
    np.testing.assert_allclose(times, 100.0 + starts / RATE, atol=1e-9)
    assert ring.overflow_samples == 0 and ring.overflow_events == 0


def test_stalled_consumer_counts_overflow_and_keeps_oldest_audio() -> None:
    ring = AudioRing(RATE, capacity=1600, max_block=BLOCK)
    for b in range(15):
        ring.write(np.full(BLOCK, b, dtype=np.float32), b * BLOCK / RATE)
    assert ring.available() == 1600
    assert ring.overflow_samples == 5 * BLOCK
    assert ring.overflow_events == 5
    chunk = ring.read(5000)
    assert chunk is not None
    np.testing.assert_array_equal(chunk.samples, np.repeat(np.arange(10, dtype=np.float32), BLOCK))


def test_chunk_never_spans_a_gap_in_capture_time() -> None:
    ring = AudioRing(RATE, capacity=1600, max_block=BLOCK)
    ring.write(np.ones(BLOCK, np.float32), 1.0)
    ring.write(np.ones(BLOCK, np.float32), 1.0 + BLOCK / RATE + 0.003)  # jitter: snapped
    ring.write(np.ones(BLOCK, np.float32), 5.0)  # a real gap (device reopened)
    first, second = ring.read(1000), ring.read(1000)
    assert first is not None and second is not None
    assert len(first.samples) == 2 * BLOCK and first.start_time == 1.0
    assert len(second.samples) == BLOCK and second.start_time == 5.0


def test_a_late_callback_never_dates_its_block_before_the_previous_one_ended() -> None:
    ring = AudioRing(RATE, capacity=1600, max_block=BLOCK)
    ring.write(np.ones(BLOCK, np.float32), 1.0)
    ring.write(np.ones(BLOCK, np.float32), 1.0 - 0.05)  # a busy machine's callback timestamp
    chunk = ring.read(1000)
    assert chunk is not None and len(chunk.samples) == 2 * BLOCK and chunk.start_time == 1.0
    ring.write(np.ones(BLOCK, np.float32), 0.5)
    later = ring.read(1000)
    assert later is not None and later.start_time == 1.0 + 2 * BLOCK / RATE


def test_read_times_out_when_nothing_arrives() -> None:
    ring = AudioRing(RATE, capacity=1600, max_block=BLOCK)
    started = time.monotonic()
    assert ring.read(100, timeout=0.05) is None
    assert time.monotonic() - started >= 0.04
