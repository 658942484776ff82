"""Set-based lookups shared by every bulk endpoint: one statement per question, any batch size."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, select

from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import IdentifierName
from promoledger.store.promotions import promotion_of
from promoledger.store.tables import (
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


def program_and_promotion(
    conn: Connection,
    org_id: int,
    program_id: int,
    promotion_id: int | None,
    identifier: str | None,
) -> tuple[bool, Promotion | None]:
    """(does the org have this program, the promotion of it matching every key given).

    One statement: the program, LEFT JOINed to its promotion, so an unknown program (1101)
    and an unknown promotion (8874) are told apart without a second round trip.
    """
    on = [promotions.c.program_id == programs.c.id, promotions.c.org_id == programs.c.org_id]
    if promotion_id is not None:
        on.append(promotions.c.id == promotion_id)
    if identifier is not None:
        # A key PostgreSQL could not hold (a NUL byte) names no promotion on either database.
        on.append(promotions.c.identifier == identifier if storable(identifier) else false())
    if promotion_id is None and identifier is None:
        on.append(false())
    stmt = (
        select(programs.c.id.label("program_found"), *promotions.c)
        .select_from(programs.outerjoin(promotions, and_(*on)))
        .where(programs.c.id == program_id, programs.c.org_id == org_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return False, None
    return True, (promotion_of(row) if row.id is not None else None)


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
    values = [v for v in values if storable(v)]  # a NUL byte names no customer
    if not values:
        return {}
    key = _KEY_COLUMN[identifier]
    # By id, the primary key must be the only usable index: with `org_id = ?` in the WHERE,
    # PostgreSQL on stale statistics walked every customer of the org through an
    # (org_id, ...) index instead of probing 100 ids. The org is checked on the rows instead.
    # Mobile and email are looked up through their (org_id, value) unique indexes.
    where: list[ColumnElement[bool]] = [key.in_(values)]
    if identifier is not IdentifierName.ID:
        where.append(customers.c.org_id == org_id)
    stmt = (
        select(customers.c.id, customers.c.org_id, key.label("key"))
        .join(
            program_members,
            and_(
                program_members.c.customer_id == customers.c.id,
                program_members.c.program_id == program_id,
            ),
        )
        .where(*where)
        .order_by(customers.c.id)
    )
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=customers)
    return {row.key: int(row.id) for row in conn.execute(stmt) if row.org_id == org_id}
