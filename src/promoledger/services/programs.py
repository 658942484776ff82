"""Program use cases: create, read, list — scoped to the caller's org."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from promoledger.domain.context import Context
from promoledger.domain.errors import VALIDATION, Invalid, NotFound
from promoledger.store import audit
from promoledger.store import programs as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

MAX_NAME = 200


def clean_name(name: str, field: str = "name") -> str:
    """Names are trimmed and must keep 1..200 characters."""
    cleaned = name.strip()
    if not 0 < len(cleaned) <= MAX_NAME:
        raise Invalid(VALIDATION, detail=f"{field} must be 1..{MAX_NAME} characters", field=field)
    return cleaned


def create_program(uow: UnitOfWork, ctx: Context, *, name: str) -> Row[Any]:
    org_id = _org(ctx)
    cleaned = clean_name(name)
    with uow.write(dry_run=ctx.dry_run) as conn:
        row = store.insert_program(conn, org_id=org_id, name=cleaned, now=utcnow())
        audit.record(
            conn,
            ctx,
            [audit.Change("PROGRAM_CREATED", "PROGRAM", int(row.id), detail={"name": cleaned})],
        )
        ctx.seal(conn, row)
    return row


def get_program(uow: UnitOfWork, *, org_id: int, program_id: int) -> Row[Any]:
    with uow.read() as conn:
        row = store.get_program(conn, org_id=org_id, program_id=program_id)
    if row is None:
        raise NotFound("program")
    return row


def list_programs(uow: UnitOfWork, *, org_id: int) -> list[Row[Any]]:
    with uow.read() as conn:
        return store.list_programs(conn, org_id=org_id)


def _org(ctx: Context) -> int:
    assert ctx.org_id is not None, "config changes always act inside an org"
    return ctx.org_id
