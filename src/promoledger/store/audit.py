"""The audit trail: the one helper every state change goes through, in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, insert, select

from promoledger.domain.context import Context
from promoledger.store.tables import audit_events
from promoledger.store.types import utcnow


@dataclass(frozen=True, slots=True)
class Change:
    """One state change: ``action`` on ``entity_type``/``entity_id``, ``old`` → ``new`` status."""

    action: str
    entity_type: str
    entity_id: int | None = None
    customer_id: int | None = None
    promotion_id: int | None = None
    old_status: str | None = None
    new_status: str | None = None
    detail: dict[str, Any] | None = None


def record(
    conn: Connection, ctx: Context, changes: Iterable[Change], *, at: datetime | None = None
) -> int:
    """Append one audit event per change, as a single multi-row insert. Returns how many."""
    when = at or utcnow()
    rows = [
        {
            "occurred_at": when,
            "org_id": ctx.org_id,
            "actor_kind": ctx.actor_kind,
            "actor_id": ctx.actor_id,
            "action": c.action,
            "entity_type": c.entity_type,
            "entity_id": c.entity_id,
            "customer_id": c.customer_id,
            "promotion_id": c.promotion_id,
            "old_status": c.old_status,
            "new_status": c.new_status,
            "request_id": ctx.request_id,
            "idempotency_key": ctx.idempotency_key,
            "detail": orjson.dumps(c.detail).decode() if c.detail else None,
        }
        for c in changes
    ]
    if rows:
        conn.execute(insert(audit_events), rows)
    return len(rows)


def query(
    conn: Connection,
    *,
    org_id: int,
    customer_id: int | None = None,
    promotion_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[Row[Any]]:
    """Newest first; ``before_id`` is the keyset cursor (the last id of the previous page)."""
    conds = [audit_events.c.org_id == org_id]
    if customer_id is not None:
        conds.append(audit_events.c.customer_id == customer_id)
    if promotion_id is not None:
        conds.append(audit_events.c.promotion_id == promotion_id)
    if action is not None:
        conds.append(audit_events.c.action == action)
    if since is not None:
        conds.append(audit_events.c.occurred_at >= since)
    if before_id is not None:
        conds.append(audit_events.c.id < before_id)
    stmt = select(audit_events).where(and_(*conds)).order_by(audit_events.c.id.desc()).limit(limit)
    return conn.execute(stmt).all()
