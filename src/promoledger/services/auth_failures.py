"""The audit trail of refused callers: AUTH_FAILED, AUTH_LOCKOUT and ACCESS_DENIED rows.

Never a secret in them. Refusals that nothing throttles (a disabled or expired token, a till
without the access a route needs, made-up names) could otherwise write a row per request, as
fast as an attacker sends them; the ``AuditBudget`` lets at most one row per credential (and
reason) per window through, and that row counts the refusals left out since the previous one
(``detail.repeats``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Connection, Row

from promoledger.domain.context import Anonymous, Context, Principal
from promoledger.services.principals import MAX_NAME_LENGTH
from promoledger.store import audit
from promoledger.store.uow import UnitOfWork

log = logging.getLogger("promoledger.auth")


class AuditBudget:
    """Per process: may this refusal be written, and how many were left out before it?"""

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._lock = threading.Lock()
        # key -> [window start (monotonic), refusals left out since the last written row]
        self._seen: TTLCache[Hashable, list[float]] = TTLCache(
            maxsize=10_000, ttl=2 * window_seconds
        )

    def admit(self, key: Hashable) -> int | None:
        """None: leave this one out (it is counted). Otherwise write it, with this many repeats."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self._window:
                seen[1] += 1
                return None
            repeats = int(seen[1]) if seen is not None else 0
            self._seen[key] = [now, 0]
            return repeats


def record_failure(
    conn: Connection,
    *,
    reason: str,
    row: Row[Any] | None,
    kind: str,
    name: str | None,
    request_id: str | None,
    repeats: int = 0,
) -> None:
    """One AUTH_FAILED row, attributed to the credential when the failure names a known one."""
    detail: dict[str, Any] = {"reason": reason, "kind": kind}
    if name is not None:
        detail["name"] = name[:MAX_NAME_LENGTH]
    if repeats:
        detail["repeats"] = repeats
    _record(conn, "AUTH_FAILED", row, request_id, detail)


def record_lockout(
    conn: Connection,
    *,
    row: Row[Any] | None,
    kind: str,
    name: str,
    client: str | None,
    scope: str,
    retry_after: int,
    request_id: str | None,
) -> None:
    """The failure that closed a name (to one address, or to everyone): logged and audited."""
    log.warning(
        "credential locked out: kind=%s name=%s scope=%s client=%s retry_after=%ss",
        kind,
        name[:MAX_NAME_LENGTH],
        scope,
        client,
        retry_after,
    )
    detail: dict[str, Any] = {
        "kind": kind,
        "name": name[:MAX_NAME_LENGTH],
        "scope": scope,
        "client": client,
        "retryAfter": retry_after,
    }
    _record(conn, "AUTH_LOCKOUT", row, request_id, detail)


def record_denied(
    uow: UnitOfWork,
    budget: AuditBudget,
    principal: Principal,
    *,
    request_id: str,
    detail: dict[str, Any],
) -> None:
    """ACCESS_DENIED for an authenticated caller without the access a route needs (bounded)."""
    repeats = budget.admit(("ACCESS_DENIED", principal.credential_id))
    if repeats is None:
        return
    ctx = Context.for_principal(principal, request_id=request_id)
    change = audit.Change(
        action="ACCESS_DENIED",
        entity_type="REQUEST",
        detail={**detail, "repeats": repeats} if repeats else detail,
    )
    with uow.write() as conn:
        audit.record(conn, ctx, [change])


def _record(
    conn: Connection,
    action: str,
    row: Row[Any] | None,
    request_id: str | None,
    detail: dict[str, Any],
) -> None:
    ctx = Anonymous(org_id=int(row.org_id) if row is not None else None)
    if request_id:
        ctx = replace(ctx, request_id=request_id)
    change = audit.Change(
        action=action,
        entity_type="CREDENTIAL",
        entity_id=int(row.id) if row is not None else None,
        detail=detail,
    )
    audit.record(conn, ctx, [change])
