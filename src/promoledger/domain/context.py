"""Who is acting and on whose behalf: passed from the edge (HTTP or CLI) into every service."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

from promoledger.domain.vocabulary import Access, CredentialKind, Resource


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated credential and what its access group allows."""

    org_id: int
    credential_id: int
    kind: CredentialKind
    name: str
    customer_access: Access
    config_access: Access

    def allows(self, resource: Resource, level: Access) -> bool:
        have = self.customer_access if resource is Resource.CUSTOMER else self.config_access
        return have >= level


@dataclass(frozen=True, slots=True)
class Context:
    """An org-scoped use case's caller: what every state change is stamped with in the audit
    trail. The org is always known here; the few audit rows written before an org is known
    (a failed login naming no credential) use ``Anonymous`` instead."""

    org_id: int
    actor_kind: str  # TILL, CLIENT, OPERATOR (CLI), SYSTEM
    actor_id: int | None = None
    request_id: str = field(default_factory=lambda: uuid4().hex)
    idempotency_key: str | None = None
    dry_run: bool = False

    @property
    def actor(self) -> str:
        """How ``ended_by`` names this caller on the records it ends."""
        return self.actor_kind if self.actor_id is None else f"{self.actor_kind}:{self.actor_id}"

    @classmethod
    def for_principal(
        cls,
        principal: Principal,
        *,
        request_id: str,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> Context:
        return cls(
            org_id=principal.org_id,
            actor_kind=principal.kind.value,
            actor_id=principal.credential_id,
            request_id=request_id,
            idempotency_key=idempotency_key,
            dry_run=dry_run,
        )

    @classmethod
    def operator(cls, org_id: int) -> Context:
        """The CLI acts as the operator: trusted, but still audited."""
        return cls(org_id=org_id, actor_kind="OPERATOR", request_id=f"cli-{uuid4().hex}")


@dataclass(frozen=True, slots=True)
class Anonymous:
    """Who an audit row names when nobody was authenticated (a failed login, say)."""

    org_id: int | None = None
    actor_kind: str = "ANONYMOUS"
    actor_id: int | None = None
    request_id: str = field(default_factory=lambda: uuid4().hex)
    idempotency_key: str | None = None
