"""The bulk hot path's statements, sent to the database driver directly.

A 100-customer bulk request runs a handful of statements, each carrying a list of ids. Through
SQLAlchemy Core, building, caching and binding those statements (an expanding parameter per id,
a type processor per value) cost more CPU than the database's own work. Here each statement is
a constant string per dialect, executed on the connection's DBAPI cursor inside the unit of
work's transaction:

- a list of ids is *one* parameter: a JSON array read with ``json_each`` on SQLite, an array
  compared with ``= ANY`` on PostgreSQL — so the text never changes with the batch size and
  both drivers reuse their prepared statement (sqlite3's statement cache, psycopg's automatic
  prepare);
- timestamps are bound and read through ``store.types.UtcDateTime``'s own processors (naive UTC
  ISO text on SQLite, timestamptz on PostgreSQL), so rows written here and through SQLAlchemy
  are indistinguishable.

Everything else (configuration, admin reads) stays on SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from promoledger.store.types import UtcDateTime


@dataclass(frozen=True, slots=True)
class Sql:
    """One statement in each dialect's own placeholder style (qmark / format)."""

    sqlite: str
    postgresql: str

    def text(self, conn: Connection) -> str:
        return self.sqlite if conn.dialect.name == "sqlite" else self.postgresql


def cursor(conn: Connection) -> Any:
    """The DBAPI cursor of ``conn``: same connection, same transaction."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def execute(conn: Connection, sql: Sql, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement; its rows (none for a statement without RETURNING)."""
    return _run(conn, sql, params, many=False)


def execute_many(conn: Connection, sql: Sql, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement once per row (the driver's executemany)."""
    if rows:
        _run(conn, sql, rows, many=True)


def _run(conn: Connection, sql: Sql, params: Any, *, many: bool) -> list[tuple[Any, ...]]:
    text = sql.text(conn)
    cur = cursor(conn)
    try:
        _announce(conn, cur, text, params, many=many)
        with _as_sqlalchemy_errors(conn, cur, text, params):
            if many:
                cur.executemany(text, params)
                return []
            cur.execute(text, params)
            return list(cur.fetchall()) if cur.description is not None else []
    finally:
        cur.close()


def _announce(conn: Connection, cur: Any, text: str, params: Any, *, many: bool) -> None:
    # Listeners of ``before_cursor_execute`` (statement counters, tracing) see these statements
    # like any other; with none registered this is one attribute test.
    if conn._has_events or conn.engine._has_events:
        conn.dispatch.before_cursor_execute(conn, cur, text, params, None, many)


@contextmanager
def _as_sqlalchemy_errors(conn: Connection, cur: Any, text: str, params: Any) -> Iterator[None]:
    """Driver errors surface as SQLAlchemy's, so the unit of work maps them as it maps any
    other (an outage or a cancelled statement → 503); a lost connection leaves the pool."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cur)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            text, params, exc, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from exc


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def ids(conn: Connection, values: Collection[Any]) -> Any:
    """A list of ids (or keys) as the single parameter the statements here expect."""
    return orjson.dumps(list(values)).decode() if is_sqlite(conn) else list(values)


def rows_param(rows: Sequence[Sequence[Any]]) -> str:
    """Rows of values for ``INSERT … SELECT FROM json_each`` (SQLite only)."""
    return orjson.dumps(rows).decode()


def bind_time(conn: Connection, when: datetime | None) -> Any:
    """``when`` as the driver must receive it for a ``UtcDateTime`` column."""
    return _time_processors(conn.dialect)[0](when)


def time_reader(conn: Connection) -> Callable[[Any], datetime | None]:
    """Turns a ``UtcDateTime`` column as the driver returns it into an aware UTC datetime."""
    return _time_processors(conn.dialect)[1]


_TIME_PROCESSORS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}


def _time_processors(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    found = _TIME_PROCESSORS.get(dialect.name)
    if found is None:
        column_type = UtcDateTime().dialect_impl(dialect)
        bind = column_type.bind_processor(dialect) or _unchanged
        read = column_type.result_processor(dialect, None) or _unchanged
        found = _TIME_PROCESSORS[dialect.name] = (bind, read)
    return found


def _unchanged(value: Any) -> Any:
    return value
