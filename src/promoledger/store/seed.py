"""Seeded data (the demo): bulk ledger inserts (the caller audits them) and a few lookups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, insert, select

from promoledger.store.tables import customers, earns, enrolments, orgs, programs


def insert_enrolments(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Row[Any]]:
    """Insert enrolments; returns (id, customer_id, promotion_id) rows, in no particular order."""
    return _insert(conn, enrolments, rows)


def insert_earns(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Row[Any]]:
    """Insert earns; returns (id, customer_id, promotion_id) rows, in no particular order."""
    return _insert(conn, earns, rows)


def _insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[Row[Any]]:
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, table.c.customer_id, table.c.promotion_id)
    return list(conn.execute(stmt, list(rows)).all())


def any_org_id(conn: Connection) -> int | None:
    row = conn.execute(select(orgs.c.id).order_by(orgs.c.id).limit(1)).first()
    return int(row.id) if row else None


def first_program_id(conn: Connection, org_id: int) -> int | None:
    stmt = select(programs.c.id).where(programs.c.org_id == org_id).order_by(programs.c.id)
    row = conn.execute(stmt.limit(1)).first()
    return int(row.id) if row else None


def first_mobile(conn: Connection, org_id: int) -> str | None:
    stmt = (
        select(customers.c.mobile)
        .where(customers.c.org_id == org_id, customers.c.mobile.is_not(None))
        .order_by(customers.c.id)
        .limit(1)
    )
    return conn.execute(stmt).scalar()
