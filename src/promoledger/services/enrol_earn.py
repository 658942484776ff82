"""Enrol customers in a promotion and let them earn it: bulk ENROL / EARN and directEarn.

One request, one transaction: resolve the batch (request-level rules, every customer set-wise,
customer rows locked on PostgreSQL), expire what is due, load the ledgers, decide each entry
with ``domain.enrol_earn.plan``, then write the plan with set-based statements and one audit
insert. The batch behaves as if its entries ran one after another.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain.bulk import BulkAction, BulkRequest
from promoledger.domain.context import Context
from promoledger.domain.enrol_earn import Entry, Plan, Standing, plan
from promoledger.domain.errors import DatabaseUnavailable
from promoledger.domain.outcomes import BatchResult
from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import PromotionType, Status
from promoledger.services.batch import ResolvedBatch, resolve
from promoledger.services.expiry import current_ledgers
from promoledger.store import audit
from promoledger.store import enrol_earn as store
from promoledger.store.ledger import end_active
from promoledger.store.tables import enrolments
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


def enrol_and_earn(
    uow: UnitOfWork, ctx: Context, *, request: BulkRequest, now: datetime | None = None
) -> BatchResult:
    """``POST /v2/promotion/bulk/enrolAndEarn``: bulkAction ENROL or EARN."""
    when = now or utcnow()
    return uow.apply(
        lambda conn: apply(conn, ctx, request=request, action=request.action, now=when),
        dry_run=ctx.dry_run,
    )


def direct_earn(
    uow: UnitOfWork, ctx: Context, *, request: BulkRequest, now: datetime | None = None
) -> BatchResult:
    """``POST /v2/promotion/bulk/directEarn``: EARN, on DIRECT_ISSUE promotions only."""
    when = now or utcnow()
    return uow.apply(
        lambda conn: apply(
            conn,
            ctx,
            request=request,
            action=BulkAction.EARN,
            now=when,
            types={PromotionType.DIRECT_ISSUE},
        ),
        dry_run=ctx.dry_run,
    )


def apply(
    conn: Connection,
    ctx: Context,
    *,
    request: BulkRequest,
    action: BulkAction,
    now: datetime,
    types: Collection[PromotionType] | None = None,
    resolved: ResolvedBatch | None = None,
) -> BatchResult:
    """ENROL or EARN a whole batch inside the caller's transaction.

    ``resolved``: the request already through ``resolve_batch`` (same ``action`` and
    ``types``) in this transaction; None resolves here."""
    batch = resolved or resolve_batch(
        conn, ctx, request=request, action=action, now=now, types=types
    )
    promotion = batch.promotion
    customer_ids = batch.customer_ids
    loaded = current_ledgers(
        conn, ctx, promotion_id=promotion.id, customer_ids=customer_ids, now=now
    )
    standings = {cid: Standing.of(ledger) for cid, ledger in loaded.items()}
    entries = [
        Entry(e.index, batch.customer_of.get(e.index), batch.error_of.get(e.index))
        for e in batch.entries
    ]
    decided = plan(promotion=promotion, action=action, entries=entries, standings=standings)
    _write(conn, ctx, promotion, decided, now)
    return BatchResult(promotion, action, decided.outcomes, request.promotion)


def resolve_batch(
    conn: Connection,
    ctx: Context,
    *,
    request: BulkRequest,
    action: BulkAction,
    now: datetime,
    types: Collection[PromotionType] | None = None,
) -> ResolvedBatch:
    """The request-level checks, then every customer, locked (PostgreSQL) in id order."""
    return resolve(
        conn, org_id=ctx.org_id, request=request, now=now, lock=True, action=action, types=types
    )


def _write(
    conn: Connection, ctx: Context, promotion: Promotion, decided: Plan, now: datetime
) -> None:
    stamp = store.Stamp(ctx.org_id, promotion.id, now, ctx.actor, ctx.request_id)
    replaced = end_active(
        conn,
        enrolments,
        decided.replaced,
        status=Status.REPLACED.value,
        now=now,
        ended_by=ctx.actor,
        request_id=ctx.request_id,
    )
    if len(replaced) != len(decided.replaced):
        # Cannot happen while customer rows are locked (PostgreSQL) or the write lock is held
        # (SQLite); if it ever does, roll everything back rather than commit half a decision.
        raise DatabaseUnavailable("an enrolment changed concurrently")
    # A direct issue's dummy enrolment never expires: it only holds the customer's earns.
    enrolment_expiry = (
        None
        if promotion.type is PromotionType.DIRECT_ISSUE
        else promotion.enrolment_expires_at(now)
    )
    enrolment_ids = store.insert_enrolments(
        conn,
        stamp,
        [
            store.NewRecord(
                customer_id=c.customer_id,
                status=Status.REPLACED if c.replaced else Status.ACTIVE,
                expires_at=enrolment_expiry,
                ended=c.replaced,
            )
            for c in decided.enrolments
        ],
    )
    earn_expiry = promotion.earn_expires_at(now)
    earn_enrolments = decided.earn_enrolment_ids(enrolment_ids)
    earn_ids = store.insert_earns(
        conn,
        stamp,
        [
            store.NewRecord(
                customer_id=c.customer_id,
                status=Status.ACTIVE,
                expires_at=earn_expiry,
                enrolment_id=enrolment_id,
            )
            for c, enrolment_id in zip(decided.earns, earn_enrolments, strict=True)
        ],
    )
    events = decided.bind(enrolment_ids, earn_ids)
    audit.record(
        conn,
        ctx,
        [
            audit.Change(
                action=e.action,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                customer_id=e.customer_id,
                promotion_id=promotion.id,
                old_status=e.old_status.value if e.old_status else None,
                new_status=e.new_status.value,
            )
            for e in events
        ],
        at=now,
    )
