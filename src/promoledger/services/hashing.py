"""Password hashes on their own small executor, awaited from async code.

argon2id costs tens of milliseconds and ~64 MiB per verification, on purpose. Run on the
thread pool that serves every request, a flood of made-up credentials once held all of its
threads waiting for a hash slot, and a legitimate request took 18 s. Here a hash never holds a
thread of that pool: the request awaits it, and the executor's queue is bounded, so excess is
shed at once instead of queueing without end:

- ``start_or_join``: a hash for a credential that exists. Requests with the same secret for
  the same credential share one hash (a cold cache under load costs one argon2, not eight);
  otherwise it takes a worker or a queue place, or is refused (the caller answers 429).
- ``start_if_idle``: the constant-time dummy hash for a name that does not exist. It only runs
  when a worker is idle, so a flood of unknown names never queues ahead of real credentials.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

HASH_WORKERS = 2  # argon2id verifications at once per process (memory bound)
HASH_QUEUE = 16  # waiting verifications for existing credentials before shedding


class HashPool:
    def __init__(self, workers: int = HASH_WORKERS, queue: int = HASH_QUEUE) -> None:
        self._executor: ThreadPoolExecutor | None = None  # started on first use, again after close
        self._workers = workers
        self._capacity = workers + queue
        self._lock = threading.Lock()
        self._admitted = 0  # running or queued
        self._flights: dict[Hashable, Future[bool]] = {}

    def start_or_join(self, key: Hashable, check: Callable[[], bool]) -> Future[bool] | None:
        """The hash already running for ``key``, else a new one; None when the queue is full."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight
            if self._admitted >= self._capacity:
                return None
            self._admitted += 1
            flight = self._submit(check)
            self._flights[key] = flight
        flight.add_done_callback(partial(self._landed, key))
        return flight

    def start_if_idle(self, check: Callable[[], bool]) -> Future[bool] | None:
        """A hash only if a worker is free right now; None otherwise."""
        with self._lock:
            if self._admitted >= self._workers:
                return None
            self._admitted += 1
            flight = self._submit(check)
        flight.add_done_callback(partial(self._landed, None))
        return flight

    def _landed(self, key: Hashable | None, _flight: Future[bool]) -> None:
        with self._lock:
            self._admitted -= 1
            if key is not None:
                self._flights.pop(key, None)

    def _submit(self, check: Callable[[], bool]) -> Future[bool]:
        """Called with the lock held."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="argon2")
        return self._executor.submit(check)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


async def outcome(flight: Future[bool]) -> bool:
    """Await a hash from async code. Shielded: a request that goes away does not cancel a hash
    that other requests share."""
    return await asyncio.shield(asyncio.wrap_future(flight))
