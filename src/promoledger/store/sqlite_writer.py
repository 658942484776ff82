"""SQLite's one writer at a time, queued so that a release wakes the next writer at once, and
its WAL checkpoints kept off the request path.

Left to SQLite, writers that find the database locked sleep in its busy handler and poll (up to
100 ms a nap), which wrecks throughput and tail latency; and every so many pages a committing
request runs the WAL checkpoint itself, fsync included. Here:

- threads of one process queue on a lock, and processes sharing the file queue on an
  ``flock`` of a lock file beside it. Both wake the next waiter as soon as the holder lets go;
  the kernel releases the lock of a process that dies, so a kill -9 never wedges the queue.
  The in-process wait is bounded (then 503); the cross-process wait is bounded by the holder's
  transaction, which runs database work only.
- automatic checkpoints are off on the request connections; one background thread per process
  runs a PASSIVE checkpoint (it never blocks readers or the writer) shortly after writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import weakref
from pathlib import Path

log = logging.getLogger("promoledger")

CHECKPOINT_INTERVAL_SECONDS = 0.2


class WriterQueue:
    """Who writes next, in this process and across processes on the same file."""

    def __init__(self, database_path: str | None) -> None:
        self._local = threading.Lock()
        self._lock_path = f"{database_path}-writer" if database_path else None
        self._fd: int | None = None
        self._checkpointer: _Checkpointer | None = None
        self._database_path = database_path

    def acquire(self, timeout: float) -> bool:
        if not self._local.acquire(timeout=timeout):
            return False
        try:
            fd = self._lock_fd()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks in C, GIL released; wakes on release
        except BaseException:
            self._local.release()
            raise
        return True

    def release(self, *, wrote: bool) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._local.release()
        if wrote and self._database_path:
            self._checkpoint_soon()

    def _lock_fd(self) -> int | None:
        if self._lock_path is None:
            return None
        if self._fd is None:
            self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def _checkpoint_soon(self) -> None:
        checkpointer = self._checkpointer
        if checkpointer is None or not checkpointer.is_alive():
            assert self._database_path is not None
            checkpointer = self._checkpointer = _Checkpointer(self, self._database_path)
            checkpointer.start()
        checkpointer.due.set()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class _Checkpointer(threading.Thread):
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` after writes, at most every interval.

    Holds only a weak reference to its queue: when the unit of work is dropped (a test's
    runtime, say) the thread ends by itself.
    """

    def __init__(self, owner: WriterQueue, path: str) -> None:
        super().__init__(name="promoledger-wal-checkpoint", daemon=True)
        self._owner = weakref.ref(owner)
        self._path = path
        self.due = threading.Event()
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()
        self.due.set()

    def run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopped.is_set() and self._owner() is not None:
                if not self.due.wait(timeout=5.0):
                    continue
                if self._stopped.wait(CHECKPOINT_INTERVAL_SECONDS):
                    break
                self.due.clear()
                if not Path(self._path).exists():
                    break
                if conn is None:
                    conn = sqlite3.connect(self._path, isolation_level=None)
                    conn.execute("PRAGMA busy_timeout=0")
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy with another checkpointer: next time
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            if conn is not None:
                conn.close()
