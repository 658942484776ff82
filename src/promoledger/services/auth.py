"""Authentication: Basic till credentials, OAuth client tokens, throttling, the verified cache.

The slow salted hash (argon2id) is only computed on a cache miss. Every request still reads
the credential row together with its failure count (one indexed statement), so disabling,
rotating or throttling a credential takes effect on the very next request, in every process
that shares the database.

Failures that name a credential (a Basic user name, a client key, or a token this server
signed) are counted and audited as AUTH_FAILED; anonymous garbage (no credential, an unreadable
header, a token we never signed) is refused without a database write, so it cannot be used to
flood the audit trail. Secrets never reach a log line or an audit row.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import math
import re
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import Row

from promoledger.domain.context import Anonymous, Principal
from promoledger.domain.errors import TOKEN_INVALID, AuthenticationFailed, Throttled
from promoledger.domain.vocabulary import Access, CredentialKind
from promoledger.settings import Settings
from promoledger.store import audit
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork

MAX_CONCURRENT_HASHES = 2  # argon2id verifications at once per process (memory bound)
MAX_TOKEN_TTL = 30 * 24 * 3600
DEFAULT_TOKEN_TTL = 3600
MAX_NAME_LENGTH = 200
_MAX_SECRET_LENGTH = 1024
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["iss", "iat", "exp", "jti", "sub", "client_id", "org_id", "ver"]
_MD5_HEX = re.compile(r"[0-9A-Fa-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def md5_hex(password: str) -> str:
    """What a Capillary client sends as the Basic password: the lowercase hex MD5."""
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()


def valid_name(name: str) -> bool:
    """A credential name that can be stored, sent in a Basic header and counted for throttling."""
    return 0 < len(name) <= MAX_NAME_LENGTH and not _CONTROL.search(name)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so unknown and known names cost the same."""
    return _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    ttl_seconds: int


class Authenticator:
    """Per-process authentication state: the verified-secret cache and the signing keys."""

    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self._uow = uow
        self._settings = settings
        # (kind, name, sha256(secret)) -> the secret_hash it was verified against. A rotation
        # changes secret_hash, so a stale entry can never match the row read on the request.
        self._verified: TTLCache[tuple[str, str, bytes], str] = TTLCache(
            maxsize=10_000, ttl=max(settings.credential_cache_seconds, 0.001)
        )
        self._lock = threading.Lock()
        self._hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
        # One lock per (name, secret) being verified; entries age out like the cache's.
        self._verifying: TTLCache[tuple[str, str, bytes], threading.Lock] = TTLCache(
            maxsize=10_000, ttl=60
        )
        self._keys: dict[str, bytes] = {}
        self._current_kid: str | None = None
        self._pruned_window: datetime | None = None

    # --- Basic ---------------------------------------------------------------------------
    def authenticate_basic(self, header_value: str, *, request_id: str | None = None) -> Principal:
        name, secret = _split_basic(header_value)
        if _MD5_HEX.fullmatch(secret):
            secret = secret.lower()  # some clients send the digest in upper case
        return _principal(self._login(CredentialKind.TILL, name, secret, request_id))

    # --- OAuth ---------------------------------------------------------------------------
    def issue_token(self, key: str, secret: str, *, request_id: str | None = None) -> IssuedToken:
        if not valid_name(key) or not secret or len(secret) > _MAX_SECRET_LENGTH:
            raise AuthenticationFailed()
        row = self._login(CredentialKind.CLIENT, key, secret, request_id)
        ttl = min(int(row.token_ttl_seconds), MAX_TOKEN_TTL)
        now = int(datetime.now(UTC).timestamp())
        kid, signing_secret = self._signing_key()
        claims = {
            "iss": self._settings.token_issuer,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(16),
            "sub": str(row.id),
            "client_id": row.name,
            "org_id": int(row.org_id),
            "ver": _secret_version(row.secret_hash),
        }
        token = jwt.encode(claims, signing_secret, algorithm=_ALGORITHM, headers={"kid": kid})
        return IssuedToken(access_token=token, ttl_seconds=ttl)

    def authenticate_token(self, token: str, *, request_id: str | None = None) -> Principal:
        claims = self._verified_claims(token, request_id)
        try:
            credential_id = int(claims["sub"])
            org_id = int(claims["org_id"])
            version = str(claims["ver"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthenticationFailed(TOKEN_INVALID) from exc
        with self._uow.read() as conn:
            row = store.by_id(conn, credential_id)
        reason = _token_refusal(row, org_id, version)
        if reason is not None:
            self._note_token_failure(reason, row, request_id)
            raise AuthenticationFailed(TOKEN_INVALID)
        assert row is not None
        return _principal(row)

    def _verified_claims(self, token: str, request_id: str | None) -> dict[str, Any]:
        """The claims of a token this server signed, or 401 (audited only when it is ours)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._key_for(kid) if isinstance(kid, str) else None
            if key is None:
                raise AuthenticationFailed(TOKEN_INVALID)  # not signed by any key of ours
            return jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],  # pinned: "none" and algorithm swaps are refused
                issuer=self._settings.token_issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            # The signature is good, so the subject can be trusted enough to attribute it.
            subject = jwt.decode(
                token, key, algorithms=[_ALGORITHM], options={"verify_exp": False}
            ).get("sub")
            row = None
            if isinstance(subject, str) and subject.isdigit():
                with self._uow.read() as conn:
                    row = store.by_id(conn, int(subject))
            self._note_token_failure("token_expired", row, request_id)
            raise AuthenticationFailed(TOKEN_INVALID) from exc
        except (jwt.PyJWTError, UnicodeError, ValueError) as exc:
            raise AuthenticationFailed(TOKEN_INVALID) from exc

    # --- internals -----------------------------------------------------------------------
    def _login(
        self, kind: CredentialKind, name: str, secret: str, request_id: str | None
    ) -> Row[Any]:
        """Check one name/secret pair; the row on success, else 401 (or 429 when throttled)."""
        window = self._window_start()
        counted_from = window - timedelta(seconds=self._settings.auth_failure_window_seconds)
        with self._uow.read() as conn:
            row = store.for_login(conn, kind.value, name, counted_from)
            failures = (
                int(row.failures)
                if row is not None
                else store.failures_since(conn, name, counted_from)
            )
        # Throttling wins over everything, a cached correct secret included: a name under
        # attack is closed until its failures age out, whoever knocks.
        if failures >= self._settings.auth_failure_limit:
            raise Throttled(retry_after=self._retry_after(name, window))
        cache_key = (kind.value, name, hashlib.sha256(secret.encode()).digest())
        if row is not None and self._cached(cache_key, row):
            return row
        # argon2id costs ~64 MiB and tens of ms per verification. Requests with the same
        # secret verify one at a time and re-check the cache once admitted, and at most a few
        # verifications run at once: when a busy credential's cache entry expires, eight
        # concurrent requests cost one hash, not eight (that herd once took a server from
        # 150 MB to 620 MB), and a storm of bad secrets keeps memory bounded.
        with self._lock:
            in_flight = self._verifying.setdefault(cache_key, threading.Lock())
        with in_flight, self._hashing:
            if row is not None and self._cached(cache_key, row):
                return row
            ok = _verify(row.secret_hash if row is not None else _dummy_hash(), secret)
        if row is None or row.disabled or not ok:
            reason = "unknown" if row is None else "disabled" if row.disabled else "wrong_secret"
            self._note_failure(
                reason=reason,
                row=row,
                kind=kind.value,
                name=name,
                request_id=request_id,
                window=window,
            )
            raise AuthenticationFailed()
        with self._lock:
            self._verified[cache_key] = row.secret_hash
        return row

    def _cached(self, cache_key: tuple[str, str, bytes], row: Row[Any]) -> bool:
        """A secret verified recently against the credential's current hash (so a rotation or
        a disable, read fresh from the row on every request, takes effect at once)."""
        if row.disabled:
            return False
        with self._lock:
            cached_hash = self._verified.get(cache_key)
        return cached_hash is not None and hmac.compare_digest(cached_hash, row.secret_hash)

    def _note_token_failure(
        self, reason: str, row: Row[Any] | None, request_id: str | None
    ) -> None:
        """Tokens cannot be guessed, so their failures are audited but not throttled."""
        name = row.name if row is not None else None
        self._note_failure(
            reason=reason,
            row=row,
            kind=CredentialKind.CLIENT.value,
            name=name,
            request_id=request_id,
        )

    # Failures are counted in fixed windows; the current and the previous window both count,
    # so a burst cannot straddle a window boundary to get twice the limit.
    def _window_start(self) -> datetime:
        span = self._settings.auth_failure_window_seconds
        now = int(datetime.now(UTC).timestamp())
        return datetime.fromtimestamp(now - now % span, UTC)

    def _retry_after(self, name: str, window: datetime) -> int:
        """Seconds until the failures still counting drop below the limit."""
        span = timedelta(seconds=self._settings.auth_failure_window_seconds)
        with self._uow.read() as conn:
            current = store.failures_since(conn, name, window)
        # The current window keeps counting (as the previous one) through the next window.
        end = window + span * (2 if current >= self._settings.auth_failure_limit else 1)
        return max(math.ceil((end - datetime.now(UTC)).total_seconds()), 1)

    def _note_failure(
        self,
        *,
        reason: str,
        row: Row[Any] | None,
        kind: str,
        name: str | None,
        request_id: str | None,
        window: datetime | None = None,
    ) -> None:
        """Audit the failure and, given a window, count it against the name (throttling)."""
        ctx = Anonymous(org_id=int(row.org_id) if row is not None else None)
        if request_id:
            ctx = replace(ctx, request_id=request_id)
        detail: dict[str, Any] = {"reason": reason, "kind": kind}
        if name is not None:
            detail["name"] = name[:MAX_NAME_LENGTH]
        change = audit.Change(
            action="AUTH_FAILED",
            entity_type="CREDENTIAL",
            entity_id=int(row.id) if row is not None else None,
            detail=detail,
        )
        with self._uow.write() as conn:
            if name is not None and window is not None:
                if self._pruned_window != window:
                    span = timedelta(seconds=self._settings.auth_failure_window_seconds)
                    store.prune_failures(conn, before=window - span)
                    self._pruned_window = window
                store.add_failure(conn, name, window)
            audit.record(conn, ctx, [change])

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


def _token_refusal(row: Row[Any] | None, org_id: int, version: str) -> str | None:
    """Why a correctly signed token no longer authenticates, or None when it does."""
    if row is None or row.kind != CredentialKind.CLIENT or int(row.org_id) != org_id:
        return "token_subject"
    if row.disabled:
        return "disabled"
    if not hmac.compare_digest(version, _secret_version(row.secret_hash)):
        return "token_rotated"  # the client's secret was rotated after the token was issued
    return None


def _secret_version(secret_hash: str) -> str:
    """Ties a token to the secret it was issued for: rotating the secret revokes its tokens."""
    return hashlib.sha256(secret_hash.encode()).hexdigest()[:16]


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
    if not sep or not valid_name(name) or not secret or len(secret) > _MAX_SECRET_LENGTH:
        raise AuthenticationFailed()
    return name, secret
