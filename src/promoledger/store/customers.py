"""Customers, their sources and program memberships, and the ledger view of one customer.

Bulk creation is set-based: one lookup per identifier column, one multi-row insert per table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement, Connection, Row, delete, insert, or_, select, update

from promoledger.domain.customers import Customer
from promoledger.domain.ledger import LedgerRecord
from promoledger.store.ledger import record_of
from promoledger.store.tables import (
    credentials,
    customer_sources,
    customers,
    earns,
    enrolments,
    idempotency_keys,
    program_members,
)

IDENTIFIER_COLUMNS = ("mobile", "email", "external_id")


def taken(conn: Connection, *, org_id: int, column: str, values: Collection[str]) -> set[str]:
    """Which of these identifier values already belong to a customer of this org."""
    if not values:
        return set()
    col = customers.c[column]
    stmt = select(col).where(customers.c.org_id == org_id, col.in_(list(values)))
    return {str(v) for v in conn.execute(stmt).scalars()}


def insert_customers(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert many customers (batched multi-row INSERTs); the ids come back in ``rows`` order.

    RETURNING order is not guaranteed on every backend, and asking SQLAlchemy to sort it makes
    SQLite fall back to one INSERT per row; instead each returned id is matched back to its row
    through the row's first identifier, which is unique within the org.
    """
    if not rows:
        return []
    stmt = insert(customers).returning(
        customers.c.id, customers.c.mobile, customers.c.email, customers.c.external_id
    )
    id_of: dict[tuple[str, str], int] = {}
    for returned in conn.execute(stmt, list(rows)):
        column = _first_identifier(returned._mapping)
        id_of[(column, returned._mapping[column])] = int(returned.id)
    keys = [(column, row[column]) for row in rows for column in [_first_identifier(row)]]
    return [id_of[key] for key in keys]


def _first_identifier(row: Mapping[Any, Any]) -> str:
    return next(column for column in IDENTIFIER_COLUMNS if row[column] is not None)


def insert_sources(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(customer_sources), list(rows))


def insert_memberships(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(program_members), list(rows))


def customer_of(row: Row[Any]) -> Customer:
    return Customer(
        id=int(row.id),
        org_id=int(row.org_id),
        mobile=row.mobile,
        email=row.email,
        external_id=row.external_id,
        created_at=row.created_at,
        erased_at=row.erased_at,
    )


def get_customer(conn: Connection, *, org_id: int, customer_id: int) -> Customer | None:
    stmt = select(customers).where(customers.c.id == customer_id, customers.c.org_id == org_id)
    row = conn.execute(stmt).first()
    return None if row is None else customer_of(row)


def sources_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, list[str]]:
    """customer id → the sources it is registered in, sorted."""
    return _grouped(conn, customer_sources.c.customer_id, customer_sources.c.source, customer_ids)


def programs_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, list[int]]:
    """customer id → the programs it is a member of, ascending."""
    return _grouped(conn, program_members.c.customer_id, program_members.c.program_id, customer_ids)


def _grouped(
    conn: Connection, key: Column[Any], value: Column[Any], customer_ids: Collection[int]
) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    if customer_ids:
        stmt = select(key, value).where(key.in_(list(customer_ids))).order_by(key, value)
        for customer_id, item in conn.execute(stmt):
            found[customer_id].append(item)
    return found


def ledger_of(conn: Connection, customer_id: int) -> tuple[list[LedgerRecord], list[LedgerRecord]]:
    """Every enrolment and every earn of one customer, in every promotion, oldest first."""
    found: list[list[LedgerRecord]] = []
    for table in (enrolments, earns):
        stmt = select(table).where(table.c.customer_id == customer_id).order_by(table.c.id)
        found.append([record_of(row) for row in conn.execute(stmt)])
    return found[0], found[1]


# --- search, update, erase ----------------------------------------------------------------------
def _prefix(value: str) -> str:
    """A LIKE pattern matching values that start with ``value`` (its wildcards taken literally)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def search(
    conn: Connection, *, org_id: int, q: str, after_id: int | None, limit: int
) -> list[Customer]:
    """Customers (not erased) whose id equals ``q`` or whose mobile, email or externalId starts
    with it, ascending id, after ``after_id``."""
    pattern = _prefix(q)
    # Case-insensitive on both databases (SQLite's LIKE already is; PostgreSQL's is not).
    matches: list[ColumnElement[bool]] = [
        customers.c[column].ilike(pattern, escape="\\") for column in IDENTIFIER_COLUMNS
    ]
    if q.isascii() and q.isdigit() and len(q) <= 18:
        matches.append(customers.c.id == int(q))
    stmt = select(customers).where(
        customers.c.org_id == org_id, customers.c.erased_at.is_(None), or_(*matches)
    )
    if after_id is not None:
        stmt = stmt.where(customers.c.id > after_id)
    stmt = stmt.order_by(customers.c.id).limit(limit)
    return [customer_of(row) for row in conn.execute(stmt)]


def lock_customer(conn: Connection, *, org_id: int, customer_id: int) -> Customer | None:
    """The customer, row-locked until commit on PostgreSQL (SQLite writers are serialised)."""
    stmt = (
        select(customers)
        .where(customers.c.id == customer_id, customers.c.org_id == org_id)
        .with_for_update()
    )
    row = conn.execute(stmt).first()
    return None if row is None else customer_of(row)


def update_customer(conn: Connection, customer_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(customers).where(customers.c.id == customer_id).values(**values))


def replace_sources(conn: Connection, customer_id: int, sources: Sequence[str]) -> None:
    conn.execute(delete(customer_sources).where(customer_sources.c.customer_id == customer_id))
    insert_sources(conn, [{"customer_id": customer_id, "source": s} for s in sources])


def replace_memberships(
    conn: Connection, customer_id: int, program_ids: Sequence[int], *, joined_at: Any
) -> None:
    """Keep the memberships still wanted (with their join date), drop the others, add new ones."""
    have = set(programs_of(conn, [customer_id]).get(customer_id, []))
    gone = have - set(program_ids)
    if gone:
        conn.execute(
            delete(program_members).where(
                program_members.c.customer_id == customer_id,
                program_members.c.program_id.in_(sorted(gone)),
            )
        )
    insert_memberships(
        conn,
        [
            {"program_id": pid, "customer_id": customer_id, "joined_at": joined_at}
            for pid in program_ids
            if pid not in have
        ],
    )


def forget_answers_naming(conn: Connection, *, org_id: int, values: Collection[str]) -> int:
    """Delete the org's stored Idempotency-Key answers that contain any of ``values`` (as JSON
    strings), so an erased identifier survives nowhere. Stored answers live a day or so; an
    erase is rare, so reading them is acceptable. Returns how many were dropped."""
    if not values:
        return 0
    needles = [orjson.dumps(v) for v in values]
    org_credentials = select(credentials.c.id).where(credentials.c.org_id == org_id)
    stmt = select(
        idempotency_keys.c.credential_id, idempotency_keys.c.key, idempotency_keys.c.response_body
    ).where(
        idempotency_keys.c.credential_id.in_(org_credentials),
        idempotency_keys.c.response_body.is_not(None),
    )
    doomed = [
        (row.credential_id, row.key)
        for row in conn.execute(stmt)
        if any(n in bytes(row.response_body) for n in needles)
    ]
    for credential_id, key in doomed:
        conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.credential_id == credential_id, idempotency_keys.c.key == key
            )
        )
    return len(doomed)
