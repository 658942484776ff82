"""The password-hash executor: bounded, shared by same-secret requests, and a dummy hash for a
made-up name only when a worker is idle (no database involved)."""

from __future__ import annotations

import asyncio
import threading

from promoledger.services.hashing import HashPool, outcome


def test_the_queue_is_bounded_and_made_up_names_never_wait() -> None:
    pool = HashPool(workers=1, queue=1)
    gate = threading.Event()

    def slow() -> bool:
        gate.wait(timeout=30)
        return True

    try:
        running = pool.start_or_join("a", slow)
        queued = pool.start_or_join("b", slow)
        assert running is not None
        assert queued is not None
        assert pool.start_or_join("a", slow) is running  # the same secret shares the hash
        assert pool.start_or_join("c", slow) is None  # full: shed, the caller answers 429
        assert pool.start_if_idle(slow) is None  # no idle worker: no dummy hash at all
        gate.set()
        assert asyncio.run(outcome(running)) is True
        assert asyncio.run(outcome(queued)) is True
        dummy = pool.start_if_idle(lambda: False)
        assert dummy is not None
        assert asyncio.run(outcome(dummy)) is False
    finally:
        gate.set()
        pool.close()


def test_a_closed_pool_starts_again_on_next_use() -> None:
    pool = HashPool(workers=1, queue=0)
    pool.close()
    flight = pool.start_or_join("a", lambda: True)
    assert flight is not None
    assert asyncio.run(outcome(flight)) is True
    pool.close()
