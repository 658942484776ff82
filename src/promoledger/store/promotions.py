"""Promotions: their configuration rows (the ledger lives in enrolments and earns)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import ExpiryRule, PromotionType
from promoledger.store.tables import promotions


def promotion_of(row: Any) -> Promotion:
    """The one mapping of a promotions row (every column, by name) to the domain's type."""
    return Promotion(
        id=int(row.id),
        org_id=int(row.org_id),
        program_id=int(row.program_id),
        identifier=row.identifier,
        name=row.name,
        type=PromotionType(row.type),
        active=bool(row.active),
        start_date=row.start_date,
        end_date=row.end_date,
        enrolments_per_customer=int(row.enrolments_per_customer),
        earns_per_customer=int(row.earns_per_customer),
        enrolment_expiry=ExpiryRule(row.enrolment_expiry) if row.enrolment_expiry else None,
        enrolment_expiry_days=row.enrolment_expiry_days,
        earn_expiry=ExpiryRule(row.earn_expiry) if row.earn_expiry else None,
        earn_expiry_days=row.earn_expiry_days,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def settings_columns(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Domain settings → table columns (an expiry spec is two columns)."""
    columns: dict[str, Any] = {}
    for key, value in settings.items():
        if key in ("enrolment_expiry", "earn_expiry"):
            columns[key] = value.rule.value if value else None
            columns[f"{key}_days"] = value.days if value else None
        else:
            columns[key] = value
    return columns


def insert_promotion(conn: Connection, values: Mapping[str, Any]) -> Promotion:
    stmt = insert(promotions).values(**values).returning(promotions)
    return promotion_of(conn.execute(stmt).one())


def get_promotion(
    conn: Connection, *, org_id: int, promotion_id: int, lock: bool = False
) -> Promotion | None:
    """A promotion of this org. ``lock`` holds the row until commit (PostgreSQL; SQLite writers
    already hold the database write lock)."""
    stmt = select(promotions).where(promotions.c.id == promotion_id, promotions.c.org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else promotion_of(row)


def identifier_taken(conn: Connection, *, org_id: int, identifier: str) -> bool:
    stmt = select(promotions.c.id).where(
        promotions.c.org_id == org_id, promotions.c.identifier == identifier
    )
    return conn.execute(stmt).first() is not None


def list_for_program(conn: Connection, *, org_id: int, program_id: int) -> list[Promotion]:
    stmt = (
        select(promotions)
        .where(promotions.c.org_id == org_id, promotions.c.program_id == program_id)
        .order_by(promotions.c.id)
    )
    return [promotion_of(row) for row in conn.execute(stmt)]


def by_ids(conn: Connection, *, org_id: int, promotion_ids: Collection[int]) -> list[Promotion]:
    if not promotion_ids:
        return []
    stmt = (
        select(promotions)
        .where(promotions.c.org_id == org_id, promotions.c.id.in_(list(promotion_ids)))
        .order_by(promotions.c.id)
    )
    return [promotion_of(row) for row in conn.execute(stmt)]


def update_promotion(
    conn: Connection, *, promotion_id: int, values: Mapping[str, Any]
) -> Promotion:
    stmt = (
        update(promotions)
        .where(promotions.c.id == promotion_id)
        .values(**values)
        .returning(promotions)
    )
    return promotion_of(conn.execute(stmt).one())
