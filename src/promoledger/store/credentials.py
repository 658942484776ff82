"""Credentials, signing keys and the failure counter behind throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from promoledger.store.tables import auth_failures, credentials, signing_keys
from promoledger.store.types import utcnow

# Rows of explicit column lists (any width).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

# What authentication needs of a credential row; never more on the hot path.
_AUTH_COLUMNS = (
    credentials.c.id,
    credentials.c.org_id,
    credentials.c.kind,
    credentials.c.name,
    credentials.c.secret_hash,
    credentials.c.customer_access,
    credentials.c.config_access,
    credentials.c.token_ttl_seconds,
    credentials.c.disabled,
)
# What an operator may see of a credential: everything but the hash.
PUBLIC_COLUMNS = (
    credentials.c.id,
    credentials.c.org_id,
    credentials.c.kind,
    credentials.c.name,
    credentials.c.customer_access,
    credentials.c.config_access,
    credentials.c.token_ttl_seconds,
    credentials.c.disabled,
    credentials.c.created_at,
    credentials.c.updated_at,
)
# auth_failures.name is String(200): longer (attacker-chosen) names are counted by their prefix.
FAILURE_NAME_LENGTH = 200


def for_login(conn: Connection, kind: str, name: str, since: datetime) -> AnyRow | None:
    """The credential and its failures counted from ``since``, in one indexed statement."""
    failures = (
        select(func.coalesce(func.sum(auth_failures.c.failures), 0))
        .where(auth_failures.c.name == credentials.c.name, auth_failures.c.window_start >= since)
        .scalar_subquery()
        .label("failures")
    )
    stmt = select(*_AUTH_COLUMNS, failures).where(
        credentials.c.kind == kind, credentials.c.name == name
    )
    return conn.execute(stmt).first()


def by_name(conn: Connection, kind: str, name: str) -> AnyRow | None:
    stmt = select(*PUBLIC_COLUMNS).where(credentials.c.kind == kind, credentials.c.name == name)
    return conn.execute(stmt).first()


def by_id(conn: Connection, credential_id: int) -> AnyRow | None:
    return conn.execute(select(*_AUTH_COLUMNS).where(credentials.c.id == credential_id)).first()


def list_public(conn: Connection, kind: str, org_id: int | None) -> list[AnyRow]:
    stmt = select(*PUBLIC_COLUMNS).where(credentials.c.kind == kind).order_by(credentials.c.id)
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


def set_disabled(conn: Connection, credential_id: int, disabled: bool) -> bool:
    """Flip ``disabled``; False when it already had that value (nothing changed)."""
    result = conn.execute(
        update(credentials)
        .where(credentials.c.id == credential_id, credentials.c.disabled != disabled)
        .values(disabled=disabled, updated_at=utcnow())
        .returning(credentials.c.id)
    )
    return result.first() is not None


def signing_key_rows(conn: Connection) -> list[Row[Any]]:
    stmt = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
    return list(conn.execute(stmt).all())


def insert_signing_key(conn: Connection, kid: str, secret: bytes) -> None:
    conn.execute(insert(signing_keys).values(kid=kid, secret=secret, created_at=utcnow()))


def failures_since(conn: Connection, name: str, since: datetime) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(auth_failures.c.failures), 0)).where(
            auth_failures.c.name == name[:FAILURE_NAME_LENGTH],
            auth_failures.c.window_start >= since,
        )
    ).scalar_one()
    return int(total)


def add_failure(conn: Connection, name: str, window_start: datetime) -> None:
    """Count one failure in the window; concurrent failures from other processes add up."""
    name = name[:FAILURE_NAME_LENGTH]
    bump = (
        update(auth_failures)
        .where(auth_failures.c.name == name, auth_failures.c.window_start == window_start)
        .values(failures=auth_failures.c.failures + 1)
    )
    if conn.execute(bump).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(auth_failures).values(name=name, window_start=window_start, failures=1)
            )
    except IntegrityError:
        conn.execute(bump)  # another process inserted the row first


def prune_failures(conn: Connection, before: datetime) -> None:
    """Forget windows that no longer count (unknown names would otherwise pile up)."""
    conn.execute(delete(auth_failures).where(auth_failures.c.window_start < before))
