"""Webhook endpoints and deliveries in the database, mapped once into ``domain.webhooks`` types.

The dispatcher's statements are here too: claiming endpoints under a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite writers are serialised anyway), cutting the next delivery from
the outbox and recording an attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from promoledger.domain.webhooks import FAILED, PENDING, Delivery, Endpoint
from promoledger.store.tables import events, webhook_deliveries, webhook_endpoints

E, D = webhook_endpoints, webhook_deliveries


def insert_endpoint(
    conn: Connection,
    *,
    org_id: int,
    url: str,
    event_types: tuple[str, ...],
    description: str | None,
    salt: bytes,
    now: datetime,
) -> Endpoint:
    """A new endpoint receives the events committed after it (its cursor is the org's last)."""
    cursor = conn.execute(
        select(func.coalesce(func.max(events.c.id), 0)).where(events.c.org_id == org_id)
    ).scalar_one()
    row = conn.execute(
        insert(E)
        .values(
            org_id=org_id,
            url=url,
            event_types=orjson.dumps(list(event_types)).decode(),
            description=description,
            enabled=True,
            secret_salt=salt,
            cursor=int(cursor),
            deleted=False,
            created_at=now,
            updated_at=now,
        )
        .returning(*E.c)
    ).one()
    return endpoint_of(row)


def get_endpoint(
    conn: Connection, *, org_id: int, endpoint_id: int, lock: bool = False
) -> Endpoint | None:
    stmt = select(E).where(E.c.id == endpoint_id, E.c.org_id == org_id, E.c.deleted.is_(False))
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).one_or_none()
    return endpoint_of(row) if row is not None else None


def list_endpoints(conn: Connection, *, org_id: int) -> list[Endpoint]:
    stmt = select(E).where(E.c.org_id == org_id, E.c.deleted.is_(False)).order_by(E.c.id)
    return [endpoint_of(row) for row in conn.execute(stmt)]


def update_endpoint(conn: Connection, endpoint_id: int, **values: Any) -> Endpoint:
    if "event_types" in values:
        values["event_types"] = orjson.dumps(list(values["event_types"])).decode()
    row = conn.execute(
        update(E).where(E.c.id == endpoint_id).values(**values).returning(*E.c)
    ).one()
    return endpoint_of(row)


def salts_of(conn: Connection, endpoint_id: int, *, now: datetime) -> list[bytes]:
    """The salts of the secrets that sign now: the current one, then the previous one while
    its rotation grace period lasts."""
    row = conn.execute(
        select(E.c.secret_salt, E.c.previous_salt, E.c.previous_until).where(E.c.id == endpoint_id)
    ).one()
    salts = [bytes(row.secret_salt)]
    if (
        row.previous_salt is not None
        and row.previous_until is not None
        and row.previous_until > now
    ):
        salts.append(bytes(row.previous_salt))
    return salts


def list_deliveries(conn: Connection, *, endpoint_id: int, limit: int) -> list[Delivery]:
    stmt = select(D).where(D.c.endpoint_id == endpoint_id).order_by(D.c.id.desc()).limit(limit)
    return [delivery_of(row) for row in conn.execute(stmt)]


# --- the dispatcher's statements ------------------------------------------------------------
def due_endpoints(conn: Connection, *, now: datetime, limit: int, exclude: list[int]) -> list[int]:
    """Endpoints with work to do now and no live lease: a due PENDING delivery, or (none
    pending) events after their cursor. A read: claiming is ``claim``."""
    pending_due = (
        select(D.c.id)
        .where(D.c.endpoint_id == E.c.id, D.c.status == PENDING, D.c.next_attempt_at <= now)
        .exists()
    )
    pending_any = select(D.c.id).where(D.c.endpoint_id == E.c.id, D.c.status == PENDING).exists()
    newer = (
        select(events.c.id).where(events.c.org_id == E.c.org_id, events.c.id > E.c.cursor).exists()
    )
    conds = [
        E.c.enabled.is_(True),
        E.c.deleted.is_(False),
        or_(E.c.lease_until.is_(None), E.c.lease_until < now),
        or_(pending_due, and_(~pending_any, newer)),
    ]
    if exclude:
        conds.append(E.c.id.not_in(exclude))
    stmt = select(E.c.id).where(*conds).order_by(E.c.lease_until.nulls_first(), E.c.id)
    return [int(r.id) for r in conn.execute(stmt.limit(limit))]


def claim(
    conn: Connection, ids: list[int], *, owner: str, now: datetime, until: datetime
) -> list[int]:
    """Take the lease of those of ``ids`` nobody holds; the ones taken."""
    if not ids:
        return []
    free = and_(
        E.c.id.in_(ids),
        E.c.enabled.is_(True),
        or_(E.c.lease_until.is_(None), E.c.lease_until < now),
    )
    if conn.dialect.name == "postgresql":
        locked = select(E.c.id).where(free).with_for_update(skip_locked=True)
        free = E.c.id.in_(locked.scalar_subquery())
    stmt = update(E).where(free).values(lease_owner=owner, lease_until=until).returning(E.c.id)
    return sorted(int(r.id) for r in conn.execute(stmt))


def renew(conn: Connection, endpoint_id: int, *, owner: str, until: datetime) -> Endpoint | None:
    """Extend our lease; None when it is no longer ours (expired and taken) or the endpoint
    was disabled or deleted meanwhile."""
    row = conn.execute(
        update(E)
        .where(
            E.c.id == endpoint_id,
            E.c.lease_owner == owner,
            E.c.enabled.is_(True),
            E.c.deleted.is_(False),
        )
        .values(lease_until=until)
        .returning(*E.c)
    ).one_or_none()
    return endpoint_of(row) if row is not None else None


def release(conn: Connection, endpoint_id: int, *, owner: str) -> None:
    conn.execute(
        update(E)
        .where(E.c.id == endpoint_id, E.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def get_delivery(conn: Connection, delivery_id: int) -> Delivery | None:
    row = conn.execute(select(D).where(D.c.id == delivery_id)).one_or_none()
    return delivery_of(row) if row is not None else None


def oldest_pending(conn: Connection, endpoint_id: int) -> Delivery | None:
    row = conn.execute(
        select(D)
        .where(D.c.endpoint_id == endpoint_id, D.c.status == PENDING)
        .order_by(D.c.id)
        .limit(1)
    ).one_or_none()
    return delivery_of(row) if row is not None else None


def next_events(conn: Connection, endpoint: Endpoint, *, limit: int) -> tuple[list[int], int]:
    """The ids of the next events for ``endpoint`` (at most ``limit``), and its new cursor.

    Ids are allocated in commit order, so every event up to the org's newest id is already
    visible: the cursor can move past events the endpoint does not subscribe to."""
    newest = int(
        conn.execute(
            select(func.coalesce(func.max(events.c.id), 0)).where(
                events.c.org_id == endpoint.org_id
            )
        ).scalar_one()
    )
    conds = [
        events.c.org_id == endpoint.org_id,
        events.c.id > endpoint.cursor,
        events.c.id <= newest,
    ]
    if "*" not in endpoint.event_types:
        conds.append(events.c.type.in_(endpoint.event_types))
    ids = [
        int(r.id)
        for r in conn.execute(select(events.c.id).where(*conds).order_by(events.c.id).limit(limit))
    ]
    return ids, (ids[-1] if len(ids) == limit else max(newest, endpoint.cursor))


def insert_delivery(
    conn: Connection, endpoint_id: int, event_ids: list[int], *, now: datetime
) -> Delivery:
    row = conn.execute(
        insert(D)
        .values(
            endpoint_id=endpoint_id,
            status=PENDING,
            event_ids=orjson.dumps(event_ids).decode(),
            first_event_id=event_ids[0],
            last_event_id=event_ids[-1],
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        .returning(*D.c)
    ).one()
    return delivery_of(row)


def record_attempt(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(
        update(D)
        .where(D.c.id == delivery_id, D.c.status == PENDING)
        .values(attempts=D.c.attempts + 1, **values)
    )


def fail_pending(conn: Connection, endpoint_id: int, *, now: datetime, reason: str) -> int:
    """Mark every PENDING delivery of an endpoint FAILED (the endpoint was disabled)."""
    result = conn.execute(
        update(D)
        .where(D.c.endpoint_id == endpoint_id, D.c.status == PENDING)
        .values(status=FAILED, last_error=reason, last_attempt_at=now)
    )
    return int(result.rowcount)


def lag(conn: Connection) -> int:
    """Events committed but not yet handed to a delivery, over every enabled endpoint."""
    newest = (
        select(func.coalesce(func.max(events.c.id), 0))
        .where(events.c.org_id == E.c.org_id)
        .scalar_subquery()
    )
    stmt = select(func.coalesce(func.sum(newest - E.c.cursor), 0)).where(
        E.c.enabled.is_(True), E.c.deleted.is_(False)
    )
    return int(conn.execute(stmt).scalar_one())


def endpoint_of(row: Any) -> Endpoint:
    return Endpoint(
        id=int(row.id),
        org_id=int(row.org_id),
        url=row.url,
        event_types=tuple(orjson.loads(row.event_types)),
        description=row.description,
        enabled=bool(row.enabled),
        cursor=int(row.cursor),
        failing_since=row.failing_since,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def delivery_of(row: Any) -> Delivery:
    return Delivery(
        id=int(row.id),
        endpoint_id=int(row.endpoint_id),
        status=row.status,
        event_ids=tuple(orjson.loads(row.event_ids)),
        attempts=int(row.attempts),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        delivered_at=row.delivered_at,
        last_status=row.last_status,
        last_error=row.last_error,
    )
