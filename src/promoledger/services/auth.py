"""Authentication: Basic till credentials, OAuth client tokens, throttling, the verified cache.

The slow salted hash (argon2id) is only computed on a cache miss. Every request still reads
the credential row (one indexed lookup), so disabling or rotating a credential takes effect
on the very next request, in every process that shares the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import Row

from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import TOKEN_INVALID, AuthenticationFailed, Throttled
from promoledger.domain.vocabulary import Access, CredentialKind
from promoledger.settings import Settings
from promoledger.store import audit
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork

MAX_TOKEN_TTL = 30 * 24 * 3600
DEFAULT_TOKEN_TTL = 3600
_ALGORITHM = "HS256"
# A hash to verify against when the name is unknown, so unknown and known names cost the same.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("promoledger-dummy")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def md5_hex(password: str) -> str:
    """What a Capillary client sends as the Basic password: the lowercase hex MD5."""
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    ttl_seconds: int


class Authenticator:
    """Per-process authentication state: the verified-secret cache and the signing keys."""

    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self._uow = uow
        self._settings = settings
        self._verified: TTLCache[tuple[str, str, bytes], str] = TTLCache(
            maxsize=10_000, ttl=max(settings.credential_cache_seconds, 0.001)
        )
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}
        self._current_kid: str | None = None

    # --- Basic ---------------------------------------------------------------------------
    def authenticate_basic(self, header_value: str) -> Principal:
        name, secret = _split_basic(header_value)
        with self._uow.read() as conn:
            row = store.by_name(conn, CredentialKind.TILL.value, name)
        return self._check_secret(CredentialKind.TILL, name, secret, row)

    # --- OAuth ---------------------------------------------------------------------------
    def issue_token(self, key: str, secret: str) -> IssuedToken:
        with self._uow.read() as conn:
            row = store.by_name(conn, CredentialKind.CLIENT.value, key)
        principal = self._check_secret(CredentialKind.CLIENT, key, secret, row)
        assert row is not None
        ttl = min(int(row.token_ttl_seconds), MAX_TOKEN_TTL)
        now = datetime.now(UTC)
        kid, signing_secret = self._signing_key()
        claims = {
            "iss": self._settings.token_issuer,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl)).timestamp()),
            "jti": secrets.token_hex(16),
            "sub": str(principal.credential_id),
            "client_id": principal.name,
            "org_id": principal.org_id,
        }
        token = jwt.encode(claims, signing_secret, algorithm=_ALGORITHM, headers={"kid": kid})
        return IssuedToken(access_token=token, ttl_seconds=ttl)

    def authenticate_token(self, token: str) -> Principal:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._key_for(str(kid)) if kid else None
            if key is None:
                raise AuthenticationFailed(TOKEN_INVALID)
            claims = jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],  # pinned: "none" and algorithm swaps are refused
                issuer=self._settings.token_issuer,
                options={"require": ["exp", "iat", "iss", "sub", "jti"]},
            )
            credential_id = int(claims["sub"])
            org_id = int(claims["org_id"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise AuthenticationFailed(TOKEN_INVALID) from exc
        with self._uow.read() as conn:
            row = store.by_id(conn, credential_id)
        if row is None or row.disabled or row.kind != CredentialKind.CLIENT or row.org_id != org_id:
            raise AuthenticationFailed(TOKEN_INVALID)
        return _principal(row)

    # --- internals -----------------------------------------------------------------------
    def _check_secret(
        self, kind: CredentialKind, name: str, secret: str, row: Row[Any] | None
    ) -> Principal:
        digest = hashlib.sha256(secret.encode()).digest()
        cache_key = (kind.value, name, digest)
        if row is not None and not row.disabled:
            cached_hash = self._verified.get(cache_key)
            # A rotated secret changes secret_hash, which invalidates the cached verification.
            if cached_hash is not None and hmac.compare_digest(cached_hash, row.secret_hash):
                return _principal(row)
        self._refuse_if_throttled(name)
        ok = _verify(row.secret_hash if row is not None else _DUMMY_HASH, secret)
        if row is None or row.disabled or not ok:
            self._note_failure(name, row)
            raise AuthenticationFailed()
        with self._lock:
            self._verified[cache_key] = row.secret_hash
        return _principal(row)

    def _window(self) -> datetime:
        span = self._settings.auth_failure_window_seconds
        now = int(datetime.now(UTC).timestamp())
        return datetime.fromtimestamp(now - now % span, UTC)

    def _refuse_if_throttled(self, name: str) -> None:
        window = self._window()
        with self._uow.read() as conn:
            failures = store.failures_since(conn, name, window)
        if failures >= self._settings.auth_failure_limit:
            span = self._settings.auth_failure_window_seconds
            retry = int((window + timedelta(seconds=span) - datetime.now(UTC)).total_seconds()) + 1
            raise Throttled(retry_after=max(retry, 1))

    def _note_failure(self, name: str, row: Row[Any] | None) -> None:
        ctx = Context(org_id=row.org_id if row is not None else None, actor_kind="ANONYMOUS")
        with self._uow.write() as conn:
            store.add_failure(conn, name, self._window())
            audit.record(
                conn,
                ctx,
                [
                    audit.Change(
                        action="AUTH_FAILED",
                        entity_type="CREDENTIAL",
                        entity_id=row.id if row is not None else None,
                        detail={"name": name[:200]},
                    )
                ],
            )

    def _signing_key(self) -> tuple[str, bytes]:
        if self._current_kid is None:
            self.load_or_create_signing_key()
        assert self._current_kid is not None
        return self._current_kid, self._keys[self._current_kid]

    def _key_for(self, kid: str) -> bytes | None:
        if kid not in self._keys:
            self.load_or_create_signing_key()  # another process may have created it
        return self._keys.get(kid)

    def load_or_create_signing_key(self) -> None:
        """Created on first start and persisted, so tokens outlive restarts and span processes."""
        with self._uow.read() as conn:
            rows = store.signing_key_rows(conn)
        if not rows:
            with self._uow.write() as conn:
                if not store.signing_key_rows(conn):
                    store.insert_signing_key(conn, secrets.token_hex(8), secrets.token_bytes(64))
                rows = store.signing_key_rows(conn)
        with self._lock:
            self._keys = {r.kid: bytes(r.secret) for r in rows}
            self._current_kid = rows[-1].kid


def _principal(row: Row[Any]) -> Principal:
    return Principal(
        org_id=int(row.org_id),
        credential_id=int(row.id),
        kind=CredentialKind(row.kind),
        name=row.name,
        customer_access=Access[row.customer_access],
        config_access=Access[row.config_access],
    )


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def _split_basic(header_value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationFailed() from exc
    name, sep, secret = decoded.partition(":")
    if not sep or not name or not secret:
        raise AuthenticationFailed()
    return name, secret
