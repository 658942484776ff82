"""Authentication, one facade over its three concerns.

- ``passwords``: a name and its secret (Basic till passwords, OAuth client key/secret),
  argon2id and the verified-secret cache;
- ``tokens``: OAuth access tokens and their signing keys;
- ``throttle``: counting failures per credential name (HTTP 429).

Failures that name a credential (a Basic user name, a client key, or a token this server
signed) are counted and audited as AUTH_FAILED; anonymous garbage (no credential, an unreadable
header, a token we never signed) is refused without a database write, so it cannot be used to
flood the audit trail. Secrets never reach a log line or an audit row.
"""

from __future__ import annotations

import base64
import binascii
import re

from promoledger.domain.context import Principal
from promoledger.domain.errors import AuthenticationFailed
from promoledger.domain.vocabulary import CredentialKind
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
    """Per-process authentication state: the verified-secret cache and the signing keys."""

    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self.throttle = Throttle(uow, settings)
        self.passwords = PasswordChecker(uow, settings, self.throttle)
        self.tokens = TokenService(uow, settings)

    def authenticate_basic(self, header_value: str, *, request_id: str | None = None) -> Principal:
        """``Authorization: Basic base64(tillCode:md5hex(password))`` → the till's principal."""
        name, secret = _split_basic(header_value)
        if _MD5_HEX.fullmatch(secret):
            secret = secret.lower()  # some clients send the digest in upper case
        return principal_of(self.passwords.login(CredentialKind.TILL, name, secret, request_id))

    def issue_token(self, key: str, secret: str, *, request_id: str | None = None) -> IssuedToken:
        """OAuth client credentials → a signed access token."""
        if not valid_name(key) or not secret or len(secret) > MAX_SECRET_LENGTH:
            raise AuthenticationFailed()
        return self.tokens.issue(
            self.passwords.login(CredentialKind.CLIENT, key, secret, request_id)
        )

    def authenticate_token(self, token: str, *, request_id: str | None = None) -> Principal:
        return self.tokens.authenticate(token, request_id=request_id)

    def load_or_create_signing_key(self) -> None:
        self.tokens.load_or_create_signing_key()


def _split_basic(header_value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationFailed() from exc
    name, sep, secret = decoded.partition(":")
    if not sep or not valid_name(name) or not secret or len(secret) > MAX_SECRET_LENGTH:
        raise AuthenticationFailed()
    return name, secret
