"""The writes of ENROL and EARN: one statement per kind of change, whatever the batch size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, insert

from promoledger.domain.vocabulary import Status
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


def _insert(
    conn: Connection, table: Table, stamp: Stamp, records: Sequence[NewRecord]
) -> list[int]:
    if not records:
        return []
    rows: list[dict[str, Any]] = []
    for r in records:
        row: dict[str, Any] = {
            "org_id": stamp.org_id,
            "promotion_id": stamp.promotion_id,
            "customer_id": r.customer_id,
            "status": r.status.value,
            "created_at": stamp.now,
            "expires_at": r.expires_at,
            "ended_at": stamp.now if r.ended else None,
            "ended_by": stamp.actor if r.ended else None,
            "ended_request_id": stamp.request_id if r.ended else None,
        }
        if table is earns:
            row["enrolment_id"] = r.enrolment_id
        rows.append(row)
    # Not ``sort_by_parameter_order=True``: SQLite has no implicit sentinel, and SQLAlchemy would
    # fall back to one INSERT per row. Rows are told apart by what they hold instead; rows that
    # hold the same values (one customer earning twice) are interchangeable, and get ids in
    # ascending order, as the entries would have if applied one after another.
    stmt = insert(table).returning(table.c.id, table.c.customer_id, table.c.status)
    returned: dict[tuple[int, str], list[int]] = defaultdict(list)
    for got in conn.execute(stmt, rows):
        returned[(int(got.customer_id), got.status)].append(int(got.id))
    for ids in returned.values():
        ids.sort(reverse=True)
    return [returned[(r.customer_id, r.status.value)].pop() for r in records]
