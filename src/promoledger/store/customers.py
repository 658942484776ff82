"""Customers, their sources and program memberships, and the ledger view of one customer.

Bulk creation is set-based: one lookup per identifier column, one multi-row insert per table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Row, insert, select

from promoledger.domain.customers import Customer
from promoledger.domain.ledger import LedgerRecord
from promoledger.store.ledger import record_of
from promoledger.store.tables import (
    customer_sources,
    customers,
    earns,
    enrolments,
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
