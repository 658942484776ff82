"""Set-based lookups shared by every bulk endpoint: one statement per question, any batch size."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Row, and_, select

from promoledger.domain.vocabulary import IdentifierName
from promoledger.store.tables import (
    customer_sources,
    customers,
    program_members,
    programs,
    promotions,
)
from promoledger.store.types import storable

_KEY_COLUMN = {
    IdentifierName.ID: customers.c.id,
    IdentifierName.MOBILE: customers.c.mobile,
    IdentifierName.EMAIL: customers.c.email,
}


def program_exists(conn: Connection, org_id: int, program_id: int) -> bool:
    stmt = select(programs.c.id).where(programs.c.id == program_id, programs.c.org_id == org_id)
    return conn.execute(stmt).first() is not None


def promotions_by_keys(
    conn: Connection, org_id: int, program_id: int, promotion_id: int | None, identifier: str | None
) -> list[Row[Any]]:
    """Promotions of the program matching either key (both keys given → up to two rows)."""
    keys = []
    if promotion_id is not None:
        keys.append(promotions.c.id == promotion_id)
    if identifier is not None and storable(identifier):
        keys.append(promotions.c.identifier == identifier)
    if not keys:
        return []
    stmt = select(promotions).where(
        promotions.c.org_id == org_id, promotions.c.program_id == program_id, *keys
    )
    return list(conn.execute(stmt).all())


def members_by_identifier(
    conn: Connection,
    *,
    org_id: int,
    program_id: int,
    identifier: IdentifierName,
    values: Collection[Any],
    lock: bool,
) -> dict[Any, int]:
    """identifier value → customer id, for customers of the org that belong to the program.

    With ``lock`` (PostgreSQL), the customer rows are locked in id order for the rest of the
    transaction: every write on a customer serialises on that row, so two concurrent requests
    never both pass a per-customer limit check, and id order rules out deadlocks.
    """
    values = [v for v in values if storable(v)]
    if not values:
        return {}
    key = _KEY_COLUMN[identifier]
    stmt = (
        select(customers.c.id, key.label("key"))
        .join(
            program_members,
            and_(
                program_members.c.customer_id == customers.c.id,
                program_members.c.program_id == program_id,
            ),
        )
        .where(customers.c.org_id == org_id, key.in_(values))
        .order_by(customers.c.id)
    )
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=customers)
    return {row.key: int(row.id) for row in conn.execute(stmt)}


def sources_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, set[str]]:
    if not customer_ids:
        return {}
    stmt = select(customer_sources.c.customer_id, customer_sources.c.source).where(
        customer_sources.c.customer_id.in_(list(customer_ids))
    )
    found: dict[int, set[str]] = {}
    for row in conn.execute(stmt):
        found.setdefault(int(row.customer_id), set()).add(row.source)
    return found
