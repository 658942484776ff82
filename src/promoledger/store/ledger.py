"""Reads of the ledger (enrolments and earns) shared by every bulk use case, and expiry.

Each function is one statement for the whole batch, served by the
(promotion_id, customer_id, status) indexes: O(batch), never O(table). Only the columns the
rules need are read: decoding timestamps nobody looks at was a measurable share of a request.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, select, update

from promoledger.domain.ledger import CustomerLedger, LedgerRecord
from promoledger.domain.vocabulary import Status
from promoledger.store.tables import earns, enrolments


def record_of(row: Row[Any]) -> LedgerRecord:
    """A full enrolment or earn row (every column) as the domain's record."""
    return LedgerRecord(
        id=int(row.id),
        customer_id=int(row.customer_id),
        status=Status(row.status),
        expires_at=row.expires_at,
        promotion_id=int(row.promotion_id),
        created_at=row.created_at,
        enrolment_id=getattr(row, "enrolment_id", None),
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        ended_request_id=row.ended_request_id,
    )


def ledgers(
    conn: Connection,
    promotion_id: int,
    customer_ids: Collection[int],
    *,
    with_enrolments: bool = True,
    only_active: bool = False,
) -> dict[int, CustomerLedger]:
    """The enrolments and earns of these customers in this promotion, in id order.

    Revokes only ever look at ACTIVE records (``only_active``), and REVOKE_EARN not at
    enrolments at all (``with_enrolments=False``); limits need every record.
    """
    result: dict[int, CustomerLedger] = {cid: CustomerLedger() for cid in customer_ids}
    if not customer_ids:
        return result
    ids = list(customer_ids)
    for table in (enrolments, earns) if with_enrolments else (earns,):
        stmt = (
            select(table.c.id, table.c.customer_id, table.c.status, table.c.expires_at)
            .where(table.c.promotion_id == promotion_id, table.c.customer_id.in_(ids))
            .order_by(table.c.id)
        )
        if only_active:
            stmt = stmt.where(table.c.status == "ACTIVE")
        pick = _enrolments_of if table is enrolments else _earns_of
        for rid, cid, status, expires_at in conn.execute(stmt).all():
            pick(result[cid]).append(LedgerRecord(rid, cid, Status(status), expires_at))
    return result


def _enrolments_of(ledger: CustomerLedger) -> list[LedgerRecord]:
    return ledger.enrolments


def _earns_of(ledger: CustomerLedger) -> list[LedgerRecord]:
    return ledger.earns


def end_active(
    conn: Connection,
    table: Table,
    ids: Collection[int],
    *,
    status: str,
    now: datetime,
    ended_by: str,
    request_id: str | None,
) -> set[int]:
    """ACTIVE → ``status`` (REVOKED, REPLACED, EXPIRED) for those of ``ids`` still ACTIVE.

    Returns exactly the ids it changed. ``WHERE id IN (...) AND status = 'ACTIVE'`` means a
    row is ended by exactly one transaction, whatever the number of concurrent requests or
    server processes: a second UPDATE of the same row either waits for the first to commit
    (PostgreSQL re-checks the condition and skips it) or runs after it (SQLite serialises
    writers). Callers compare what came back with what they decided and never report a row
    the UPDATE did not return.

    By primary key only: the ids were read from the promotion's ledger under the customer
    lock. With promotion_id in the WHERE, SQLite walked the whole promotion through its
    index instead of probing the rowids: O(table), not O(batch).
    """
    if not ids:
        return set()
    stmt = (
        update(table)
        .where(table.c.id.in_(sorted(ids)), table.c.status == "ACTIVE")
        .values(status=status, ended_at=now, ended_by=ended_by, ended_request_id=request_id)
        .returning(table.c.id)
    )
    return {int(r.id) for r in conn.execute(stmt)}
