"""The unit of work: the one place a transaction is opened and committed.

Services call ``apply(work)`` (or ``write()``/``read()``); nothing else commits. Whatever must
commit together with a request's change without being part of the use case (the stored
idempotent answer) is handed to the unit of work by the edge as a commit hook
(``with_commit_hook``): ``apply`` runs it on the work's result as the last statement of the
transaction. The outbox events the change made (``store.outbox``) are written after that, as
the very last statement before COMMIT. A database failure surfaces as ``DatabaseUnavailable``
(503 + Retry-After), never as a half-applied request.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from promoledger.domain.errors import DatabaseUnavailable
from promoledger.store import outbox
from promoledger.store.sqlite_writer import WriterQueue

T = TypeVar("T")
# Called with (connection, result) inside the transaction, just before it commits.
CommitHook = Callable[[Connection, Any], None]


class UnitOfWork:
    def __init__(self, engine: Engine, *, write_wait_seconds: float = 5.0) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time: writers queue for it (threads and processes alike)
        # where a release wakes the next one at once, and WAL checkpoints run in the background.
        self._writer = WriterQueue(_file_of(engine)) if self.dialect == "sqlite" else None
        self._write_wait = write_wait_seconds
        self._on_commit: CommitHook | None = None

    def with_commit_hook(self, hook: CommitHook) -> UnitOfWork:
        """This unit of work (same engine, same writer queue), running ``hook`` at commit."""
        bound = copy.copy(self)
        bound._on_commit = hook
        return bound

    def apply(self, work: Callable[[Connection], T], *, dry_run: bool = False) -> T:
        """Run ``work`` in one write transaction and commit (roll back with ``dry_run``).

        The commit hook, if any, sees the result inside the same transaction; a hook that
        raises rolls the whole change back. Nothing else runs while the write lock is held:
        callers shape their answer after this returns.
        """
        with self.write(dry_run=dry_run) as conn:
            result = work(conn)
            if self._on_commit is not None and not dry_run:
                self._on_commit(conn, result)
        return result

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
            self._writer.release(wrote=not dry_run)

    def close(self) -> None:
        """Stop the background work this unit of work started (SQLite's WAL checkpoints)."""
        if self._writer is not None:
            self._writer.close()

    @contextmanager
    def _transaction(self, dry_run: bool) -> Iterator[Connection]:
        with _translate_outage(), self.engine.connect() as conn:
            if dry_run:
                tx = conn.begin()
                outbox.begin(conn)
                try:
                    yield conn
                finally:
                    outbox.begin(conn)  # a dry run's events are dropped with its changes
                    tx.rollback()
                return
            with conn.begin():
                outbox.begin(conn)
                yield conn
                # The events the change made commit with it, in one statement, last.
                outbox.flush(conn)

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


def _file_of(engine: Engine) -> str | None:
    """The SQLite database file, or None for an in-memory database."""
    name = engine.url.database
    return None if not name or name == ":memory:" or name.startswith("file:") else name


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
