"""A promotion as the rules see it, and the request-level checks that depend only on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction
from promoledger.domain.errors import RequestRejected
from promoledger.domain.vocabulary import ExpiryRule, PromotionType

UNLIMITED = -1
MAX_LIMIT = 100

_ALLOWED: dict[PromotionType, frozenset[BulkAction]] = {
    PromotionType.ENROL_AND_ISSUE: frozenset(BulkAction),
    PromotionType.DIRECT_ISSUE: frozenset({BulkAction.EARN, BulkAction.REVOKE_EARN}),
    PromotionType.GENERIC: frozenset(),
}
_REVOKES = frozenset({BulkAction.REVOKE_ENROL, BulkAction.REVOKE_EARN})


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    org_id: int
    program_id: int
    identifier: str
    name: str
    type: PromotionType
    active: bool
    start_date: datetime | None
    end_date: datetime | None
    enrolments_per_customer: int
    earns_per_customer: int
    enrolment_expiry: ExpiryRule | None
    enrolment_expiry_days: int | None
    earn_expiry: ExpiryRule | None
    earn_expiry_days: int | None

    @classmethod
    def from_row(cls, row: Any) -> Promotion:
        return cls(
            id=int(row.id),
            org_id=int(row.org_id),
            program_id=int(row.program_id),
            identifier=row.identifier,
            name=row.name,
            type=PromotionType(row.type),
            active=bool(row.active),
            start_date=row.start_date,
            end_date=row.end_date,
            enrolments_per_customer=int(row.enrolments_per_customer),
            earns_per_customer=int(row.earns_per_customer),
            enrolment_expiry=ExpiryRule(row.enrolment_expiry) if row.enrolment_expiry else None,
            enrolment_expiry_days=row.enrolment_expiry_days,
            earn_expiry=ExpiryRule(row.earn_expiry) if row.earn_expiry else None,
            earn_expiry_days=row.earn_expiry_days,
        )

    def in_window(self, now: datetime) -> bool:
        if self.start_date is not None and now < self.start_date:
            return False
        return self.end_date is None or now <= self.end_date

    def enrolment_expires_at(self, created: datetime) -> datetime | None:
        return _expiry(self.enrolment_expiry, self.enrolment_expiry_days, self.end_date, created)

    def earn_expires_at(self, created: datetime) -> datetime | None:
        return _expiry(self.earn_expiry, self.earn_expiry_days, self.end_date, created)


def check_action(promotion: Promotion, action: BulkAction, now: datetime) -> None:
    """The promotion-level rules, in the contract's order: 8892 (inactive), then 8902."""
    if not promotion.active:
        raise RequestRejected(E.PROMOTION_INACTIVE)
    if action not in _REVOKES and not promotion.in_window(now):
        # Revokes are allowed before, during and after the window; ENROL/EARN only inside it.
        raise RequestRejected(E.PROMOTION_INACTIVE)
    if action not in _ALLOWED[promotion.type]:
        raise RequestRejected(
            E.REVOKE_NOT_SUPPORTED if action in _REVOKES else E.ACTION_NOT_SUPPORTED
        )


def within_limit(limit: int, used: int) -> bool:
    return limit == UNLIMITED or used < limit


def _expiry(
    rule: ExpiryRule | None, days: int | None, end: datetime | None, created: datetime
) -> datetime | None:
    if rule is ExpiryRule.PROMOTION:
        return end
    if rule is ExpiryRule.CUSTOM and days is not None:
        return created + timedelta(days=days)
    return None
