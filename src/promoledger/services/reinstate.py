"""Undo (reinstatement): put back every enrolment and earn one revoke request or job revoked.

One transaction through ``UnitOfWork.apply``: read what the request revoked from the audit
trail (404 when it revoked nothing in the caller's org), then per chunk of customers: lock
them, expire what is due, read their ledgers and the revoked records, decide with the pure
rules (``domain.reinstate.decide``), put back with one conditional UPDATE per table, audit
REINSTATE_ENROL / REINSTATE_EARN (REVOKED → ACTIVE). The caller shapes the answer.

A REINSTATE job reinstates chunk by chunk instead (``services.undo`` decides which way an undo
goes): ``revoked_items`` once, ``chunks`` of them, and ``reinstate_chunk`` inside each chunk's
own transaction (``jobs.reinstate``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.errors import DatabaseUnavailable, NotFound
from promoledger.domain.reinstate import (
    EARN,
    ENROLMENT,
    REINSTATE_ACTION,
    Decision,
    Reinstatement,
    RevokedItem,
    chunks,
    decide,
)
from promoledger.domain.vocabulary import Status
from promoledger.services.expiry import current_ledgers
from promoledger.store import audit
from promoledger.store import promotions as promotion_store
from promoledger.store import reinstate as store
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

log = logging.getLogger("promoledger")

MAX_ATTEMPTS = 5
# Items decided and written per round of statements (a customer's items are never split).
CHUNK_ITEMS = 1000


class LedgerMoved(Exception):
    """A conditional UPDATE returned other rows than decided: roll back and decide again."""


def reinstate(
    uow: UnitOfWork, ctx: Context, *, request_id: str, now: datetime | None = None
) -> Reinstatement:
    """Put back what ``request_id`` (a revoke's X-Request-ID, or a revoke job's id) revoked.

    Atomic with its audit events; ``ctx.dry_run`` rolls it all back. Raises ``NotFound`` when
    the request revoked nothing in ``ctx.org_id`` (unknown, foreign, not a revoke, a dry run).
    A second call reinstates nothing: every item is then skipped ALREADY_ACTIVE.
    """
    when = now or utcnow()

    def attempt_once(conn: Connection) -> Reinstatement:
        items = store.revoked_by(conn, org_id=ctx.org_id, request_id=request_id)
        if not items:
            raise NotFound("revoke request")
        result = Reinstatement()
        for chunk in chunks(items, CHUNK_ITEMS):
            result = result.merged(
                reinstate_chunk(conn, ctx, request_id=request_id, items=chunk, now=when)
            )
        return result

    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return uow.apply(attempt_once, dry_run=ctx.dry_run)
        except LedgerMoved:
            log.info("reinstate %s: ledger changed underneath (attempt %d)", request_id, attempt)
    raise DatabaseUnavailable("the ledger kept changing under the reinstatement")


def revoked_items(uow: UnitOfWork, *, org_id: int, request_id: str) -> list[RevokedItem]:
    """What ``request_id`` revoked in the org, in decision order: for a job to cut into
    ``domain.reinstate.chunks``. Empty when nothing (the caller answers 404)."""
    with uow.read() as conn:
        return store.revoked_by(conn, org_id=org_id, request_id=request_id)


def reinstate_chunk(
    conn: Connection,
    ctx: Context,
    *,
    request_id: str,
    items: Sequence[RevokedItem],
    now: datetime,
) -> Reinstatement:
    """Reinstate ``items`` (whole customers, from ``revoked_items``) inside the caller's
    transaction, with their audit events. Raises ``LedgerMoved`` if a conditional UPDATE
    disagreed with the decision: the caller rolls back and runs the chunk again."""
    store.lock_customers(conn, {i.customer_id for i in items})
    decisions = [
        _decide_promotion(conn, ctx, request_id, promotion_id, items=group, now=now)
        for promotion_id, group in _by_promotion(items).items()
    ]
    for table, planned in (
        (t.enrolments, {k: v for d in decisions for k, v in d.enrolments.items()}),
        (t.earns, {k: v for d in decisions for k, v in d.earns.items()}),
    ):
        if store.reinstate(conn, table, planned.keys(), request_id=request_id) != set(planned):
            raise LedgerMoved
    audit.record(conn, ctx, _changes(request_id, decisions), at=now)
    return Reinstatement.of(decisions)


def _by_promotion(items: Sequence[RevokedItem]) -> dict[int, list[RevokedItem]]:
    groups: dict[int, list[RevokedItem]] = {}
    for item in items:
        groups.setdefault(item.promotion_id, []).append(item)
    return groups


def _decide_promotion(
    conn: Connection,
    ctx: Context,
    request_id: str,
    promotion_id: int,
    *,
    items: list[RevokedItem],
    now: datetime,
) -> Decision:
    promotion = promotion_store.get_promotion(conn, org_id=ctx.org_id, promotion_id=promotion_id)
    assert promotion is not None, "audit events name only the org's own promotions"
    # Expire what is due first (audited), as every write deciding on a customer does.
    ledgers = current_ledgers(
        conn,
        ctx,
        promotion_id=promotion_id,
        customer_ids={i.customer_id for i in items},
        now=now,
    )
    wanted = {
        kind: [i.entity_id for i in items if i.entity_type == kind] for kind in (ENROLMENT, EARN)
    }
    return decide(
        request_id=request_id,
        promotion=promotion,
        enrolments=store.records(conn, t.enrolments, wanted[ENROLMENT]),
        earns=store.records(conn, t.earns, wanted[EARN]),
        ledgers=ledgers,
        now=now,
    )


def _changes(request_id: str, decisions: Sequence[Decision]) -> list[audit.Change]:
    """One event per reinstated record, REVOKED → ACTIVE, naming the request it undoes."""
    revoked, active = Status.REVOKED.value, Status.ACTIVE.value
    detail = {"reinstates": request_id}
    return [
        audit.Change(
            REINSTATE_ACTION[kind], kind, rid, cid, d.promotion_id, revoked, active, detail
        )
        for d in decisions
        for kind, rows in ((ENROLMENT, d.enrolments), (EARN, d.earns))
        for rid, cid in sorted(rows.items())
    ]
