"""A promotion as the rules see it, the request-level checks that depend only on it, and the
rules its settings obey (contract section 1).

Limits are 1..100 or -1 (unlimited), default 1; an expiry rule is PROMOTION (at the promotion's
end) or CUSTOM (N days after the record is created); a promotion's window may be open on either
side but never end before it starts. Types are canonical and immutable once stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction
from promoledger.domain.errors import VALIDATION, Invalid, RequestRejected
from promoledger.domain.names import clean_name
from promoledger.domain.vocabulary import (
    PROMOTION_TYPE_ALIASES,
    ExpiryRule,
    PromotionType,
    canonical_promotion_type,
)

UNLIMITED = -1
MAX_LIMIT = 100
DEFAULT_LIMIT = 1
MAX_EXPIRY_DAYS = 36500
MAX_IDENTIFIER = 200

# The settings a PATCH may change, by domain name; `type` may be named only to restate the
# stored one.
UPDATABLE = frozenset(
    {
        "name",
        "active",
        "start_date",
        "end_date",
        "enrolments_per_customer",
        "earns_per_customer",
        "enrolment_expiry",
        "earn_expiry",
        "type",
    }
)
# Domain name → the field a client sent it as (errors and the audit trail name the wire field).
WIRE_NAMES = {
    "start_date": "startDate",
    "end_date": "endDate",
    "enrolments_per_customer": "limits.enrolmentsPerCustomer",
    "earns_per_customer": "limits.earnsPerCustomer",
    "enrolment_expiry": "expiry.enrolment",
    "earn_expiry": "expiry.earn",
}

_ALLOWED: dict[PromotionType, frozenset[BulkAction]] = {
    PromotionType.ENROL_AND_ISSUE: frozenset(BulkAction),
    PromotionType.DIRECT_ISSUE: frozenset({BulkAction.EARN, BulkAction.REVOKE_EARN}),
    PromotionType.GENERIC: frozenset(),
}
_REVOKES = frozenset({BulkAction.REVOKE_ENROL, BulkAction.REVOKE_EARN})


@dataclass(frozen=True, slots=True)
class ExpirySpec:
    rule: ExpiryRule
    days: int | None = None


def expiry_of(rule: str | None, days: int | None) -> ExpirySpec | None:
    return ExpirySpec(ExpiryRule(rule), days) if rule else None


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
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def enrolment_expiry_spec(self) -> ExpirySpec | None:
        return expiry_of(self.enrolment_expiry, self.enrolment_expiry_days)

    @property
    def earn_expiry_spec(self) -> ExpirySpec | None:
        return expiry_of(self.earn_expiry, self.earn_expiry_days)

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


# --- settings ---------------------------------------------------------------------------------
def settings_of(promotion: Promotion) -> dict[str, Any]:
    """The updatable settings of a stored promotion, in the shape ``checked`` takes."""
    return {
        "name": promotion.name,
        "active": promotion.active,
        "start_date": promotion.start_date,
        "end_date": promotion.end_date,
        "enrolments_per_customer": promotion.enrolments_per_customer,
        "earns_per_customer": promotion.earns_per_customer,
        "enrolment_expiry": promotion.enrolment_expiry_spec,
        "earn_expiry": promotion.earn_expiry_spec,
    }


def check_updatable(changes: Mapping[str, Any]) -> None:
    """A patch names only settings in ``UPDATABLE``."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise Invalid(VALIDATION, detail=f"cannot change {sorted(unknown)}", field=min(unknown))


def check_type_kept(promotion: Promotion, changes: Mapping[str, Any]) -> None:
    """A patch may name ``type`` only to restate the stored one (any alias of it)."""
    if "type" in changes:
        wanted = canonical_promotion_type(str(changes["type"]))
        if wanted is None or wanted is not promotion.type:
            raise Invalid(E.TYPE_IMMUTABLE, field="type")


def checked(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise a full set of updatable settings (create, or merged patch)."""
    out = dict(settings)
    out["name"] = clean_name(str(settings["name"]))
    out["active"] = bool(settings["active"])
    for key in ("start_date", "end_date"):
        out[key] = as_utc(settings[key])
    if out["start_date"] and out["end_date"] and out["end_date"] < out["start_date"]:
        raise Invalid(VALIDATION, detail="endDate must not be before startDate", field="endDate")
    for key in ("enrolments_per_customer", "earns_per_customer"):
        out[key] = checked_limit(settings[key], WIRE_NAMES[key])
    for key in ("enrolment_expiry", "earn_expiry"):
        out[key] = checked_expiry(settings[key], WIRE_NAMES[key])
    return out


def checked_limit(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(VALIDATION, detail=f"{field} must be an integer", field=field)
    if value != UNLIMITED and not 1 <= value <= MAX_LIMIT:
        raise Invalid(
            VALIDATION,
            detail=f"{field} must be 1..{MAX_LIMIT}, or {UNLIMITED} for unlimited",
            field=field,
        )
    return value


def checked_expiry(spec: ExpirySpec | None, field: str) -> ExpirySpec | None:
    if spec is None:
        return None
    if spec.rule is ExpiryRule.CUSTOM:
        if spec.days is None or not 1 <= spec.days <= MAX_EXPIRY_DAYS:
            raise Invalid(
                VALIDATION,
                detail=f"a CUSTOM expiry needs days 1..{MAX_EXPIRY_DAYS}",
                field=f"{field}.days",
            )
    elif spec.days is not None:
        raise Invalid(
            VALIDATION,
            detail="days applies only to a CUSTOM expiry (PROMOTION expires at endDate)",
            field=f"{field}.days",
        )
    return spec


def canonical_type(value: str) -> PromotionType:
    canonical = canonical_promotion_type(value)
    if canonical is None:
        names = ", ".join(PROMOTION_TYPE_ALIASES)
        raise Invalid(VALIDATION, detail=f"type must be one of {names}", field="type")
    return canonical


def clean_identifier(identifier: str) -> str:
    cleaned = identifier.strip()
    if not 0 < len(cleaned) <= MAX_IDENTIFIER:
        raise Invalid(
            VALIDATION,
            detail=f"identifier must be 1..{MAX_IDENTIFIER} characters",
            field="identifier",
        )
    return cleaned


def as_utc(value: datetime | None) -> datetime | None:
    """Dates are stored in UTC; a date without a zone is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
