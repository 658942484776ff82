"""Events: reading the feed, and the one event that is not derived from audit changes.

Ledger events need no call here: every state change writes audit changes, ``store.outbox``
turns them into events and the unit of work writes them at commit (see docs/events.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from promoledger.domain import events as rules
from promoledger.domain.errors import VALIDATION, Invalid
from promoledger.domain.events import Event, PendingEvent
from promoledger.store import outbox
from promoledger.store.audit import Stamp
from promoledger.store.uow import UnitOfWork

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def list_events(
    uow: UnitOfWork,
    *,
    org_id: int,
    after: int = 0,
    limit: int = DEFAULT_PAGE,
    types: list[str] | None = None,
) -> list[Event]:
    """The org's events with id > ``after``, ascending (the feed); ``types`` filters."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(VALIDATION, detail=f"limit must be 1..{MAX_PAGE}", field="limit")
    if after < 0:
        raise Invalid(VALIDATION, detail="after must be 0 or an event id", field="after")
    if types is not None:
        unknown = sorted(set(types) - set(rules.EVENT_TYPES))
        if unknown:
            raise Invalid(VALIDATION, detail=f"unknown event type {unknown[0]!r}", field="type")
    with uow.read() as conn:
        return outbox.query(conn, org_id=org_id, after=after, limit=limit, types=types)


def tag_job(conn: Connection, *, job_id: int | str) -> None:
    """Mark every event the transaction of ``conn`` commits with ``jobId`` (call it in each
    chunk's transaction: the enrolments and earns a job changes then say which job did it)."""
    outbox.tag(conn, jobId=job_id)


def job_completed(
    conn: Connection,
    ctx: Stamp,
    *,
    job_id: int | str,
    promotion_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Add a ``job.completed`` event to the transaction of ``conn``; it commits with it.

    Call it inside the unit of work's transaction that marks the job complete. ``data`` is
    merged into the event's ``data`` (after ``jobId``); ``promotion_id`` fills programId,
    promotionId and promoIdentifier."""
    if ctx.org_id is None:
        raise ValueError("job.completed needs an org")
    extra: dict[str, Any] = {"jobId": job_id, **(data or {})}
    outbox.add(
        conn,
        ctx.org_id,
        ctx.request_id,
        PendingEvent(rules.JOB_COMPLETED, None, promotion_id, extra=extra),
    )
