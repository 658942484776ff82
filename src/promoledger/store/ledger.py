"""Reads of the ledger (enrolments and earns) shared by every bulk use case, and expiry.

Each function is one statement for the whole batch, served by the
(promotion_id, customer_id, status) indexes: O(batch), never O(table).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, select, update

from promoledger.store.tables import earns, enrolments


@dataclass(slots=True)
class CustomerLedger:
    """One customer's records in one promotion, as the per-customer rules need them."""

    enrolments: list[Row[Any]] = field(default_factory=list)
    earns: list[Row[Any]] = field(default_factory=list)


def ledgers(
    conn: Connection, promotion_id: int, customer_ids: Collection[int]
) -> dict[int, CustomerLedger]:
    """Every enrolment and earn of these customers in this promotion, in id order."""
    result: dict[int, CustomerLedger] = {cid: CustomerLedger() for cid in customer_ids}
    if not customer_ids:
        return result
    ids = list(customer_ids)
    for table, attr in ((enrolments, "enrolments"), (earns, "earns")):
        stmt = (
            select(table)
            .where(table.c.promotion_id == promotion_id, table.c.customer_id.in_(ids))
            .order_by(table.c.id)
        )
        for row in conn.execute(stmt):
            getattr(result[int(row.customer_id)], attr).append(row)
    return result


@dataclass(frozen=True, slots=True)
class Expired:
    table: str  # "enrolments" or "earns"
    id: int
    customer_id: int


def expire_due(
    conn: Connection, promotion_id: int, customer_ids: Collection[int], now: datetime
) -> list[Expired]:
    """Mark these customers' ACTIVE records past their expiry as EXPIRED; return what changed.

    Run at the start of every bulk write, so the rules never see a stale ACTIVE record. The
    caller audits the returned changes.
    """
    if not customer_ids:
        return []
    ids = list(customer_ids)
    changed: list[Expired] = []
    for table in (enrolments, earns):
        changed.extend(_expire(conn, table, promotion_id, ids, now))
    return changed


def _expire(
    conn: Connection, table: Table, promotion_id: int, ids: list[int], now: datetime
) -> list[Expired]:
    stmt = (
        update(table)
        .where(
            table.c.promotion_id == promotion_id,
            table.c.customer_id.in_(ids),
            table.c.status == "ACTIVE",
            table.c.expires_at.is_not(None),
            table.c.expires_at <= now,
        )
        .values(status="EXPIRED", ended_at=now, ended_by="SYSTEM")
        .returning(table.c.id, table.c.customer_id)
    )
    return [Expired(table.name, int(r.id), int(r.customer_id)) for r in conn.execute(stmt)]
