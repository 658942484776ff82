"""The revoke write: one conditional UPDATE per table, whose RETURNING set is the arbiter.

``WHERE id IN (...) AND status = 'ACTIVE'`` means a row can be revoked by exactly one
transaction, whatever the number of concurrent requests or server processes: a second
UPDATE of the same row either waits for the first to commit (PostgreSQL re-checks the
condition and skips it) or runs after it (SQLite serialises writers). The caller compares
what came back with what it decided and never reports a row the UPDATE did not return.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, Table, update

from promoledger.domain.vocabulary import Status
from promoledger.store.tables import earns, enrolments


def revoke_enrolments(
    conn: Connection,
    ids: Collection[int],
    *,
    promotion_id: int,
    now: datetime,
    actor: str,
    request_id: str,
) -> set[int]:
    return _revoke(
        conn,
        enrolments,
        ids,
        promotion_id=promotion_id,
        now=now,
        actor=actor,
        request_id=request_id,
    )


def revoke_earns(
    conn: Connection,
    ids: Collection[int],
    *,
    promotion_id: int,
    now: datetime,
    actor: str,
    request_id: str,
) -> set[int]:
    return _revoke(
        conn, earns, ids, promotion_id=promotion_id, now=now, actor=actor, request_id=request_id
    )


def _revoke(
    conn: Connection,
    table: Table,
    ids: Collection[int],
    *,
    promotion_id: int,
    now: datetime,
    actor: str,
    request_id: str,
) -> set[int]:
    """ACTIVE → REVOKED for those of ``ids`` still ACTIVE; returns exactly the ids it changed."""
    if not ids:
        return set()
    stmt = (
        update(table)
        .where(
            table.c.id.in_(sorted(ids)),
            table.c.promotion_id == promotion_id,
            table.c.status == Status.ACTIVE.value,
        )
        .values(
            status=Status.REVOKED.value,
            ended_at=now,
            ended_by=actor,
            ended_request_id=request_id,
        )
        .returning(table.c.id)
    )
    return {int(row.id) for row in conn.execute(stmt)}
