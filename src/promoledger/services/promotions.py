"""Promotion use cases: create, read, list, patch. The rules they apply (limits, dates, expiry,
the canonical and immutable type) are pure and live in ``domain.promotions``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from promoledger.domain.context import Context
from promoledger.domain.errors import DUPLICATE, Conflict, NotFound
from promoledger.domain.promotions import (
    DEFAULT_LIMIT,
    WIRE_NAMES,
    ExpirySpec,
    Promotion,
    canonical_type,
    check_type_kept,
    check_updatable,
    checked,
    clean_identifier,
    settings_of,
)
from promoledger.store import audit
from promoledger.store import programs as program_store
from promoledger.store import promotions as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


def create_promotion(uow: UnitOfWork, ctx: Context, *, program_id: int, **spec: Any) -> Promotion:
    """Create one promotion in a program of the caller's org (``spec``: see ``add_promotion``)."""
    org_id = ctx.org_id

    def work(conn: Connection) -> Promotion:
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
) -> Promotion:
    """Insert a checked promotion into an existing program, inside the caller's transaction."""
    org_id = ctx.org_id
    canonical = canonical_type(type)
    settings = checked(
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
    ident = clean_identifier(identifier) if identifier is not None else str(uuid.uuid4())
    now = utcnow()
    if store.identifier_taken(conn, org_id=org_id, identifier=ident):
        raise _identifier_taken(ident)
    try:
        with conn.begin_nested():
            promotion = store.insert_promotion(
                conn,
                {
                    "org_id": org_id,
                    "program_id": program_id,
                    "identifier": ident,
                    "type": canonical.value,
                    "created_at": now,
                    "updated_at": now,
                    **store.settings_columns(settings),
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
                promotion.id,
                promotion_id=promotion.id,
                new_status=_activity(promotion.active),
                detail={
                    "programId": program_id,
                    "type": canonical.value,
                    "name": promotion.name,
                },
            )
        ],
        at=now,
    )
    return promotion


def update_promotion(
    uow: UnitOfWork, ctx: Context, *, promotion_id: int, changes: Mapping[str, Any]
) -> Promotion:
    """Apply a partial change (keys from ``UPDATABLE``); the merged result must obey the rules."""
    org_id = ctx.org_id
    check_updatable(changes)

    def work(conn: Connection) -> Promotion:
        current = store.get_promotion(conn, org_id=org_id, promotion_id=promotion_id, lock=True)
        if current is None:
            raise NotFound("promotion")
        check_type_kept(current, changes)
        before = settings_of(current)
        after = checked({**before, **{k: v for k, v in changes.items() if k != "type"}})
        diff = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
        if not diff:
            return current
        now = utcnow()
        updated = store.update_promotion(
            conn,
            promotion_id=promotion_id,
            values={**store.settings_columns({k: after[k] for k in diff}), "updated_at": now},
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
                    new_status=_activity(updated.active) if "active" in diff else None,
                    detail={
                        "changes": {
                            WIRE_NAMES.get(k, k): [_plain(o), _plain(n)]
                            for k, (o, n) in diff.items()
                        }
                    },
                )
            ],
            at=now,
        )
        return updated

    return uow.apply(work, dry_run=ctx.dry_run)


def get_promotion(uow: UnitOfWork, *, org_id: int, promotion_id: int) -> Promotion:
    with uow.read() as conn:
        promotion = store.get_promotion(conn, org_id=org_id, promotion_id=promotion_id)
    if promotion is None:
        raise NotFound("promotion")
    return promotion


def list_promotions(uow: UnitOfWork, *, org_id: int, program_id: int) -> list[Promotion]:
    with uow.read() as conn:
        if program_store.get_program(conn, org_id=org_id, program_id=program_id) is None:
            raise NotFound("program")
        return store.list_for_program(conn, org_id=org_id, program_id=program_id)


def _identifier_taken(identifier: str) -> Conflict:
    return Conflict(
        DUPLICATE,
        detail=f"identifier {identifier!r} is already used by another promotion",
        field="identifier",
    )


def _plain(value: Any) -> Any:
    """A setting as the audit trail's JSON detail holds it."""
    if isinstance(value, ExpirySpec):
        return {"rule": value.rule.value, "days": value.days}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _activity(active: bool) -> str:
    return "ACTIVE" if active else "INACTIVE"
