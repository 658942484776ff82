"""An audit event as it is read back: one state change, who made it and under which request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    occurred_at: datetime
    org_id: int | None
    actor_kind: str
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    customer_id: int | None
    promotion_id: int | None
    old_status: str | None
    new_status: str | None
    request_id: str | None
    idempotency_key: str | None
    detail: dict[str, Any] | None
