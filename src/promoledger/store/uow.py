"""The unit of work: the one place a transaction is opened and committed.

Services call ``write()`` or ``read()``; nothing else commits. A database failure surfaces
as ``DatabaseUnavailable`` (503 + Retry-After), never as a half-applied request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from promoledger.domain.errors import DatabaseUnavailable


class UnitOfWork:
    def __init__(self, engine: Engine, *, write_wait_seconds: float = 5.0) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time. Threads of this process queue for it here, where a
        # release wakes the next writer at once; left to SQLite's busy handler they would poll
        # with sleeps of up to 100 ms, which wrecks both throughput and tail latency. Other
        # processes on the same file still meet at BEGIN IMMEDIATE and the busy timeout.
        self._writer = threading.Lock() if self.dialect == "sqlite" else None
        self._write_wait = write_wait_seconds

    @contextmanager
    def write(self, *, dry_run: bool = False) -> Iterator[Connection]:
        """A write transaction: BEGIN IMMEDIATE on SQLite, READ COMMITTED on PostgreSQL.

        With ``dry_run`` everything runs exactly as for real and is then rolled back.
        """
        if self._writer is None:
            with self._transaction(dry_run) as conn:
                yield conn
            return
        if not self._writer.acquire(timeout=self._write_wait):
            raise DatabaseUnavailable("timed out waiting for the database write lock")
        try:
            with self._transaction(dry_run) as conn:
                yield conn
        finally:
            self._writer.release()

    @contextmanager
    def _transaction(self, dry_run: bool) -> Iterator[Connection]:
        with _translate_outage(), self.engine.connect() as conn:
            if dry_run:
                tx = conn.begin()
                try:
                    yield conn
                finally:
                    tx.rollback()
                return
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that never takes the SQLite write lock."""
        with (
            _translate_outage(),
            self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn,
            conn.begin(),
        ):
            yield conn
            # Read transactions have nothing to keep; ending them here keeps WAL checkpoints moving.


@contextmanager
def _translate_outage() -> Iterator[None]:
    try:
        yield
    except PoolTimeout as exc:
        raise DatabaseUnavailable("no database connection available") from exc
    except OperationalError as exc:
        raise DatabaseUnavailable(_reason(exc)) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable("database connection lost") from exc
        raise


def _reason(exc: OperationalError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else "database error"
    return text[:200]
