"""The ledger's one record type and the one rule for what a record's status is right now.

An enrolment and an earn are both a ``LedgerRecord``: the store maps its rows into it once,
and every rule (revoke, enrol/earn limits, timelines, the admin view) reads the same type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from promoledger.domain.vocabulary import Status

_ACTIVE = Status.ACTIVE  # bound once: this runs for every record a bulk request loads


def is_overdue(status: Status, expires_at: datetime | None, now: datetime) -> bool:
    """The rule: a record still stored ACTIVE whose expiry has passed has in fact EXPIRED."""
    return expires_at is not None and expires_at <= now and status is _ACTIVE


def effective_status(status: Status, expires_at: datetime | None, now: datetime) -> Status:
    """ACTIVE and past its expiry is EXPIRED, whether or not a write has marked it so yet."""
    return Status.EXPIRED if is_overdue(status, expires_at, now) else status


@dataclass(slots=True)
class LedgerRecord:
    """An enrolment or an earn. Reads that need less leave the optional fields unset."""

    id: int
    customer_id: int
    status: Status
    expires_at: datetime | None = None
    promotion_id: int | None = None
    created_at: datetime | None = None
    enrolment_id: int | None = None  # earns: the enrolment it was earned under
    ended_at: datetime | None = None
    ended_by: str | None = None
    ended_request_id: str | None = None

    def status_at(self, now: datetime) -> Status:
        return effective_status(self.status, self.expires_at, now)

    def overdue(self, now: datetime) -> bool:
        """Still stored ACTIVE although it has expired: the next write marks it EXPIRED."""
        return is_overdue(self.status, self.expires_at, now)


@dataclass(slots=True)
class CustomerLedger:
    """One customer's records in one promotion, in id order."""

    enrolments: list[LedgerRecord] = field(default_factory=list)
    earns: list[LedgerRecord] = field(default_factory=list)
