"""Operator use cases for orgs and credentials (tills and OAuth clients)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from promoledger.domain.context import Context
from promoledger.domain.errors import DUPLICATE, VALIDATION, Conflict, Invalid, NotFound
from promoledger.domain.vocabulary import Access, CredentialKind
from promoledger.services.auth import DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, hash_secret, md5_hex
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
