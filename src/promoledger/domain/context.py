"""Who is acting and on whose behalf: passed from the edge (HTTP or CLI) into every service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
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
    """Everything a state change is stamped with in the audit trail."""

    org_id: int | None
    actor_kind: str  # TILL, CLIENT, OPERATOR (CLI), SYSTEM, ANONYMOUS
    actor_id: int | None = None
    request_id: str = field(default_factory=lambda: uuid4().hex)
    idempotency_key: str | None = None
    dry_run: bool = False
    # Called by a mutating service with (connection, result) as the last step inside its write
    # transaction, so what the edge records about the request (the idempotent replay) commits
    # or rolls back together with the change itself.
    on_seal: Callable[[Any, Any], None] | None = None

    def seal(self, conn: Any, result: Any) -> None:
        if self.on_seal is not None and not self.dry_run:
            self.on_seal(conn, result)

    @property
    def actor(self) -> str:
        return self.actor_kind if self.actor_id is None else f"{self.actor_kind}:{self.actor_id}"

    @classmethod
    def for_principal(
        cls,
        principal: Principal,
        *,
        request_id: str,
        idempotency_key: str | None = None,
        dry_run: bool = False,
        on_seal: Callable[[Any, Any], None] | None = None,
    ) -> Context:
        return cls(
            org_id=principal.org_id,
            actor_kind=principal.kind.value,
            actor_id=principal.credential_id,
            request_id=request_id,
            idempotency_key=idempotency_key,
            dry_run=dry_run,
            on_seal=on_seal,
        )

    @classmethod
    def operator(cls, org_id: int | None) -> Context:
        """The CLI acts as the operator: trusted, but still audited."""
        return cls(org_id=org_id, actor_kind="OPERATOR", request_id=f"cli-{uuid4().hex}")
