"""Console sign-in sessions: a random token in an HttpOnly cookie, only its hash in the database.

The credential is read again on every request, so disabling it or changing its access takes
effect at once; a session idle longer than ``console_idle_minutes`` is gone. The CSRF token of
a session is derived from its token (HMAC), so it needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from promoledger.domain.context import Principal
from promoledger.store import sessions as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

# last_seen_at is written at most this often per session: reading a page is not a write each time.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal: Principal
    token_hash: str
    csrf_token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"promoledger-console-csrf", hashlib.sha256).hexdigest()


def start(uow: UnitOfWork, principal: Principal, *, idle: timedelta) -> str:
    """Store a new session for ``principal`` (and drop every idle one); returns its token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with uow.write() as conn:
        store.purge_idle(conn, seen_before=now - idle)
        store.insert_session(
            conn, token_hash=token_hash(token), credential_id=principal.credential_id, now=now
        )
    return token


def resume(uow: UnitOfWork, token: str, *, idle: timedelta) -> ConsoleSession | None:
    """The live session this token opens, or None (unknown, idle too long, credential disabled)."""
    digest = token_hash(token)
    now = utcnow()
    with uow.read() as conn:
        record = store.find(conn, digest)
    if record is None:
        return None
    if record.disabled or record.last_seen_at < now - idle:
        end(uow, token)
        return None
    if record.last_seen_at < now - TOUCH_EVERY:
        with uow.write() as conn:
            store.touch(conn, digest, now)
    return ConsoleSession(record.principal, digest, csrf_for(token))


def end(uow: UnitOfWork, token: str) -> None:
    with uow.write() as conn:
        store.remove(conn, token_hash(token))
