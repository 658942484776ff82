"""The bulk revoke use case (contract 3.1): revokeEnrolAndEarn and revokeDirectEarn.

One transaction: resolve the batch (request-level checks, customers set-wise, customer rows
locked on PostgreSQL), expire what is due, decide every entry with the pure rules, apply the
decisions in one conditional UPDATE per table, audit, commit. The caller shapes the answer
after the commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain.bulk import BulkAction, BulkRequest
from promoledger.domain.context import Context
from promoledger.domain.errors import DatabaseUnavailable
from promoledger.domain.outcomes import BatchResult
from promoledger.domain.revoke import Holdings, Plan, decide
from promoledger.domain.vocabulary import Status
from promoledger.services.batch import ResolvedBatch, resolve
from promoledger.services.expiry import current_ledgers
from promoledger.store import audit
from promoledger.store import tables as t
from promoledger.store.ledger import end_active
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

log = logging.getLogger("promoledger")

# How often a batch is re-decided when a concurrent writer changed a row between our read and
# our UPDATE. Customer rows are locked (PostgreSQL) or writers serialised (SQLite), so a retry
# is already rare; running out of attempts answers 503 and the client retries later.
MAX_ATTEMPTS = 5


def revoke(
    uow: UnitOfWork, ctx: Context, *, request: BulkRequest, now: datetime | None = None
) -> BatchResult:
    """Apply a REVOKE_ENROL or REVOKE_EARN batch; atomic with its audit events.

    Decide on the ledger as loaded, then let the conditional UPDATEs arbitrate. If an UPDATE
    returns other rows than decided, a concurrent writer won some of them: the whole attempt
    is rolled back and decided again on a fresh read. (Cheaper than a savepoint per request,
    since with customer rows locked this practically never happens.)
    """
    when = now or utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return uow.apply(
                lambda conn: apply(conn, ctx, request=request, now=when), dry_run=ctx.dry_run
            )
        except LedgerMoved:
            log.info("revoke %s: ledger changed underneath (attempt %d)", ctx.request_id, attempt)
    raise DatabaseUnavailable("the ledger kept changing under the request")


def apply(
    conn: Connection,
    ctx: Context,
    *,
    request: BulkRequest,
    now: datetime,
    resolved: ResolvedBatch | None = None,
) -> BatchResult:
    """Revoke a whole batch inside the caller's transaction (a job composes several).

    ``resolved``: the request already through ``resolve_batch`` in this transaction (a job
    resolves a chunk first to see whether its customers are distinct); None resolves here.
    Raises ``LedgerMoved`` when a concurrent writer won a row: the caller rolls the whole
    transaction back and tries again.
    """
    batch = resolved or resolve_batch(conn, ctx, request=request, now=now)
    plan = _decide_and_apply(conn, ctx, batch, request.action, now)
    audit.record(conn, ctx, _changes(request.action, batch.promotion.id, plan), at=now)
    return BatchResult(batch.promotion, request.action, plan.outcomes, request.promotion)


def resolve_batch(
    conn: Connection, ctx: Context, *, request: BulkRequest, now: datetime
) -> ResolvedBatch:
    """The request-level checks, then every customer, locked (PostgreSQL) in id order."""
    return resolve(conn, org_id=ctx.org_id, request=request, now=now, lock=True)


class LedgerMoved(Exception):
    """A conditional UPDATE returned other rows than decided; roll back and decide again."""


def _decide_and_apply(
    conn: Connection, ctx: Context, batch: ResolvedBatch, action: BulkAction, now: datetime
) -> Plan:
    promotion_id = batch.promotion.id
    loaded = current_ledgers(
        conn,
        ctx,
        promotion_id=promotion_id,
        customer_ids=batch.customer_ids,
        now=now,
        # Revokes act on ACTIVE records only; REVOKE_EARN never looks at enrolments.
        with_enrolments=action is BulkAction.REVOKE_ENROL,
        only_active=True,
    )
    plan = decide(
        action,
        batch.entries,
        customer_of=batch.customer_of,
        error_of=batch.error_of,
        holdings={cid: Holdings.of(ledger) for cid, ledger in loaded.items()},
    )
    enrolments, earns = (
        end_active(
            conn,
            table,
            ids,
            status=Status.REVOKED.value,
            now=now,
            ended_by=ctx.actor,
            request_id=ctx.request_id,
        )
        for table, ids in ((t.enrolments, plan.enrolments.keys()), (t.earns, plan.earns.keys()))
    )
    if enrolments != set(plan.enrolments) or earns != set(plan.earns):
        raise LedgerMoved
    return plan


def _changes(action: BulkAction, promotion_id: int, plan: Plan) -> list[audit.Change]:
    """One event per revoked row: action REVOKE_ENROL / REVOKE_EARN, ACTIVE → REVOKED."""
    rows = [("ENROLMENT", eid, cid) for eid, cid in sorted(plan.enrolments.items())]
    rows += [("EARN", eid, cid) for eid, cid in sorted(plan.earns.items())]
    name, active, revoked = action.value, Status.ACTIVE.value, Status.REVOKED.value
    change = audit.Change
    return [
        change(name, entity, eid, cid, promotion_id, active, revoked) for entity, eid, cid in rows
    ]
