"""Programs: the containers promotions and customer memberships hang off, one org each."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from promoledger.domain.programs import Program
from promoledger.store.tables import programs


def program_of(row: Row[Any]) -> Program:
    return Program(id=int(row.id), org_id=int(row.org_id), name=row.name, created_at=row.created_at)


def insert_program(conn: Connection, *, org_id: int, name: str, now: datetime) -> Program:
    stmt = insert(programs).values(org_id=org_id, name=name, created_at=now).returning(programs)
    return program_of(conn.execute(stmt).one())


def get_program(conn: Connection, *, org_id: int, program_id: int) -> Program | None:
    """A program of this org; another org's program is as absent as a missing one."""
    stmt = select(programs).where(programs.c.id == program_id, programs.c.org_id == org_id)
    row = conn.execute(stmt).first()
    return None if row is None else program_of(row)


def list_programs(conn: Connection, *, org_id: int) -> list[Program]:
    stmt = select(programs).where(programs.c.org_id == org_id).order_by(programs.c.id)
    return [program_of(row) for row in conn.execute(stmt)]


def existing_ids(conn: Connection, *, org_id: int, program_ids: Collection[int]) -> set[int]:
    """Which of these program ids exist in this org (one statement for the whole set)."""
    if not program_ids:
        return set()
    stmt = select(programs.c.id).where(
        programs.c.org_id == org_id, programs.c.id.in_(list(program_ids))
    )
    return {int(pid) for pid in conn.execute(stmt).scalars()}
