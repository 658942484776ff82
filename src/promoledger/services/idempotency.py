"""Idempotency-Key handling (contract 3.3): replay, mismatch (422), in flight (409), expiry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from promoledger.domain.errors import IdempotencyInFlight, IdempotencyMismatch
from promoledger.store import idempotency as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

# A RUNNING claim older than this belongs to a process that died mid-request; a retry may take
# it over. It is longer than any request may run (the database pool and lock timeouts are
# seconds), so a live request is never taken over.
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def begin(
    uow: UnitOfWork, *, credential_id: int, key: str, fingerprint: str, ttl_hours: int
) -> Replay | None:
    """Claim ``key`` for this request, or return the stored answer to replay.

    Raises IdempotencyMismatch (another body used this key) or IdempotencyInFlight.
    """
    now = utcnow()
    expires = now + timedelta(hours=ttl_hours)
    with uow.write() as conn:
        if store.claim(
            conn,
            credential_id=credential_id,
            key=key,
            request_hash=fingerprint,
            now=now,
            expires_at=expires,
        ):
            return None
        if store.retake(
            conn,
            credential_id=credential_id,
            key=key,
            request_hash=fingerprint,
            stale_before=now - STALE_AFTER,
            now=now,
            expires_at=expires,
        ):
            return None
        row = store.get(conn, credential_id, key)
    if row is None:  # released between our two statements; the client may simply retry
        raise IdempotencyInFlight()
    if row.request_hash != fingerprint:
        raise IdempotencyMismatch()
    if row.state != "DONE":
        raise IdempotencyInFlight()
    return Replay(status=int(row.response_status), body=bytes(row.response_body))


def release(uow: UnitOfWork, *, credential_id: int, key: str) -> None:
    with uow.write() as conn:
        store.release(conn, credential_id=credential_id, key=key)


def record_failure(
    uow: UnitOfWork, *, credential_id: int, key: str, status: int, body: bytes
) -> None:
    """A 4xx answer changed nothing and is deterministic: store it so a retry replays it."""
    with uow.write() as conn:
        store.complete(
            conn, credential_id=credential_id, key=key, status=status, body=body, headers=None
        )
