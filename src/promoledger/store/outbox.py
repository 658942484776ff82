"""The outbox: events collected during a transaction and written, in one statement, at commit.

``store.audit.record`` hands every audit change to ``collect``; the changes that are ledger
changes become pending events on the transaction's connection (``domain.events`` decides which
and groups them per customer and type). The unit of work calls ``flush`` as the last step before
COMMIT: one multi-row ``INSERT … SELECT`` that also reads each event's program and promotion
identifier from ``promotions`` (one join per transaction, not a lookup per customer).

Ids increase in commit order. SQLite writers are serialised by ``BEGIN IMMEDIATE``; on
PostgreSQL a sequence hands out ids in the order transactions ask, not the order they commit, so
``flush`` first takes a transaction-scoped advisory lock: the ids are drawn while holding it and
it is released by the commit itself, so a reader of the feed never sees a later id committed
before an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, select

from promoledger.domain import events as rules
from promoledger.domain.events import Event, EventKey, PendingEvent
from promoledger.store import driver
from promoledger.store.tables import events
from promoledger.store.types import utcnow

# Where a transaction's pending events live: the connection's info dict, emptied by ``begin``.
_KEY = "promoledger.outbox"
_TAGS = "promoledger.outbox.tags"
# pg_advisory_xact_lock key serialising the allocation of event ids (any fixed number).
ADVISORY_KEY = 7_301_110_001

Pending = dict[tuple[int, str | None], dict[EventKey, PendingEvent]]


def begin(conn: Connection) -> None:
    """Start collecting for a new transaction (drops anything a rolled-back one left)."""
    conn.info.pop(_KEY, None)
    conn.info.pop(_TAGS, None)


def tag(conn: Connection, **fields: Any) -> None:
    """Add ``fields`` to the ``data`` of every event this transaction commits (``jobId`` for
    the changes a job's chunk makes)."""
    conn.info.setdefault(_TAGS, {}).update(fields)


def _pending(conn: Connection, org_id: int, request_id: str | None) -> dict[EventKey, PendingEvent]:
    pending: Pending = conn.info.setdefault(_KEY, {})
    bucket = pending.get((org_id, request_id))
    if bucket is None:
        bucket = pending[(org_id, request_id)] = {}
    return bucket


def collect(
    conn: Connection,
    org_id: int | None,
    request_id: str | None,
    changes: Iterable[rules.ChangeLike],
) -> None:
    """Add the events these audit changes make to the transaction's outbox."""
    if org_id is None:
        return
    rules.from_changes(changes, _pending(conn, org_id, request_id))


def add(
    conn: Connection,
    org_id: int,
    request_id: str | None,
    event: PendingEvent,
) -> None:
    """Add one event that is not derived from audit changes (``job.completed``)."""
    bucket = _pending(conn, org_id, request_id)
    bucket[(event.type, event.customer_id, len(bucket))] = event


def flush(conn: Connection, *, at: datetime | None = None) -> int:
    """Write the transaction's pending events in one statement; how many. Called at commit."""
    pending: Pending | None = conn.info.pop(_KEY, None)
    tags: dict[str, Any] | None = conn.info.pop(_TAGS, None)
    if not pending:
        return 0
    dumps = orjson.dumps
    rows = [
        (
            org_id,
            e.type,
            request_id,
            e.customer_id,
            e.promotion_id,
            dumps({**e.data(), **tags} if tags else e.data()).decode(),
        )
        for (org_id, request_id), bucket in pending.items()
        for e in bucket.values()
    ]
    if not rows:
        return 0
    when = driver.bind_time(conn, at or utcnow())
    payload = dumps(rows).decode()  # all rows as one parameter, on both databases
    if driver.is_sqlite(conn):
        driver.execute(conn, _INSERT, (when, payload))
    else:
        driver.execute(conn, _INSERT, (when, ADVISORY_KEY, payload))
    return len(rows)


_COLUMNS = (
    "created_at, org_id, type, request_id, customer_id, promotion_id, program_id, "
    "promo_identifier, data"
)
_INSERT = driver.Sql(
    f"INSERT INTO {events.name} ({_COLUMNS}) "
    "SELECT ?, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, "
    "p.program_id, p.identifier, j.value ->> 5 "
    "FROM json_each(?) AS j LEFT JOIN promotions AS p ON p.id = j.value ->> 4 ORDER BY j.key",
    # The advisory lock is a one-row subquery joined to every row: it must be taken before the
    # join yields its first row, so before the first id is drawn (and a volatile function is
    # never inlined away). The rows travel as one JSON text: one parameter, no per-value
    # adaptation in the driver.
    f"INSERT INTO {events.name} ({_COLUMNS}) "
    "SELECT %s, (j.v ->> 0)::bigint, j.v ->> 1, j.v ->> 2, (j.v ->> 3)::bigint, "
    "(j.v ->> 4)::bigint, p.program_id, p.identifier, j.v ->> 5 "
    "FROM (SELECT pg_advisory_xact_lock(%s)) AS l, "
    "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(v, n) "
    "LEFT JOIN promotions AS p ON p.id = (j.v ->> 4)::bigint ORDER BY j.n",
)


def query(
    conn: Connection, *, org_id: int, after: int, limit: int, types: Iterable[str] | None = None
) -> list[Event]:
    """The org's events with id > ``after``, ascending."""
    conds = [events.c.org_id == org_id, events.c.id > after]
    wanted = list(types) if types is not None else None
    if wanted is not None:
        conds.append(events.c.type.in_(wanted))
    stmt = select(events).where(and_(*conds)).order_by(events.c.id).limit(limit)
    return [_event(row) for row in conn.execute(stmt)]


def by_ids(conn: Connection, ids: list[int]) -> list[Event]:
    stmt = select(events).where(events.c.id.in_(ids)).order_by(events.c.id)
    return [_event(row) for row in conn.execute(stmt)]


def _event(row: Any) -> Event:
    data: dict[str, Any] = {
        "customerId": row.customer_id,
        "programId": row.program_id,
        "promotionId": row.promotion_id,
        "promoIdentifier": row.promo_identifier,
    }
    data.update(orjson.loads(row.data))
    return Event(
        id=int(row.id),
        type=row.type,
        created_at=row.created_at,
        org_id=int(row.org_id),
        request_id=row.request_id,
        data=data,
    )
