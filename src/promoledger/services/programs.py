"""Program use cases: create, read, list — scoped to the caller's org."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.errors import NotFound
from promoledger.domain.names import clean_name
from promoledger.domain.programs import Program
from promoledger.domain.promotions import Promotion
from promoledger.services.promotions import add_promotion
from promoledger.store import audit
from promoledger.store import programs as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CreatedProgram:
    program: Program
    promotions: list[Promotion]


def create_program(
    uow: UnitOfWork,
    ctx: Context,
    *,
    name: str,
    promotions: Sequence[Mapping[str, Any]] = (),
) -> CreatedProgram:
    """Create a program, and with it any ``promotions`` (each a promotion spec), atomically."""
    org_id = ctx.org_id
    cleaned = clean_name(name)

    def work(conn: Connection) -> CreatedProgram:
        program = store.insert_program(conn, org_id=org_id, name=cleaned, now=utcnow())
        audit.record(
            conn,
            ctx,
            [audit.Change("PROGRAM_CREATED", "PROGRAM", program.id, detail={"name": cleaned})],
        )
        return CreatedProgram(
            program,
            [add_promotion(conn, ctx, program_id=program.id, **spec) for spec in promotions],
        )

    return uow.apply(work, dry_run=ctx.dry_run)


def get_program(uow: UnitOfWork, *, org_id: int, program_id: int) -> Program:
    with uow.read() as conn:
        program = store.get_program(conn, org_id=org_id, program_id=program_id)
    if program is None:
        raise NotFound("program")
    return program


def list_programs(uow: UnitOfWork, *, org_id: int) -> list[Program]:
    with uow.read() as conn:
        return store.list_programs(conn, org_id=org_id)
