"""Program use cases: create, read, list — scoped to the caller's org."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from promoledger.domain.context import Context
from promoledger.domain.errors import NotFound
from promoledger.domain.names import clean_name
from promoledger.services.promotions import add_promotion
from promoledger.store import audit
from promoledger.store import programs as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CreatedProgram:
    program: Row[Any]
    promotions: list[Row[Any]]


def create_program(
    uow: UnitOfWork,
    ctx: Context,
    *,
    name: str,
    promotions: Sequence[Mapping[str, Any]] = (),
) -> CreatedProgram:
    """Create a program, and with it any ``promotions`` (each a promotion spec), atomically."""
    org_id = _org(ctx)
    cleaned = clean_name(name)
    with uow.write(dry_run=ctx.dry_run) as conn:
        row = store.insert_program(conn, org_id=org_id, name=cleaned, now=utcnow())
        audit.record(
            conn,
            ctx,
            [audit.Change("PROGRAM_CREATED", "PROGRAM", int(row.id), detail={"name": cleaned})],
        )
        created = CreatedProgram(
            row, [add_promotion(conn, ctx, program_id=int(row.id), **spec) for spec in promotions]
        )
        ctx.seal(conn, created)
    return created


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
