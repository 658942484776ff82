"""The writes of ENROL and EARN: one statement per kind of change, whatever the batch size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

from promoledger.domain.vocabulary import Status
from promoledger.store import driver
from promoledger.store.tables import earns, enrolments


@dataclass(frozen=True, slots=True)
class Stamp:
    """What every row this request writes is stamped with."""

    org_id: int
    promotion_id: int
    now: datetime
    actor: str
    request_id: str


@dataclass(frozen=True, slots=True)
class NewRecord:
    customer_id: int
    status: Status
    expires_at: datetime | None
    enrolment_id: int | None = None  # earns only
    ended: bool = False  # created already superseded (REPLACED within the same request)


def insert_enrolments(conn: Connection, stamp: Stamp, records: Sequence[NewRecord]) -> list[int]:
    """Insert in one multi-row statement; returns the ids in the order of ``records``."""
    return _insert(conn, enrolments, stamp, records)


def insert_earns(conn: Connection, stamp: Stamp, records: Sequence[NewRecord]) -> list[int]:
    """Insert in one multi-row statement; returns the ids in the order of ``records``."""
    return _insert(conn, earns, stamp, records)


def _insert_sql(table: str, with_enrolment: bool) -> driver.Sql:
    columns = "org_id, promotion_id, created_at, expires_at, customer_id, status, ended_at, "
    columns += "ended_by, ended_request_id" + (", enrolment_id" if with_enrolment else "")
    picks = ", ".join(f"value ->> {i}" for i in range(6 if with_enrolment else 5))
    unnest = "u.c, u.s, u.ea, u.eb, u.er" + (", u.en" if with_enrolment else "")
    arrays = "%s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::text[]"
    arrays += ", %s::bigint[]" if with_enrolment else ""
    names = "c, s, ea, eb, er" + (", en" if with_enrolment else "")
    returning = " RETURNING id, customer_id, status"
    return driver.Sql(
        f"INSERT INTO {table} ({columns}) SELECT ?, ?, ?, ?, {picks} FROM json_each(?)" + returning,
        f"INSERT INTO {table} ({columns}) SELECT %s, %s, %s, %s, {unnest} "
        f"FROM unnest({arrays}) AS u({names})" + returning,
    )


_INSERT = {
    enrolments.name: _insert_sql(enrolments.name, False),
    earns.name: _insert_sql(earns.name, True),
}


def _insert(
    conn: Connection, table: Table, stamp: Stamp, records: Sequence[NewRecord]
) -> list[int]:
    """One INSERT … SELECT for the whole batch (rows as one JSON or array parameter each).

    RETURNING order is not guaranteed, so rows are told apart by what they hold; rows that
    hold the same values (one customer earning twice) are interchangeable, and get ids in
    ascending order, as the entries would have if applied one after another.
    """
    if not records:
        return []
    with_enrolment = table is earns
    now = driver.bind_time(conn, stamp.now)
    expires = {r.expires_at for r in records}
    assert len(expires) == 1, "one request's records of one kind share their expiry"
    head = (stamp.org_id, stamp.promotion_id, now, driver.bind_time(conn, expires.pop()))
    columns = [
        [r.customer_id for r in records],
        [r.status.value for r in records],
        [now if r.ended else None for r in records],
        [stamp.actor if r.ended else None for r in records],
        [stamp.request_id if r.ended else None for r in records],
    ]
    if with_enrolment:
        columns.append([r.enrolment_id for r in records])
    if driver.is_sqlite(conn):
        params: tuple[Any, ...] = (*head, driver.rows_param(list(zip(*columns, strict=True))))
    else:
        params = (*head, *columns)
    returned: dict[tuple[int, str], list[int]] = defaultdict(list)
    for rid, cid, status in driver.execute(conn, _INSERT[table.name], params):
        returned[(cid, status)].append(rid)
    for ids in returned.values():
        ids.sort(reverse=True)
    return [returned[(r.customer_id, r.status.value)].pop() for r in records]
