"""A customer's profile: the identifiers an org knows them by (sources and memberships are read
alongside it where a use case needs them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    org_id: int
    mobile: str | None
    email: str | None
    external_id: str | None
    created_at: datetime
    erased_at: datetime | None = None  # GDPR erase: identifiers gone, ledger kept
