"""Undo, the use case behind ``POST /admin/v1/reinstatements`` and ``promoledger reinstate``.

Name the revoke (its request id, or a revoke job), count what it revoked, then either
reinstate it inline in one transaction (``services.reinstate.reinstate``: the 200 answer), or,
when it revoked more than ``inline_max`` enrolments and earns, create a REINSTATE job (the 202
answer) whose rows are those items, written as the job's chunks in the same transaction that
queues it (``jobs.reinstate``). The job then runs like any other: a worker applies it chunk by
chunk, each chunk's reinstatement, audit events, outcomes and progress in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import Connection

from promoledger.domain import errors as E
from promoledger.domain.context import Context
from promoledger.domain.errors import Invalid, NotFound
from promoledger.domain.reinstate import Reinstatement, RevokedItem, chunks
from promoledger.domain.vocabulary import IdentifierName
from promoledger.jobs import reinstate as reinstate_job
from promoledger.jobs.model import Job, JobSpec
from promoledger.services import jobs, reinstate
from promoledger.store import jobs as job_store
from promoledger.store import promotions as promotion_store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

DEFAULT_INLINE_MAX = 1000  # PROMOLEDGER_REINSTATE_INLINE_MAX


def undo(
    uow: UnitOfWork,
    ctx: Context,
    *,
    request_id: str | None = None,
    job_id: str | None = None,
    inline_max: int = DEFAULT_INLINE_MAX,
    chunk_items: int,
    now: datetime | None = None,
) -> Reinstatement | Job:
    """Undo the revoke named by ``request_id`` or ``job_id`` (exactly one).

    Returns the ``Reinstatement`` when it ran inline (``ctx.dry_run`` rolls it back), or the
    queued REINSTATE ``Job`` (``dryRun`` when ``ctx.dry_run``: the job decides every item and
    commits nothing but its report). 404 when the revoke revoked nothing in ``ctx.org_id``;
    422 for a job that is not an undoable revoke job (a REINSTATE job included).
    """
    if (request_id is None) == (job_id is None):
        raise Invalid(E.VALIDATION, detail="give exactly one of requestId and jobId")
    target = (
        request_id
        if request_id is not None
        else jobs.revoke_request_id(uow, org_id=ctx.org_id, job_id=str(job_id))
    )
    items = reinstate.revoked_items(uow, org_id=ctx.org_id, request_id=target)
    if not items:
        raise NotFound("revoke request")
    if len(items) <= inline_max:
        return reinstate.reinstate(uow, ctx, request_id=target, now=now)
    when = now or utcnow()
    return uow.apply(
        lambda conn: _queue_job(conn, ctx, target, items, chunk_items=chunk_items, now=when)
    )


def _queue_job(
    conn: Connection,
    ctx: Context,
    request_id: str,
    items: Sequence[RevokedItem],
    *,
    chunk_items: int,
    now: datetime,
) -> Job:
    """The REINSTATE job, its chunks and its queueing, in the caller's one transaction (so no
    worker or reader ever sees it half-written)."""
    # A revoke names one promotion; a client that reused an X-Request-ID across promotions
    # gets the first one shown (the rows name each item's own).
    promotion = promotion_store.get_promotion(
        conn, org_id=ctx.org_id, promotion_id=items[0].promotion_id
    )
    assert promotion is not None, "audit events name only the org's own promotions"
    spec = JobSpec(
        action=reinstate_job.ACTION,
        program_id=promotion.program_id,
        promotion_id=promotion.id,
        by_promotion_id=True,
        promo_identifier=None,
        identifier_name=IdentifierName.ID.value,
        dry_run=ctx.dry_run,
    )
    job_id = job_store.create(
        conn,
        org_id=ctx.org_id,
        spec=spec,
        actor_kind=ctx.actor_kind,
        actor_id=ctx.actor_id,
        now=now,
    )
    parts = chunks(items, chunk_items)
    line = 1
    for seq, part in enumerate(parts):
        data = orjson.dumps(reinstate_job.item_rows(request_id, part))
        job_store.add_chunk(conn, job_id, seq, first_line=line, rows=len(part), data=data)
        line += len(part)
    job_store.queue(conn, job_id, total=len(items), chunks=len(parts))
    job = job_store.get(conn, ctx.org_id, job_id)
    assert job is not None
    return job
