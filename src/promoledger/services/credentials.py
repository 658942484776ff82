"""Operator use cases for orgs and credentials (tills and OAuth clients)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from promoledger.domain.context import Context
from promoledger.domain.errors import DUPLICATE, VALIDATION, Conflict, Invalid, NotFound
from promoledger.domain.vocabulary import Access, CredentialKind
from promoledger.services.passwords import hash_secret, md5_hex
from promoledger.services.principals import valid_name
from promoledger.services.throttle import Throttle
from promoledger.services.tokens import DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL
from promoledger.store import audit
from promoledger.store import credentials as store
from promoledger.store.tables import orgs
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class AccessGroup:
    customer: Access = Access.NONE
    config: Access = Access.NONE

    @classmethod
    def parse(cls, text: str) -> AccessGroup:
        """``customer:write,config:read`` → AccessGroup. Unknown resources or levels are refused."""
        levels = {"customer": Access.NONE, "config": Access.NONE}
        for part in filter(None, (p.strip() for p in text.split(","))):
            resource, _, level = part.partition(":")
            if resource.lower() not in levels or level.upper() not in Access.__members__:
                raise Invalid(VALIDATION, detail=f"bad access entry {part!r}", field="access")
            levels[resource.lower()] = Access[level.upper()]
        return cls(customer=levels["customer"], config=levels["config"])


def create_org(uow: UnitOfWork, *, name: str) -> int:
    with uow.write() as conn:
        org_id = int(
            conn.execute(insert(orgs).values(name=name, created_at=utcnow()).returning(orgs.c.id))
            .one()
            .id
        )
        audit.record(
            conn,
            Context.operator(org_id),
            [audit.Change("ORG_CREATED", "ORG", org_id, detail={"name": name})],
        )
    return org_id


def create_till(
    uow: UnitOfWork, *, org_id: int, code: str, password: str, access: AccessGroup
) -> int:
    """Store a slow hash of md5hex(password): the value a Capillary client sends."""
    _check_till_code(code)
    _check_password(password)
    return _create(
        uow,
        org_id=org_id,
        kind=CredentialKind.TILL,
        name=code,
        secret=md5_hex(password),
        access=access,
        ttl=DEFAULT_TOKEN_TTL,
    )


def create_client(
    uow: UnitOfWork, *, org_id: int, name: str, access: AccessGroup, ttl: int = DEFAULT_TOKEN_TTL
) -> tuple[int, str, str]:
    """Returns (id, key, secret). The secret is shown once and only its hash is kept."""
    if not 1 <= ttl <= MAX_TOKEN_TTL:
        raise Invalid(VALIDATION, detail=f"ttl must be 1..{MAX_TOKEN_TTL} seconds", field="ttl")
    key = f"{_slug(name)}-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    cred_id = _create(
        uow,
        org_id=org_id,
        kind=CredentialKind.CLIENT,
        name=key,
        secret=secret,
        access=access,
        ttl=ttl,
    )
    return cred_id, key, secret


def list_credentials(
    uow: UnitOfWork, *, kind: CredentialKind, org_id: int | None = None
) -> list[dict[str, Any]]:
    """Every till or client (of one org, or all), as an operator may see it: no secret, no hash."""
    with uow.read() as conn:
        return [_public(row) for row in store.list_public(conn, kind.value, org_id)]


def set_disabled(
    uow: UnitOfWork, *, kind: CredentialKind, name: str, disabled: bool
) -> dict[str, Any]:
    """Disable or re-enable a credential; refused from its very next request on, everywhere.

    Audited only when the state actually changes (disabling a disabled till is a no-op).
    """
    with uow.write() as conn:
        row = _existing(conn, kind, name)
        if store.set_disabled(conn, row.id, disabled):
            audit.record(
                conn,
                Context.operator(row.org_id),
                [
                    audit.Change(
                        "CREDENTIAL_DISABLED" if disabled else "CREDENTIAL_ENABLED",
                        "CREDENTIAL",
                        row.id,
                        old_status=_status(row.disabled),
                        new_status=_status(disabled),
                        detail={"kind": kind.value, "name": name},
                    )
                ],
            )
        after = store.by_name(conn, kind.value, name)
        assert after is not None
        return _public(after)


def unlock(uow: UnitOfWork, *, kind: CredentialKind, name: str) -> dict[str, Any]:
    """Forget the failures counted against a credential (from every address), so a lockout
    ends now rather than when its window runs out. Audited, with how many were forgotten."""
    with uow.write() as conn:
        row = _existing(conn, kind, name)
        cleared = Throttle.clear(conn, name)
        audit.record(
            conn,
            Context.operator(row.org_id),
            [
                audit.Change(
                    "CREDENTIAL_UNLOCKED",
                    "CREDENTIAL",
                    row.id,
                    detail={"kind": kind.value, "name": name, "failuresCleared": cleared},
                )
            ],
        )
    return {"id": int(row.id), "name": name, "failuresCleared": cleared}


def rotate_till(uow: UnitOfWork, *, code: str, password: str) -> int:
    """Give a till a new password; the old one is refused from the next request on."""
    _check_password(password)
    return _rotate(uow, kind=CredentialKind.TILL, name=code, secret=md5_hex(password))


def rotate_client(uow: UnitOfWork, *, key: str) -> tuple[int, str, str]:
    """A new secret for a client (returned once); its tokens issued so far stop working."""
    secret = secrets.token_urlsafe(32)
    cred_id = _rotate(uow, kind=CredentialKind.CLIENT, name=key, secret=secret)
    return cred_id, key, secret


def _rotate(uow: UnitOfWork, *, kind: CredentialKind, name: str, secret: str) -> int:
    secret_hash = hash_secret(secret)  # slow on purpose; outside the write transaction
    with uow.write() as conn:
        row = _existing(conn, kind, name)
        store.update_credential(conn, row.id, secret_hash=secret_hash)
        audit.record(
            conn,
            Context.operator(row.org_id),
            [
                audit.Change(
                    "CREDENTIAL_ROTATED",
                    "CREDENTIAL",
                    row.id,
                    detail={"kind": kind.value, "name": name},
                )
            ],
        )
    return int(row.id)


def _existing(conn: Connection, kind: CredentialKind, name: str) -> store.AnyRow:
    row = store.by_name(conn, kind.value, name)
    if row is None:
        raise NotFound(kind.value.lower())
    return row


def _public(row: store.AnyRow) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "orgId": int(row.org_id),
        "kind": row.kind,
        "name": row.name,
        "access": {"customer": row.customer_access, "config": row.config_access},
        "tokenTtlSeconds": int(row.token_ttl_seconds) if row.kind == "CLIENT" else None,
        "disabled": bool(row.disabled),
        "createdAt": row.created_at.isoformat(),
        "updatedAt": row.updated_at.isoformat(),
    }


def _status(disabled: bool) -> str:
    return "DISABLED" if disabled else "ACTIVE"


def _check_till_code(code: str) -> None:
    # The code is the Basic user name: a colon would split it, control characters cannot be sent.
    if not valid_name(code) or ":" in code or code != code.strip():
        raise Invalid(
            VALIDATION,
            detail="till code must be 1-200 printable characters without ':' or surrounding spaces",
            field="code",
        )


def _check_password(password: str) -> None:
    if not password:
        raise Invalid(VALIDATION, detail="password must not be empty", field="password")


def _create(
    uow: UnitOfWork,
    *,
    org_id: int,
    kind: CredentialKind,
    name: str,
    secret: str,
    access: AccessGroup,
    ttl: int,
) -> int:
    secret_hash = hash_secret(secret)  # slow on purpose; outside the write transaction
    try:
        with uow.write() as conn:
            cred_id = store.insert_credential(
                conn,
                org_id=org_id,
                kind=kind.value,
                name=name,
                secret_hash=secret_hash,
                customer_access=access.customer.name,
                config_access=access.config.name,
                token_ttl_seconds=ttl,
                disabled=False,
            )
            audit.record(
                conn,
                Context.operator(org_id),
                [
                    audit.Change(
                        "CREDENTIAL_CREATED",
                        "CREDENTIAL",
                        cred_id,
                        detail={"kind": kind.value, "name": name},
                    )
                ],
            )
    except IntegrityError as exc:
        if "foreign" in str(exc.orig).lower():
            raise NotFound("org") from exc
        raise Conflict(
            DUPLICATE, detail=f"{kind.value.lower()} {name!r} already exists", field="name"
        ) from exc
    return cred_id


def _slug(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return cleaned[:40] or "client"
