"""Promotion use cases: create, read, list, patch. Types are canonical and immutable once stored.

Rules (contract section 1): limits are 1..100 or -1 (unlimited), default 1; an expiry rule is
PROMOTION (at the promotion's end) or CUSTOM (N days after the record is created); a promotion's
window may be open on either side but never end before it starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from promoledger.domain.context import Context
from promoledger.domain.errors import (
    DUPLICATE,
    TYPE_IMMUTABLE,
    VALIDATION,
    Conflict,
    Invalid,
    NotFound,
)
from promoledger.domain.names import clean_name
from promoledger.domain.promotions import MAX_LIMIT, UNLIMITED
from promoledger.domain.vocabulary import (
    PROMOTION_TYPE_ALIASES,
    ExpiryRule,
    PromotionType,
    canonical_promotion_type,
)
from promoledger.store import audit
from promoledger.store import programs as program_store
from promoledger.store import promotions as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

DEFAULT_LIMIT = 1
MAX_EXPIRY_DAYS = 36500
MAX_IDENTIFIER = 200

# What PATCH may change, by domain name; `type` may be named only to restate the stored one.
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
_WIRE = {
    "start_date": "startDate",
    "end_date": "endDate",
    "enrolments_per_customer": "limits.enrolmentsPerCustomer",
    "earns_per_customer": "limits.earnsPerCustomer",
    "enrolment_expiry": "expiry.enrolment",
    "earn_expiry": "expiry.earn",
}


@dataclass(frozen=True, slots=True)
class ExpirySpec:
    rule: ExpiryRule
    days: int | None = None


def create_promotion(uow: UnitOfWork, ctx: Context, *, program_id: int, **spec: Any) -> Row[Any]:
    """Create one promotion in a program of the caller's org (``spec``: see ``add_promotion``)."""
    org_id = ctx.org_id

    def work(conn: Connection) -> Row[Any]:
        if program_store.get_program(conn, org_id=org_id, program_id=program_id) is None:
            raise NotFound("program")
        return add_promotion(conn, ctx, program_id=program_id, **spec)

    return uow.apply(work, dry_run=ctx.dry_run)


def add_promotion(
    conn: Connection,
    ctx: Context,
    *,
    program_id: int,
    name: str,
    type: str,
    identifier: str | None = None,
    active: bool = True,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    enrolments_per_customer: int = DEFAULT_LIMIT,
    earns_per_customer: int = DEFAULT_LIMIT,
    enrolment_expiry: ExpirySpec | None = None,
    earn_expiry: ExpirySpec | None = None,
) -> Row[Any]:
    """Insert a checked promotion into an existing program, inside the caller's transaction."""
    org_id = ctx.org_id
    canonical = _canonical_type(type)
    settings = _checked(
        {
            "name": name,
            "active": active,
            "start_date": start_date,
            "end_date": end_date,
            "enrolments_per_customer": enrolments_per_customer,
            "earns_per_customer": earns_per_customer,
            "enrolment_expiry": enrolment_expiry,
            "earn_expiry": earn_expiry,
        }
    )
    ident = _clean_identifier(identifier) if identifier is not None else str(uuid.uuid4())
    now = utcnow()
    if store.identifier_taken(conn, org_id=org_id, identifier=ident):
        raise _identifier_taken(ident)
    try:
        with conn.begin_nested():
            row = store.insert_promotion(
                conn,
                {
                    "org_id": org_id,
                    "program_id": program_id,
                    "identifier": ident,
                    "type": canonical.value,
                    "created_at": now,
                    "updated_at": now,
                    **_columns(settings),
                },
            )
    except IntegrityError as exc:  # a concurrent create took the identifier after our check
        raise _identifier_taken(ident) from exc
    audit.record(
        conn,
        ctx,
        [
            audit.Change(
                "PROMOTION_CREATED",
                "PROMOTION",
                int(row.id),
                promotion_id=int(row.id),
                new_status=_activity(row.active),
                detail={"programId": program_id, "type": canonical.value, "name": row.name},
            )
        ],
        at=now,
    )
    return row


def update_promotion(
    uow: UnitOfWork, ctx: Context, *, promotion_id: int, changes: Mapping[str, Any]
) -> Row[Any]:
    """Apply a partial change (keys from ``UPDATABLE``); the merged result must obey the rules."""
    org_id = ctx.org_id
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise Invalid(VALIDATION, detail=f"cannot change {sorted(unknown)}", field=min(unknown))

    def work(conn: Connection) -> Row[Any]:
        current = store.get_promotion(conn, org_id=org_id, promotion_id=promotion_id, lock=True)
        if current is None:
            raise NotFound("promotion")
        if "type" in changes:
            wanted = canonical_promotion_type(str(changes["type"]))
            if wanted is None or wanted.value != current.type:
                raise Invalid(TYPE_IMMUTABLE, field="type")
        before = _settings_of(current)
        after = _checked({**before, **{k: v for k, v in changes.items() if k != "type"}})
        diff = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
        if not diff:
            return current
        now = utcnow()
        row = store.update_promotion(
            conn,
            promotion_id=promotion_id,
            values={**_columns({k: after[k] for k in diff}), "updated_at": now},
        )
        audit.record(
            conn,
            ctx,
            [
                audit.Change(
                    "PROMOTION_UPDATED",
                    "PROMOTION",
                    promotion_id,
                    promotion_id=promotion_id,
                    old_status=_activity(current.active) if "active" in diff else None,
                    new_status=_activity(row.active) if "active" in diff else None,
                    detail={
                        "changes": {
                            _WIRE.get(k, k): [_plain(o), _plain(n)] for k, (o, n) in diff.items()
                        }
                    },
                )
            ],
            at=now,
        )
        return row

    return uow.apply(work, dry_run=ctx.dry_run)


def get_promotion(uow: UnitOfWork, *, org_id: int, promotion_id: int) -> Row[Any]:
    with uow.read() as conn:
        row = store.get_promotion(conn, org_id=org_id, promotion_id=promotion_id)
    if row is None:
        raise NotFound("promotion")
    return row


def list_promotions(uow: UnitOfWork, *, org_id: int, program_id: int) -> list[Row[Any]]:
    with uow.read() as conn:
        if program_store.get_program(conn, org_id=org_id, program_id=program_id) is None:
            raise NotFound("program")
        return store.list_for_program(conn, org_id=org_id, program_id=program_id)


def expiry_of(rule: str | None, days: int | None) -> ExpirySpec | None:
    return ExpirySpec(ExpiryRule(rule), days) if rule else None


# --- rules ------------------------------------------------------------------------------------
def _checked(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise a full set of updatable settings (create, or merged patch)."""
    out = dict(settings)
    out["name"] = clean_name(str(settings["name"]))
    out["active"] = bool(settings["active"])
    for key in ("start_date", "end_date"):
        out[key] = _utc(settings[key])
    if out["start_date"] and out["end_date"] and out["end_date"] < out["start_date"]:
        raise Invalid(VALIDATION, detail="endDate must not be before startDate", field="endDate")
    for key in ("enrolments_per_customer", "earns_per_customer"):
        out[key] = _limit(settings[key], _WIRE[key])
    for key in ("enrolment_expiry", "earn_expiry"):
        out[key] = _expiry(settings[key], _WIRE[key])
    return out


def _limit(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(VALIDATION, detail=f"{field} must be an integer", field=field)
    if value != UNLIMITED and not 1 <= value <= MAX_LIMIT:
        raise Invalid(
            VALIDATION,
            detail=f"{field} must be 1..{MAX_LIMIT}, or {UNLIMITED} for unlimited",
            field=field,
        )
    return value


def _expiry(spec: ExpirySpec | None, field: str) -> ExpirySpec | None:
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


def _canonical_type(value: str) -> PromotionType:
    canonical = canonical_promotion_type(value)
    if canonical is None:
        names = ", ".join(PROMOTION_TYPE_ALIASES)
        raise Invalid(VALIDATION, detail=f"type must be one of {names}", field="type")
    return canonical


def _clean_identifier(identifier: str) -> str:
    cleaned = identifier.strip()
    if not 0 < len(cleaned) <= MAX_IDENTIFIER:
        raise Invalid(
            VALIDATION,
            detail=f"identifier must be 1..{MAX_IDENTIFIER} characters",
            field="identifier",
        )
    return cleaned


def _identifier_taken(identifier: str) -> Conflict:
    return Conflict(
        DUPLICATE,
        detail=f"identifier {identifier!r} is already used by another promotion",
        field="identifier",
    )


def _utc(value: datetime | None) -> datetime | None:
    """Dates are stored in UTC; a date without a zone is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _settings_of(row: Row[Any]) -> dict[str, Any]:
    return {
        "name": row.name,
        "active": bool(row.active),
        "start_date": row.start_date,
        "end_date": row.end_date,
        "enrolments_per_customer": int(row.enrolments_per_customer),
        "earns_per_customer": int(row.earns_per_customer),
        "enrolment_expiry": expiry_of(row.enrolment_expiry, row.enrolment_expiry_days),
        "earn_expiry": expiry_of(row.earn_expiry, row.earn_expiry_days),
    }


def _columns(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Domain settings → table columns (an expiry spec is two columns)."""
    columns: dict[str, Any] = {}
    for key, value in settings.items():
        if key in ("enrolment_expiry", "earn_expiry"):
            columns[key] = value.rule.value if value else None
            columns[f"{key}_days"] = value.days if value else None
        else:
            columns[key] = value
    return columns


def _plain(value: Any) -> Any:
    if isinstance(value, ExpirySpec):
        return {"rule": value.rule.value, "days": value.days}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _activity(active: Any) -> str:
    return "ACTIVE" if active else "INACTIVE"
