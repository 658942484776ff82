"""Reading the audit trail: newest first, filtered, keyset-paginated (stable while rows arrive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from promoledger.domain.audit import AuditEvent
from promoledger.domain.errors import VALIDATION, Invalid
from promoledger.store import audit as store
from promoledger.store.uow import UnitOfWork

DEFAULT_PAGE = 50
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page; None at the end


def list_events(
    uow: UnitOfWork,
    *,
    org_id: int,
    customer_id: int | None = None,
    promotion_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> AuditPage:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(VALIDATION, detail=f"limit must be 1..{MAX_PAGE}", field="limit")
    before_id = _decode(cursor) if cursor else None
    if since is not None:
        try:
            since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        except OverflowError as exc:
            raise Invalid(VALIDATION, detail="since is out of range", field="since") from exc
    with uow.read() as conn:
        # One row more than asked tells whether another page exists without a count query.
        found = store.query(
            conn,
            org_id=org_id,
            customer_id=customer_id,
            promotion_id=promotion_id,
            action=action,
            since=since,
            before_id=before_id,
            limit=limit + 1,
        )
    more = len(found) > limit
    events = found[:limit]
    return AuditPage(events, str(events[-1].id) if more and events else None)


def _decode(cursor: str) -> int:
    """The cursor is the id of the last event seen; clients treat it as an opaque string."""
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18) or int(cursor) < 1:
        raise Invalid(VALIDATION, detail="cursor is not one this API returned", field="cursor")
    return int(cursor)
