"""Reads behind the customer promotion lookup: one statement per question."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, select

from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import IdentifierName
from promoledger.store.batch import KEY_COLUMN
from promoledger.store.ledger import record_of
from promoledger.store.promotions import promotion_of
from promoledger.store.tables import (
    audit_events,
    customers,
    earns,
    enrolments,
    program_members,
    promotions,
)
from promoledger.store.types import storable


def find_customer(
    conn: Connection, *, org_id: int, identifier: IdentifierName, value: Any
) -> int | None:
    if not storable(value):
        return None
    stmt = select(customers.c.id).where(
        customers.c.org_id == org_id, KEY_COLUMN[identifier] == value
    )
    found = conn.execute(stmt).scalar_one_or_none()
    return None if found is None else int(found)


def member_promotions(conn: Connection, *, org_id: int, customer_id: int) -> list[Promotion]:
    """Every promotion of every program the customer belongs to, in id order."""
    programs = select(program_members.c.program_id).where(
        program_members.c.customer_id == customer_id
    )
    stmt = (
        select(promotions)
        .where(promotions.c.org_id == org_id, promotions.c.program_id.in_(programs))
        .order_by(promotions.c.id)
    )
    return [promotion_of(row) for row in conn.execute(stmt)]


def records_of(
    conn: Connection, *, customer_id: int, promotion_ids: Collection[int]
) -> tuple[list[LedgerRecord], list[LedgerRecord]]:
    """The customer's enrolments and earns in these promotions, in id order."""
    if not promotion_ids:
        return [], []
    ids = list(promotion_ids)
    found: list[list[LedgerRecord]] = []
    for table in (enrolments, earns):
        stmt = (
            select(table)
            .where(table.c.customer_id == customer_id, table.c.promotion_id.in_(ids))
            .order_by(table.c.id)
        )
        found.append([record_of(row) for row in conn.execute(stmt)])
    return found[0], found[1]


# The audit actions that create a ledger record, by the entity type they record.
CREATION_ACTIONS = ("ENROL", "DIRECT_ENROL", "EARN")


def creation_events(
    conn: Connection, *, org_id: int, customer_id: int, promotion_ids: Collection[int]
) -> dict[tuple[str, int], int]:
    """``(entity_type, entity_id) -> id`` of the audit event that created each of the customer's
    enrolments (``ENROLMENT``) and earns (``EARN``) in these promotions: one statement."""
    if not promotion_ids:
        return {}
    a = audit_events.c
    stmt = (
        select(a.entity_type, a.entity_id, func.min(a.id))
        .where(
            a.org_id == org_id,
            a.customer_id == customer_id,
            a.promotion_id.in_(list(promotion_ids)),
            a.action.in_(CREATION_ACTIONS),
            a.entity_type.in_(("ENROLMENT", "EARN")),
            a.entity_id.is_not(None),
        )
        .group_by(a.entity_type, a.entity_id)
    )
    return {(str(kind), int(entity)): int(event) for kind, entity, event in conn.execute(stmt)}
