"""Expiry as a state change: applied lazily at the start of each bulk write, and audited."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.store import audit
from promoledger.store.ledger import expire_due

_ENTITY = {"enrolments": "ENROLMENT", "earns": "EARN"}


def apply_expiry(
    conn: Connection,
    ctx: Context,
    *,
    promotion_id: int,
    customer_ids: Collection[int],
    now: datetime,
) -> None:
    expired = expire_due(conn, promotion_id, customer_ids, now)
    audit.record(
        conn,
        ctx,
        [
            audit.Change(
                action="EXPIRE",
                entity_type=_ENTITY[e.table],
                entity_id=e.id,
                customer_id=e.customer_id,
                promotion_id=promotion_id,
                old_status="ACTIVE",
                new_status="EXPIRED",
            )
            for e in expired
        ],
        at=now,
    )
