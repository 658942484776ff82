"""Credentials, signing keys and the failure counter behind throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from promoledger.store.tables import auth_failures, credentials, signing_keys
from promoledger.store.types import utcnow


def by_name(conn: Connection, kind: str, name: str) -> Row[Any] | None:
    stmt = select(credentials).where(credentials.c.kind == kind, credentials.c.name == name)
    return conn.execute(stmt).first()


def by_id(conn: Connection, credential_id: int) -> Row[Any] | None:
    return conn.execute(select(credentials).where(credentials.c.id == credential_id)).first()


def list_for_org(conn: Connection, org_id: int | None) -> list[Row[Any]]:
    stmt = select(credentials).order_by(credentials.c.id)
    if org_id is not None:
        stmt = stmt.where(credentials.c.org_id == org_id)
    return list(conn.execute(stmt).all())


def insert_credential(conn: Connection, **values: Any) -> int:
    now = utcnow()
    row = conn.execute(
        insert(credentials)
        .values(created_at=now, updated_at=now, **values)
        .returning(credentials.c.id)
    ).one()
    return int(row.id)


def update_credential(conn: Connection, credential_id: int, **values: Any) -> bool:
    result = conn.execute(
        update(credentials)
        .where(credentials.c.id == credential_id)
        .values(updated_at=utcnow(), **values)
        .returning(credentials.c.id)
    )
    return result.first() is not None


def signing_key_rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(signing_keys).order_by(signing_keys.c.created_at)).all())


def insert_signing_key(conn: Connection, kid: str, secret: bytes) -> None:
    conn.execute(insert(signing_keys).values(kid=kid, secret=secret, created_at=utcnow()))


def failures_since(conn: Connection, name: str, window_start: datetime) -> int:
    row = conn.execute(
        select(auth_failures.c.failures).where(
            auth_failures.c.name == name, auth_failures.c.window_start == window_start
        )
    ).first()
    return int(row.failures) if row else 0


def add_failure(conn: Connection, name: str, window_start: datetime) -> None:
    """Count one failure in the window; concurrent failures from other processes add up."""
    bumped = conn.execute(
        update(auth_failures)
        .where(auth_failures.c.name == name, auth_failures.c.window_start == window_start)
        .values(failures=auth_failures.c.failures + 1)
    )
    if bumped.rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(auth_failures).values(name=name, window_start=window_start, failures=1)
            )
    except IntegrityError:
        conn.execute(
            update(auth_failures)
            .where(auth_failures.c.name == name, auth_failures.c.window_start == window_start)
            .values(failures=auth_failures.c.failures + 1)
        )
