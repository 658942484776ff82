"""The dispatcher's use cases, each its own short transaction (the HTTP POST runs between them).

``claim``: take leases on endpoints with work due. ``next_batch``: renew the lease, then the
endpoint's oldest PENDING delivery if it is due, else cut a new one from the outbox (up to 100
subscribed events after the cursor) and commit it before anything is sent, so every retry of it
carries the same id and the same events. ``record``: the attempt's outcome (delivered; retry
later; FAILED after the give-up window), disabling an endpoint that has failed for that long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.webhooks import (
    DELIVERED,
    FAILED,
    MAX_EVENTS_PER_DELIVERY,
    Delivery,
    Endpoint,
    retry_delay,
)
from promoledger.services.webhooks import secret_of
from promoledger.store import audit, outbox
from promoledger.store import webhooks as store
from promoledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Policy:
    """The timings, from settings (tests shrink them)."""

    lease: timedelta
    delays: Sequence[float]
    give_up: timedelta


@dataclass(frozen=True, slots=True)
class Batch:
    """One delivery ready to POST."""

    delivery_id: int
    endpoint_id: int
    org_id: int
    url: str
    secrets: tuple[str, ...]  # each signs: the current secret, then a rotated-out one
    body: bytes
    event_count: int
    attempts: int


def due(uow: UnitOfWork, *, now: datetime, limit: int, exclude: list[int]) -> list[int]:
    """Endpoints with work due (a read; cheap when idle)."""
    with uow.read() as conn:
        return store.due_endpoints(conn, now=now, limit=limit, exclude=exclude)


def claim(
    uow: UnitOfWork, ids: list[int], *, owner: str, now: datetime, policy: Policy
) -> list[int]:
    if not ids:
        return []
    return uow.apply(
        lambda conn: store.claim(conn, ids, owner=owner, now=now, until=now + policy.lease)
    )


def release(uow: UnitOfWork, endpoint_id: int, *, owner: str) -> None:
    uow.apply(lambda conn: store.release(conn, endpoint_id, owner=owner))


def next_batch(
    uow: UnitOfWork, endpoint_id: int, *, owner: str, now: datetime, policy: Policy, master: bytes
) -> Batch | None:
    """The delivery to attempt now, or None (lease lost, nothing due, nothing new)."""

    def work(conn: Connection) -> Batch | None:
        endpoint = store.renew(conn, endpoint_id, owner=owner, until=now + policy.lease)
        if endpoint is None:
            return None
        delivery = store.oldest_pending(conn, endpoint_id)
        if delivery is not None and delivery.next_attempt_at > now:
            return None
        if delivery is None:
            delivery = _cut(conn, endpoint, now)
            if delivery is None:
                return None
        return _batch(conn, endpoint, delivery, master, now)

    return uow.apply(work)


def _cut(conn: Connection, endpoint: Endpoint, now: datetime) -> Delivery | None:
    ids, cursor = store.next_events(conn, endpoint, limit=MAX_EVENTS_PER_DELIVERY)
    if cursor != endpoint.cursor:
        store.update_endpoint(conn, endpoint.id, cursor=cursor)
    return store.insert_delivery(conn, endpoint.id, ids, now=now) if ids else None


def _batch(
    conn: Connection, endpoint: Endpoint, delivery: Delivery, master: bytes, now: datetime
) -> Batch:
    events = outbox.by_ids(conn, list(delivery.event_ids))
    body = orjson.dumps({"events": [e.wire() for e in events]})
    return Batch(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        org_id=endpoint.org_id,
        url=endpoint.url,
        secrets=tuple(secret_of(master, s) for s in store.salts_of(conn, endpoint.id, now=now)),
        body=body,
        event_count=len(events),
        attempts=delivery.attempts,
    )


def record(
    uow: UnitOfWork,
    batch: Batch,
    *,
    now: datetime,
    policy: Policy,
    status: int | None,
    error: str | None,
) -> str:
    """Record one attempt; the delivery's status after it (DELIVERED, PENDING or FAILED)."""
    ok = status is not None and 200 <= status < 300

    def work(conn: Connection) -> str:
        if ok:
            store.record_attempt(
                conn,
                batch.delivery_id,
                status=DELIVERED,
                delivered_at=now,
                last_attempt_at=now,
                last_status=status,
                last_error=None,
            )
            store.update_endpoint(conn, batch.endpoint_id, failing_since=None)
            return DELIVERED
        delivery = store.get_delivery(conn, batch.delivery_id)
        started = delivery.created_at if delivery is not None else now
        attempts = batch.attempts + 1
        gave_up = now - started >= policy.give_up
        store.record_attempt(
            conn,
            batch.delivery_id,
            last_attempt_at=now,
            last_status=status,
            last_error=(error or f"HTTP {status}")[:500],
            **(
                {"status": FAILED}
                if gave_up
                else {"next_attempt_at": now + retry_delay(attempts, policy.delays)}
            ),
        )
        _note_failure(conn, batch, now, policy)
        return FAILED if gave_up else "PENDING"

    return uow.apply(work)


def _note_failure(conn: Connection, batch: Batch, now: datetime, policy: Policy) -> None:
    row = store.get_endpoint(conn, org_id=batch.org_id, endpoint_id=batch.endpoint_id)
    if row is None:
        return
    if row.failing_since is None:
        store.update_endpoint(conn, batch.endpoint_id, failing_since=now)
        return
    if now - row.failing_since >= policy.give_up and row.enabled:
        reason = "failing for longer than the retry window"
        store.update_endpoint(
            conn, batch.endpoint_id, enabled=False, disabled_reason=reason, updated_at=now
        )
        store.fail_pending(conn, batch.endpoint_id, now=now, reason="endpoint disabled")
        ctx = Context(
            org_id=batch.org_id, actor_kind="SYSTEM", request_id=f"webhook-{batch.endpoint_id}"
        )
        audit.record(
            conn,
            ctx,
            [
                audit.Change(
                    "WEBHOOK_DISABLED",
                    "WEBHOOK",
                    batch.endpoint_id,
                    old_status="ENABLED",
                    new_status="DISABLED",
                    detail={"reason": reason, "failingSince": row.failing_since.isoformat()},
                )
            ],
            at=now,
        )


def lag(uow: UnitOfWork) -> int:
    with uow.read() as conn:
        return store.lag(conn)
