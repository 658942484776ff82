"""Promotions: their configuration rows (the ledger lives in enrolments and earns)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from promoledger.store.tables import promotions


def insert_promotion(conn: Connection, values: Mapping[str, Any]) -> Row[Any]:
    return conn.execute(insert(promotions).values(**values).returning(promotions)).one()


def get_promotion(
    conn: Connection, *, org_id: int, promotion_id: int, lock: bool = False
) -> Row[Any] | None:
    """A promotion of this org. ``lock`` holds the row until commit (PostgreSQL; SQLite writers
    already hold the database write lock)."""
    stmt = select(promotions).where(promotions.c.id == promotion_id, promotions.c.org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def identifier_taken(conn: Connection, *, org_id: int, identifier: str) -> bool:
    stmt = select(promotions.c.id).where(
        promotions.c.org_id == org_id, promotions.c.identifier == identifier
    )
    return conn.execute(stmt).first() is not None


def list_for_program(conn: Connection, *, org_id: int, program_id: int) -> list[Row[Any]]:
    stmt = (
        select(promotions)
        .where(promotions.c.org_id == org_id, promotions.c.program_id == program_id)
        .order_by(promotions.c.id)
    )
    return list(conn.execute(stmt).all())


def by_ids(conn: Connection, *, org_id: int, promotion_ids: Collection[int]) -> list[Row[Any]]:
    if not promotion_ids:
        return []
    stmt = (
        select(promotions)
        .where(promotions.c.org_id == org_id, promotions.c.id.in_(list(promotion_ids)))
        .order_by(promotions.c.id)
    )
    return list(conn.execute(stmt).all())


def update_promotion(conn: Connection, *, promotion_id: int, values: Mapping[str, Any]) -> Row[Any]:
    stmt = (
        update(promotions)
        .where(promotions.c.id == promotion_id)
        .values(**values)
        .returning(promotions)
    )
    return conn.execute(stmt).one()
