"""Idempotency keys: claimed before a request runs, completed inside the request's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from promoledger.store.tables import idempotency_keys as keys


def get(conn: Connection, credential_id: int, key: str) -> Row[Any] | None:
    stmt = select(keys).where(keys.c.credential_id == credential_id, keys.c.key == key)
    return conn.execute(stmt).first()


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
            response_headers=None,
        )
    )
    return bool(result.rowcount)


def complete(
    conn: Connection, *, credential_id: int, key: str, status: int, body: bytes, headers: str | None
) -> None:
    conn.execute(
        update(keys)
        .where(keys.c.credential_id == credential_id, keys.c.key == key)
        .values(state="DONE", response_status=status, response_body=body, response_headers=headers)
    )


def release(conn: Connection, *, credential_id: int, key: str) -> None:
    """Forget a claim whose request failed without an answer worth replaying (e.g. 503)."""
    conn.execute(
        delete(keys).where(
            keys.c.credential_id == credential_id, keys.c.key == key, keys.c.state == "RUNNING"
        )
    )


def purge_expired(conn: Connection, now: datetime) -> int:
    return int(conn.execute(delete(keys).where(keys.c.expires_at < now)).rowcount)
