"""Credentials, signing keys and the failure counter behind throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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


def _failures_of(key: Any, label: str) -> Any:
    return (
        select(func.coalesce(func.sum(auth_failures.c.failures), 0))
        .where(auth_failures.c.name == key, auth_failures.c.window_start >= bindparam("since"))
        .scalar_subquery()
        .label(label)
    )


# Built once: every authenticated request runs it, and building the statement (and its cache
# key) each time cost more than executing it.
_FOR_LOGIN = select(
    *_AUTH_COLUMNS,
    _failures_of(credentials.c.name, "failures"),
    _failures_of(bindparam("pair"), "pair_failures"),
).where(credentials.c.kind == bindparam("kind"), credentials.c.name == bindparam("name"))


def for_login(conn: Connection, kind: str, name: str, pair: str, since: datetime) -> AnyRow | None:
    """The credential with its failures counted from ``since`` — against its name from every
    address (``failures``) and from this caller's address (``pair_failures``) — in one
    indexed statement."""
    params = {"kind": kind, "name": name, "pair": pair, "since": since}
    return conn.execute(_FOR_LOGIN, params).first()


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


def delete_signing_keys(conn: Connection, kids: list[str]) -> None:
    if kids:
        conn.execute(delete(signing_keys).where(signing_keys.c.kid.in_(kids)))


def failures_since(conn: Connection, name: str, since: datetime) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(auth_failures.c.failures), 0)).where(
            auth_failures.c.name == name[:FAILURE_NAME_LENGTH],
            auth_failures.c.window_start >= since,
        )
    ).scalar_one()
    return int(total)


def add_failures(conn: Connection, keys: list[str], window_start: datetime) -> dict[str, int]:
    """Count one failure against each key in the window, in one statement; each key's count in
    the window after it. Concurrent failures from other processes add up (the upsert's row
    lock queues them on PostgreSQL; SQLite has one writer at a time)."""
    upsert = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(auth_failures)
    stmt = (
        upsert.values(
            [
                {"name": k[:FAILURE_NAME_LENGTH], "window_start": window_start, "failures": 1}
                for k in keys
            ]
        )
        .on_conflict_do_update(
            index_elements=[auth_failures.c.name, auth_failures.c.window_start],
            set_={"failures": auth_failures.c.failures + 1},
        )
        .returning(auth_failures.c.name, auth_failures.c.failures)
    )
    return {row.name: int(row.failures) for row in conn.execute(stmt)}


def failures_of(conn: Connection, keys: list[str], since: datetime) -> dict[str, int]:
    """Each key's failures counted from ``since`` (keys without any are left out)."""
    stmt = (
        select(auth_failures.c.name, func.sum(auth_failures.c.failures).label("failures"))
        .where(
            auth_failures.c.name.in_([k[:FAILURE_NAME_LENGTH] for k in keys]),
            auth_failures.c.window_start >= since,
        )
        .group_by(auth_failures.c.name)
    )
    return {row.name: int(row.failures) for row in conn.execute(stmt)}


def forgive_failures(conn: Connection, keys: list[str], window_start: datetime) -> None:
    """Take back one failure per key counted in the window (the attempt turned out right); a
    counter back at zero is deleted, so a right secret leaves nothing behind."""
    match = (
        auth_failures.c.name.in_([k[:FAILURE_NAME_LENGTH] for k in keys]),
        auth_failures.c.window_start == window_start,
    )
    conn.execute(delete(auth_failures).where(*match, auth_failures.c.failures <= 1))
    conn.execute(update(auth_failures).where(*match).values(failures=auth_failures.c.failures - 1))


def clear_failures(conn: Connection, names: list[str], prefixes: list[str]) -> int:
    """Forget every counted failure under these keys (or key prefixes); how many were forgotten."""
    keys = [n[:FAILURE_NAME_LENGTH] for n in names]
    match = or_(
        auth_failures.c.name.in_(keys),
        *(auth_failures.c.name.startswith(p, autoescape=True) for p in prefixes),
    )
    total = conn.execute(
        select(func.coalesce(func.sum(auth_failures.c.failures), 0)).where(match)
    ).scalar_one()
    conn.execute(delete(auth_failures).where(match))
    return int(total)


def prune_failures(conn: Connection, before: datetime) -> None:
    """Forget windows that no longer count (unknown names would otherwise pile up)."""
    conn.execute(delete(auth_failures).where(auth_failures.c.window_start < before))
