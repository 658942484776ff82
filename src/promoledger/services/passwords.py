"""Name + secret checks (Basic till passwords, OAuth client key/secret): argon2id and the cache.

The slow salted hash (argon2id) is only computed on a cache miss, on its own executor (see
``hashing``). Every check still reads the credential row together with its failure counts (one
indexed statement), so disabling, rotating or throttling a credential takes effect on the very
next request, in every process that shares the database. An attempt that costs a hash is
counted before the hash runs (see ``throttle``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
from functools import partial
from typing import Any

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import Row

from promoledger.domain.errors import AuthenticationFailed, Throttled
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services.auth_failures import AuditBudget, record_failure, record_lockout
from promoledger.services.hashing import HashPool, outcome
from promoledger.services.throttle import Attempt, Throttle, pair_key
from promoledger.settings import Settings
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork

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
    """Checks a name and its secret; keeps the per-process memory of secrets verified right."""

    def __init__(
        self,
        uow: UnitOfWork,
        settings: Settings,
        throttle: Throttle,
        hashes: HashPool,
        budget: AuditBudget,
    ) -> None:
        self._uow = uow
        self._throttle = throttle
        self._hashes = hashes
        self._budget = budget
        # (kind, name, sha256(secret)) -> the secret_hash it was verified against. A rotation
        # changes secret_hash, so a stale entry can never match the row read on the request.
        # Within credential_cache_seconds such a secret skips the slow hash; within
        # auth_trust_seconds it still costs a hash but is never throttled, so no stranger's
        # failures can lock the credential's owner out.
        self._verified: TTLCache[tuple[str, str, bytes], str] = TTLCache(
            maxsize=10_000, ttl=max(settings.credential_cache_seconds, 0.001)
        )
        self._trusted: TTLCache[tuple[str, str, bytes], str] = TTLCache(
            maxsize=10_000, ttl=max(settings.auth_trust_seconds, 0.001)
        )
        self._lock = threading.Lock()

    async def login(
        self,
        kind: CredentialKind,
        name: str,
        secret: str,
        *,
        client: str | None,
        request_id: str | None,
    ) -> Row[Any]:
        """Check one name/secret pair; the row on success, else 401 (or 429 when throttled).

        Never holds a thread of the shared pool while a hash runs: database steps run there
        briefly, the hash runs on its own executor (see ``hashing``).
        """
        cache_key = (kind.value, name, hashlib.sha256(secret.encode()).digest())
        with self._lock:
            known_secret = cache_key in self._verified or cache_key in self._trusted
        if not known_secret:
            self._throttle.refuse_if_flooding(client)
        row = await to_thread.run_sync(self._read, kind, name, client, cache_key)
        if row is not None and self._remembered(self._verified, cache_key, row):
            return row
        attempt: Attempt | None = None
        lockout: tuple[str, int] | None = None
        if row is None:
            lockout = self._throttle.count_unknown(name, client)
        elif not self._remembered(self._trusted, cache_key, row):
            attempt = await to_thread.run_sync(self._throttle.count_attempt, name, client)
        ok = await self._verify(cache_key, row, secret, attempt)
        if row is not None and ok and not row.disabled:
            if attempt is not None:
                await to_thread.run_sync(self._throttle.forgive, attempt)
            return row
        reason = "unknown" if row is None else "disabled" if row.disabled else "wrong_secret"
        await to_thread.run_sync(
            partial(
                self._note_failure,
                reason=reason,
                row=row,
                kind=kind,
                name=name,
                client=client,
                attempt=attempt,
                lockout=lockout,
                request_id=request_id,
            )
        )
        raise AuthenticationFailed()

    def _read(
        self,
        kind: CredentialKind,
        name: str,
        client: str | None,
        cache_key: tuple[str, str, bytes],
    ) -> Row[Any] | None:
        """The credential, after a cheap 429 (no write) when a counter is already full."""
        since = self._throttle.counted_from(self._throttle.window_start())
        with self._uow.read() as conn:
            row = store.for_login(conn, kind.value, name, pair_key(name, client), since)
        if row is None or (
            self._remembered(self._verified, cache_key, row)
            or self._remembered(self._trusted, cache_key, row)
        ):
            return row  # unknown names are counted in memory; a right secret is never throttled
        self._throttle.refuse_if_over(
            name=name,
            client=client,
            name_failures=int(row.failures),
            pair_failures=int(row.pair_failures),
        )
        return row

    async def _verify(
        self,
        cache_key: tuple[str, str, bytes],
        row: Row[Any] | None,
        secret: str,
        attempt: Attempt | None,
    ) -> bool:
        if row is None:
            # Costs a hash like a known name would, but only when a worker is idle: under a
            # flood of made-up names the answer comes at once, without one.
            dummy = self._hashes.start_if_idle(partial(_check_dummy, secret))
            return await outcome(dummy) if dummy is not None else False
        if self._remembered(self._verified, cache_key, row):
            return True  # a concurrent request with the same secret verified it meanwhile
        flight = self._hashes.start_or_join(
            (cache_key, row.secret_hash), partial(self._check, cache_key, row.secret_hash, secret)
        )
        if flight is None:  # every worker busy and the queue full: shed, uncounted
            if attempt is not None:
                await to_thread.run_sync(self._throttle.forgive, attempt)
            raise Throttled(retry_after=1)
        return await outcome(flight)

    def _check(self, cache_key: tuple[str, str, bytes], secret_hash: str, secret: str) -> bool:
        """On the hash executor: verify, and remember a right secret before anyone can ask."""
        ok = verify_secret(secret_hash, secret)
        if ok:
            with self._lock:
                self._verified[cache_key] = secret_hash
                self._trusted[cache_key] = secret_hash
        return ok

    def _remembered(
        self,
        memory: TTLCache[tuple[str, str, bytes], str],
        cache_key: tuple[str, str, bytes],
        row: Row[Any],
    ) -> bool:
        """A secret verified right against the credential's current hash (a rotation or a
        disable, read fresh from the row on every request, takes effect at once)."""
        if row.disabled:
            return False
        with self._lock:
            known = memory.get(cache_key)
        return known is not None and hmac.compare_digest(known, row.secret_hash)

    def _note_failure(
        self,
        *,
        reason: str,
        row: Row[Any] | None,
        kind: CredentialKind,
        name: str,
        client: str | None,
        attempt: Attempt | None,
        lockout: tuple[str, int] | None,
        request_id: str | None,
    ) -> None:
        """Audit the failure (and the lockout it caused). Wrong secrets for a real credential
        are bounded by the throttle; the rest by the audit budget."""
        repeats: int | None = 0
        if row is None or row.disabled:
            target = ("unknown", client) if row is None else ("credential", int(row.id))
            repeats = self._budget.admit(("AUTH_FAILED", kind.value, reason, target))
        if attempt is not None and attempt.locks_out is not None:
            lockout = (attempt.locks_out, self._throttle.retry_after(attempt))
        if repeats is None and lockout is None:
            return
        with self._uow.write() as conn:
            if repeats is not None:
                record_failure(
                    conn,
                    reason=reason,
                    row=row,
                    kind=kind.value,
                    name=name,
                    request_id=request_id,
                    repeats=repeats,
                )
            if lockout is not None:
                record_lockout(
                    conn,
                    row=row,
                    kind=kind.value,
                    name=name,
                    client=client,
                    scope=lockout[0],
                    retry_after=lockout[1],
                    request_id=request_id,
                )


def _check_dummy(secret: str) -> bool:
    verify_secret(dummy_hash(), secret)
    return False
