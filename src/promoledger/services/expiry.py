"""Expiry as a state change: applied lazily when a bulk write loads its customers' ledgers.

Records carry ``expires_at`` from the promotion's rules. Nothing sweeps them in the
background; instead, every write that is about to decide on a customer first marks that
customer's overdue ACTIVE records EXPIRED (audited, in the same transaction), so the rules
never see a stale ACTIVE record. Reads show an overdue record as EXPIRED without writing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.ledger import CustomerLedger
from promoledger.domain.vocabulary import Status
from promoledger.store import audit
from promoledger.store.ledger import end_active, ledgers
from promoledger.store.tables import earns, enrolments


def current_ledgers(
    conn: Connection,
    ctx: Context,
    *,
    promotion_id: int,
    customer_ids: Collection[int],
    now: datetime,
    with_enrolments: bool = True,
    only_active: bool = False,
) -> dict[int, CustomerLedger]:
    """Load the customers' ledgers, expiring what is due first; costs no write when nothing is."""
    loaded = ledgers(
        conn,
        promotion_id,
        customer_ids,
        with_enrolments=with_enrolments,
        only_active=only_active,
    )
    changes: list[audit.Change] = []
    for table, entity in ((enrolments, "ENROLMENT"), (earns, "EARN")):
        due = [
            row
            for lg in loaded.values()
            for row in (lg.enrolments if table is enrolments else lg.earns)
            if row.overdue(now)
        ]
        if not due:
            continue
        expired = end_active(
            conn,
            table,
            [row.id for row in due],
            status=Status.EXPIRED.value,
            now=now,
            ended_by="SYSTEM",
            request_id=None,
        )
        for row in due:
            if row.id in expired:
                row.status = Status.EXPIRED
                changes.append(
                    audit.Change(
                        action="EXPIRE",
                        entity_type=entity,
                        entity_id=row.id,
                        customer_id=row.customer_id,
                        promotion_id=promotion_id,
                        old_status=Status.ACTIVE.value,
                        new_status=Status.EXPIRED.value,
                    )
                )
    audit.record(conn, ctx, changes, at=now)
    return loaded
