"""Idempotency keys: claimed before a request runs, completed inside the request's transaction.

A claim is identified by its ``created_at`` (the claim time): completing or releasing a key is
conditional on the claim still being ours, so a request whose claim was taken over (it ran past
the stale window) can neither overwrite the new owner's answer nor commit its own change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from promoledger.store.tables import idempotency_keys as keys


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A key as someone else left it: the fingerprint of the request that holds it, and the
    (status, body) answer once that request is DONE (None while it is still RUNNING)."""

    request_hash: str
    answer: tuple[int, bytes] | None


def get(conn: Connection, credential_id: int, key: str) -> StoredAnswer | None:
    stmt = select(
        keys.c.request_hash, keys.c.state, keys.c.response_status, keys.c.response_body
    ).where(keys.c.credential_id == credential_id, keys.c.key == key)
    row = conn.execute(stmt).first()
    if row is None:
        return None
    done = row.state == "DONE"
    answer = (int(row.response_status), bytes(row.response_body)) if done else None
    return StoredAnswer(row.request_hash, answer)


def claim(
    conn: Connection,
    *,
    credential_id: int,
    key: str,
    request_hash: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Insert a RUNNING row. False when the key already exists (someone else holds or held it)."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(keys).values(
                    credential_id=credential_id,
                    key=key,
                    request_hash=request_hash,
                    state="RUNNING",
                    created_at=now,
                    expires_at=expires_at,
                )
            )
    except IntegrityError:
        return False
    return True


def retake(
    conn: Connection,
    *,
    credential_id: int,
    key: str,
    request_hash: str,
    stale_before: datetime,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Take over a RUNNING row abandoned by a crashed process, or an expired row."""
    result = conn.execute(
        update(keys)
        .where(
            keys.c.credential_id == credential_id,
            keys.c.key == key,
            ((keys.c.state == "RUNNING") & (keys.c.created_at < stale_before))
            | (keys.c.expires_at < now),
        )
        .values(
            request_hash=request_hash,
            state="RUNNING",
            created_at=now,
            expires_at=expires_at,
            response_status=None,
            response_body=None,
        )
    )
    return bool(result.rowcount)


def complete(
    conn: Connection,
    *,
    credential_id: int,
    key: str,
    claimed_at: datetime,
    status: int,
    body: bytes,
    expires_at: datetime,
) -> bool:
    """Store the answer of our claim. False when the claim is no longer ours."""
    result = conn.execute(
        update(keys)
        .where(
            keys.c.credential_id == credential_id,
            keys.c.key == key,
            keys.c.state == "RUNNING",
            keys.c.created_at == claimed_at,
        )
        .values(state="DONE", response_status=status, response_body=body, expires_at=expires_at)
    )
    return bool(result.rowcount)


def release(conn: Connection, *, credential_id: int, key: str, claimed_at: datetime) -> None:
    """Forget our claim when its request failed without an answer worth replaying (e.g. 503)."""
    conn.execute(
        delete(keys).where(
            keys.c.credential_id == credential_id,
            keys.c.key == key,
            keys.c.state == "RUNNING",
            keys.c.created_at == claimed_at,
        )
    )


def purge_expired(conn: Connection, now: datetime) -> int:
    return int(conn.execute(delete(keys).where(keys.c.expires_at < now)).rowcount)
