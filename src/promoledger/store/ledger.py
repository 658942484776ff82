"""Reads of the ledger (enrolments and earns) shared by every bulk use case, and expiry.

Each function is one statement for the whole batch: the reads are served by the
(customer_id, promotion_id, status) indexes — customer first, so a batch probes its customers
whatever the size of the promotion (PostgreSQL on stale statistics walked a whole promotion
through a promotion-first index) — and the UPDATE goes by primary key: O(batch), never
O(table). Only the columns the rules need are read.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table

from promoledger.domain.ledger import CustomerLedger, LedgerRecord
from promoledger.domain.vocabulary import STATUS_OF, Status
from promoledger.store import driver
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


def _select(table: str, only_active: bool) -> driver.Sql:
    active = " AND status = 'ACTIVE'" if only_active else ""
    head = f"SELECT id, customer_id, status, expires_at FROM {table} WHERE promotion_id = "
    return driver.Sql(
        f"{head}? AND customer_id IN (SELECT value FROM json_each(?)){active} ORDER BY id",
        f"{head}%s AND customer_id = ANY(%s){active} ORDER BY id",
    )


_SELECT = {
    (table, only_active): _select(table, only_active)
    for table in (enrolments.name, earns.name)
    for only_active in (False, True)
}


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
    keys = driver.ids(conn, customer_ids)
    read_time = driver.time_reader(conn)
    status_of = STATUS_OF.__getitem__
    for table in (enrolments, earns) if with_enrolments else (earns,):
        rows = driver.execute(conn, _SELECT[(table.name, only_active)], (promotion_id, keys))
        pick = _enrolments_of if table is enrolments else _earns_of
        for rid, cid, status, expires_at in rows:
            pick(result[cid]).append(
                LedgerRecord(rid, cid, status_of(status), read_time(expires_at))
            )
    return result


def _enrolments_of(ledger: CustomerLedger) -> list[LedgerRecord]:
    return ledger.enrolments


def _earns_of(ledger: CustomerLedger) -> list[LedgerRecord]:
    return ledger.earns


def _end(table: str) -> driver.Sql:
    head = f"UPDATE {table} SET status = "
    return driver.Sql(
        f"{head}?, ended_at = ?, ended_by = ?, ended_request_id = ? "
        "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'ACTIVE' RETURNING id",
        f"{head}%s, ended_at = %s, ended_by = %s, ended_request_id = %s "
        "WHERE id = ANY(%s) AND status = 'ACTIVE' RETURNING id",
    )


_END = {table.name: _end(table.name) for table in (enrolments, earns)}


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
    params = (
        status,
        driver.bind_time(conn, now),
        ended_by,
        request_id,
        driver.ids(conn, sorted(ids)),
    )
    return {row[0] for row in driver.execute(conn, _END[table.name], params)}
