"""Authentication, one facade over its three concerns.

- ``passwords``: a name and its secret (Basic till passwords, OAuth client key/secret),
  argon2id and the verified-secret cache;
- ``tokens``: OAuth access tokens and their signing keys;
- ``throttle``: counting failures per (credential name, client address) and per name (429);
- ``hashing``: the executor password hashes run on; ``auth_failures``: the bounded audit.

Failures that name a credential (a Basic user name, a client key, or a token this server
signed) are counted and audited as AUTH_FAILED; anonymous garbage (no credential, an unreadable
header, a token we never signed) is refused without a database write, so it cannot be used to
flood the audit trail. Secrets never reach a log line or an audit row.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import partial
from typing import Any

from anyio import to_thread

from promoledger.domain.context import Principal
from promoledger.domain.errors import AuthenticationFailed
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services.auth_failures import AuditBudget, record_denied
from promoledger.services.hashing import HashPool
from promoledger.services.passwords import PasswordChecker, hash_secret, md5_hex
from promoledger.services.principals import (
    MAX_NAME_LENGTH,
    MAX_SECRET_LENGTH,
    principal_of,
    valid_name,
)
from promoledger.services.throttle import Throttle
from promoledger.services.tokens import (
    DEFAULT_TOKEN_TTL,
    MAX_TOKEN_TTL,
    IssuedToken,
    TokenService,
)
from promoledger.settings import Settings
from promoledger.store.uow import UnitOfWork

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "MAX_NAME_LENGTH",
    "MAX_TOKEN_TTL",
    "Authenticator",
    "IssuedToken",
    "hash_secret",
    "md5_hex",
    "valid_name",
]

_MD5_HEX = re.compile(r"[0-9A-Fa-f]{32}")


class Authenticator:
    """Per-process authentication state: the verified-secret memory, the hash executor, the
    signing keys and the audit budget. Its entry points are coroutines: a password hash is
    awaited, never waited for on the thread pool that serves other requests."""

    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self._uow = uow
        self.throttle = Throttle(uow, settings)
        self.hashes = HashPool()
        self.audit_budget = AuditBudget(settings.auth_failure_window_seconds)
        self.passwords = PasswordChecker(
            uow, settings, self.throttle, self.hashes, self.audit_budget
        )
        self.tokens = TokenService(uow, settings, self.audit_budget)

    async def authenticate_basic(
        self, header_value: str, *, client: str | None = None, request_id: str | None = None
    ) -> Principal:
        """``Authorization: Basic base64(tillCode:md5hex(password))`` → the till's principal.

        ``client`` is the caller's address: failures are counted per (name, address).
        """
        name, secret = _split_basic(header_value)
        if _MD5_HEX.fullmatch(secret):
            secret = secret.lower()  # some clients send the digest in upper case
        row = await self.passwords.login(
            CredentialKind.TILL, name, secret, client=client, request_id=request_id
        )
        return principal_of(row)

    async def issue_token(
        self, key: str, secret: str, *, client: str | None = None, request_id: str | None = None
    ) -> IssuedToken:
        """OAuth client credentials → a signed access token."""
        if not valid_name(key) or not secret or len(secret) > MAX_SECRET_LENGTH:
            raise AuthenticationFailed()
        row = await self.passwords.login(
            CredentialKind.CLIENT, key, secret, client=client, request_id=request_id
        )
        return await to_thread.run_sync(self.tokens.issue, row)

    async def authenticate_secret(
        self,
        kind: CredentialKind,
        name: str,
        secret: str,
        *,
        client: str | None = None,
        request_id: str | None = None,
    ) -> Principal:
        """A credential name and the secret its API would receive (a till: the MD5 hex of the
        password, as in a Basic header) → its principal; the console's sign-in. Same checks,
        throttling and audit as the Basic and token paths."""
        if not valid_name(name) or not secret or len(secret) > MAX_SECRET_LENGTH:
            raise AuthenticationFailed()
        row = await self.passwords.login(kind, name, secret, client=client, request_id=request_id)
        return principal_of(row)

    async def authenticate_token(self, token: str, *, request_id: str | None = None) -> Principal:
        return await to_thread.run_sync(
            partial(self.tokens.authenticate, token, request_id=request_id)
        )

    def record_denied(
        self, principal: Principal, *, request_id: str, detail: dict[str, Any]
    ) -> None:
        """Audit a caller refused for lack of access (at most one row per credential and window)."""
        record_denied(self._uow, self.audit_budget, principal, request_id=request_id, detail=detail)

    def load_or_create_signing_key(self) -> None:
        self.tokens.load_or_create_signing_key()

    def close(self) -> None:
        self.hashes.close()


def _split_basic(header_value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationFailed() from exc
    name, sep, secret = decoded.partition(":")
    if not sep or not valid_name(name) or not secret or len(secret) > MAX_SECRET_LENGTH:
        raise AuthenticationFailed()
    return name, secret
