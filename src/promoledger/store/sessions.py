"""Console sessions: rows keyed by the SHA-256 of the cookie's token, read with their credential."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from promoledger.domain.context import Principal
from promoledger.domain.vocabulary import Access, CredentialKind
from promoledger.store.tables import console_sessions as sessions
from promoledger.store.tables import credentials


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session and the credential it signed in, as the credential is now."""

    principal: Principal
    disabled: bool
    last_seen_at: datetime


def insert_session(conn: Connection, *, token_hash: str, credential_id: int, now: datetime) -> None:
    conn.execute(
        insert(sessions).values(
            token_hash=token_hash, credential_id=credential_id, created_at=now, last_seen_at=now
        )
    )


def find(conn: Connection, token_hash: str) -> SessionRecord | None:
    stmt = (
        select(
            credentials.c.id,
            credentials.c.org_id,
            credentials.c.kind,
            credentials.c.name,
            credentials.c.customer_access,
            credentials.c.config_access,
            credentials.c.disabled,
            sessions.c.last_seen_at,
        )
        .join(credentials, credentials.c.id == sessions.c.credential_id)
        .where(sessions.c.token_hash == token_hash)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    principal = Principal(
        org_id=int(row.org_id),
        credential_id=int(row.id),
        kind=CredentialKind(row.kind),
        name=row.name,
        customer_access=Access[row.customer_access],
        config_access=Access[row.config_access],
    )
    return SessionRecord(principal, bool(row.disabled), row.last_seen_at)


def touch(conn: Connection, token_hash: str, now: datetime) -> None:
    conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now)
    )


def remove(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


def purge_idle(conn: Connection, *, seen_before: datetime) -> int:
    """Delete every session idle since before ``seen_before``; returns how many went."""
    return conn.execute(delete(sessions).where(sessions.c.last_seen_at < seen_before)).rowcount
