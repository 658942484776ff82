"""Name + secret checks (Basic till passwords, OAuth client key/secret): argon2id and the cache.

The slow salted hash (argon2id) is only computed on a cache miss. Every check still reads the
credential row together with its failure count (one indexed statement), so disabling, rotating
or throttling a credential takes effect on the very next request, in every process that shares
the database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import Row

from promoledger.domain.errors import AuthenticationFailed
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services.auth_failures import record_failure
from promoledger.services.throttle import Throttle
from promoledger.settings import Settings
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork

MAX_CONCURRENT_HASHES = 2  # argon2id verifications at once per process (memory bound)
_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    """The slow salted hash that is all promoledger keeps of a secret."""
    return _hasher.hash(secret)


def md5_hex(password: str) -> str:
    """What a Capillary client sends as the Basic password: the lowercase hex MD5."""
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """Verified against when the name is unknown, so unknown and known names cost the same."""
    return _hasher.hash(secrets.token_hex(16))


class PasswordChecker:
    """Checks a name and its secret; keeps the per-process cache of recently verified secrets."""

    def __init__(self, uow: UnitOfWork, settings: Settings, throttle: Throttle) -> None:
        self._uow = uow
        self._throttle = throttle
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

    def login(
        self, kind: CredentialKind, name: str, secret: str, request_id: str | None
    ) -> Row[Any]:
        """Check one name/secret pair; the row on success, else 401 (or 429 when throttled)."""
        window = self._throttle.window_start()
        counted_from = self._throttle.counted_from(window)
        with self._uow.read() as conn:
            row = store.for_login(conn, kind.value, name, counted_from)
            failures = (
                int(row.failures)
                if row is not None
                else store.failures_since(conn, name, counted_from)
            )
        # Throttling wins over everything, a cached correct secret included: a name under
        # attack is closed until its failures age out, whoever knocks.
        self._throttle.refuse_if_over(failures, name, window)
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
            ok = verify_secret(row.secret_hash if row is not None else dummy_hash(), secret)
        if row is None or row.disabled or not ok:
            reason = "unknown" if row is None else "disabled" if row.disabled else "wrong_secret"
            with self._uow.write() as conn:
                self._throttle.count(conn, name, window)
                record_failure(
                    conn, reason=reason, row=row, kind=kind.value, name=name, request_id=request_id
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
