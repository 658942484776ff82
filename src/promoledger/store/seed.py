"""Lookups the demo needs to find (and describe) the data it seeded earlier."""

from __future__ import annotations

from sqlalchemy import Connection, select

from promoledger.store.tables import customers, orgs, programs


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
