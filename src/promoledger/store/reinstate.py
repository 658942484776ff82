"""The statements of a reinstatement: what a request revoked, the records now, the conditional
UPDATE that puts them back.

What a request revoked is read from the audit trail (append-only: it still names a record after
the ledger row has moved on — reinstated, or revoked again by another request — which
``ended_request_id``, holding only the last end, cannot). The records are then read and written
by primary key, id lists bound as one parameter (``store.driver``), so a chunk of any size is
the same few statements.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Table, select

from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.reinstate import REVOKE_ACTIONS, RevokedItem
from promoledger.store import driver
from promoledger.store.ledger import record_of
from promoledger.store.tables import audit_events, customers, earns, enrolments


def _revoked_by() -> driver.Sql:
    # The action list is literal text, not parameters: only then can either database tell that
    # the partial index on revoke events (migration 0006) covers the query. No DISTINCT (the
    # caller's set removes duplicates): with it, SQLite chose an index that serves the order.
    actions = ", ".join(f"'{a}'" for a in REVOKE_ACTIONS)
    text = (
        "SELECT customer_id, entity_type, entity_id, promotion_id "
        f"FROM {audit_events.name} WHERE org_id = {{p}} AND request_id = {{p}} "
        f"AND action IN ({actions})"
    )
    return driver.Sql(text.format(p="?"), text.format(p="%s"))


REVOKED_BY = _revoked_by()


def revoked_by(conn: Connection, *, org_id: int, request_id: str) -> list[RevokedItem]:
    """Every enrolment and earn that ``request_id`` revoked in this org (audit events
    REVOKE_ENROL / REVOKE_EARN), each once, in decision order (customer, enrolments first)."""
    rows = driver.execute(conn, REVOKED_BY, (org_id, request_id))
    items = {RevokedItem(int(cid), str(kind), int(eid), int(pid)) for cid, kind, eid, pid in rows}
    return sorted(items, key=lambda i: i.sort_key)


_LOCK = driver.Sql(
    "SELECT id FROM customers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
    f"SELECT id FROM {customers.name} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
)


def lock_customers(conn: Connection, customer_ids: Collection[int]) -> None:
    """Hold these customers' rows until commit, in id order (PostgreSQL): every writer of a
    customer's ledger takes this lock, so the limits read next cannot change underneath.
    SQLite has one writer at a time: nothing to lock."""
    if customer_ids and not driver.is_sqlite(conn):
        driver.execute(conn, _LOCK, (driver.ids(conn, sorted(customer_ids)),))


def records(conn: Connection, table: Table, ids: Collection[int]) -> list[LedgerRecord]:
    """The full rows of these enrolments or earns (status, expiry, ended_request_id, the earn's
    enrolment), in id order."""
    if not ids:
        return []
    stmt = select(table).where(table.c.id.in_(sorted(ids))).order_by(table.c.id)
    return [record_of(row) for row in conn.execute(stmt)]


def _put_back(table: str) -> driver.Sql:
    head = (
        f"UPDATE {table} SET status = 'ACTIVE', ended_at = NULL, ended_by = NULL, "
        "ended_request_id = NULL WHERE "
    )
    tail = " AND status = 'REVOKED' AND ended_request_id = {p} RETURNING id"
    return driver.Sql(
        head + "id IN (SELECT value FROM json_each(?))" + tail.format(p="?"),
        head + "id = ANY(%s)" + tail.format(p="%s"),
    )


_PUT_BACK = {table.name: _put_back(table.name) for table in (enrolments, earns)}


def reinstate(conn: Connection, table: Table, ids: Collection[int], *, request_id: str) -> set[int]:
    """REVOKED → ACTIVE for those of ``ids`` still revoked by ``request_id``; the ids changed.

    The condition makes it exactly once: of two concurrent reinstatements of a record, the
    second finds it ACTIVE (PostgreSQL re-checks the row after the first commits; SQLite runs
    writers one at a time) and does not return it. A record revoked again by another request
    since is not this request's to put back. The record's ``ended_*`` columns are cleared (an
    ACTIVE record has not ended); the audit trail keeps its history.
    """
    if not ids:
        return set()
    params = (driver.ids(conn, sorted(ids)), request_id)
    return {int(row[0]) for row in driver.execute(conn, _PUT_BACK[table.name], params)}
