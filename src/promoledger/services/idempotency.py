"""Idempotency-Key handling (contract 3.3): replay, mismatch (422), in flight (409), expiry.

The life of a key: ``begin`` claims it in its own short transaction (RUNNING); the edge hands
a ``Seal`` to the unit of work as its commit hook, which stores the answer inside the request's
own transaction, so the change and the stored answer commit or roll back together. A
deterministic 4xx answer is stored by ``record_failure`` (nothing changed, so a retry may as
well replay it); a 503 or a crash ``release``s the claim so the client's retry runs for real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from promoledger.domain.errors import IdempotencyInFlight, IdempotencyMismatch
from promoledger.store import idempotency as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

# The default ``stale_after`` (setting ``idempotency_stale_seconds``). A RUNNING claim older
# than this belongs to a process that died mid-request; a retry may take it over. It is longer
# than any request may run (the database pool and lock timeouts are seconds). Should a live
# request ever outlast it anyway, its ``Seal`` finds the claim gone and rolls its change back,
# so the key still answers for exactly one execution.
DEFAULT_STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns ``key`` for ``credential_id`` since ``claimed_at``."""

    credential_id: int
    key: str
    claimed_at: datetime
    ttl: timedelta


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def begin(
    uow: UnitOfWork,
    *,
    credential_id: int,
    key: str,
    fingerprint: str,
    ttl_hours: int,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> Claim | Replay:
    """Claim ``key`` for this request, or return the stored answer to replay.

    Raises IdempotencyMismatch (another body used this key) or IdempotencyInFlight.
    """
    now = utcnow()
    ttl = timedelta(hours=ttl_hours)
    claim = Claim(credential_id, key, now, ttl)
    with uow.write() as conn:
        if store.claim(
            conn,
            credential_id=credential_id,
            key=key,
            request_hash=fingerprint,
            now=now,
            expires_at=now + ttl,
        ) or store.retake(
            conn,
            credential_id=credential_id,
            key=key,
            request_hash=fingerprint,
            stale_before=now - stale_after,
            now=now,
            expires_at=now + ttl,
        ):
            return claim
        held = store.get(conn, credential_id, key)
    if held is None:  # released between our two statements; the client may simply retry
        raise IdempotencyInFlight()
    if held.request_hash != fingerprint:
        raise IdempotencyMismatch()
    if held.answer is None:
        raise IdempotencyInFlight()
    status, body = held.answer
    return Replay(status=status, body=body)


@dataclass(slots=True)
class Seal:
    """The unit of work's commit hook for a keyed request: store the answer with the change.

    ``answer`` turns the use case's result into (status, body). The stored answer is the
    rendered body, so a replay is a plain read; rendering here costs a keyed request a few
    hundred microseconds under the write lock, which requests without a key never pay (they
    render after the commit). If the claim was taken over (this request outlived the stale
    window), it raises, so the change rolls back with it.
    """

    claim: Claim
    answer: Callable[[Any], tuple[int, bytes]]
    stored: tuple[int, bytes] | None = field(default=None)

    def __call__(self, conn: Connection, result: Any) -> None:
        status, body = self.answer(result)
        if not _complete(conn, self.claim, status=status, body=body):
            raise IdempotencyInFlight()
        self.stored = (status, body)


def _complete(conn: Connection, claim: Claim, *, status: int, body: bytes) -> bool:
    return store.complete(
        conn,
        credential_id=claim.credential_id,
        key=claim.key,
        claimed_at=claim.claimed_at,
        status=status,
        body=body,
        expires_at=utcnow() + claim.ttl,
    )


def record_failure(uow: UnitOfWork, claim: Claim, *, status: int, body: bytes) -> None:
    """A 4xx answer changed nothing and is deterministic: store it so a retry replays it.
    (A claim taken over meanwhile belongs to the new owner: then nothing is stored.)"""
    with uow.write() as conn:
        _complete(conn, claim, status=status, body=body)


def release(uow: UnitOfWork, claim: Claim) -> None:
    with uow.write() as conn:
        store.release(
            conn, credential_id=claim.credential_id, key=claim.key, claimed_at=claim.claimed_at
        )


def purge_expired(uow: UnitOfWork) -> int:
    """Delete stored answers past their retention (at least 24 h); returns how many went."""
    with uow.write() as conn:
        return store.purge_expired(conn, utcnow())
