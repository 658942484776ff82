"""The audit trail of failed authentications (AUTH_FAILED rows); never a secret in them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row

from promoledger.domain.context import Context
from promoledger.services.principals import MAX_NAME_LENGTH
from promoledger.store import audit


def record_failure(
    conn: Connection,
    *,
    reason: str,
    row: Row[Any] | None,
    kind: str,
    name: str | None,
    request_id: str | None,
) -> None:
    """One AUTH_FAILED row, attributed to the credential when the failure names a known one."""
    ctx = Context(org_id=int(row.org_id) if row is not None else None, actor_kind="ANONYMOUS")
    if request_id:
        ctx = replace(ctx, request_id=request_id)
    detail: dict[str, Any] = {"reason": reason, "kind": kind}
    if name is not None:
        detail["name"] = name[:MAX_NAME_LENGTH]
    change = audit.Change(
        action="AUTH_FAILED",
        entity_type="CREDENTIAL",
        entity_id=int(row.id) if row is not None else None,
        detail=detail,
    )
    audit.record(conn, ctx, [change])
