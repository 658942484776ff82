"""OAuth access tokens: HS256 JWTs, signed with keys every process derives alike (the database
holds a salt per key id, the master key is kept outside it: see ``token_keys``).

A token names the client credential it was issued to and the version of that client's secret,
so disabling the client or rotating its secret refuses its tokens on their very next use.
Failures of tokens this server signed are audited (not throttled: a signature cannot be
guessed) and bounded by the audit budget; tokens it never signed are refused without a
database write.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import Row

from promoledger.domain.context import Principal
from promoledger.domain.errors import TOKEN_INVALID, AuthenticationFailed
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services import token_keys
from promoledger.services.auth_failures import AuditBudget, record_failure
from promoledger.services.principals import principal_of
from promoledger.settings import Settings
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork

MAX_TOKEN_TTL = 30 * 24 * 3600
DEFAULT_TOKEN_TTL = 3600
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["iss", "iat", "exp", "jti", "sub", "client_id", "org_id", "ver"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    ttl_seconds: int


class TokenService:
    """Issues and verifies access tokens; holds this process's copy of the signing keys."""

    def __init__(self, uow: UnitOfWork, settings: Settings, budget: AuditBudget) -> None:
        self._uow = uow
        self._budget = budget
        self._settings = settings
        self._issuer = settings.token_issuer
        self._master: bytes | None = None
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}
        self._current_kid: str | None = None

    def issue(self, row: Row[Any]) -> IssuedToken:
        """A token for a client credential whose secret was just verified."""
        ttl = min(int(row.token_ttl_seconds), MAX_TOKEN_TTL)
        now = int(datetime.now(UTC).timestamp())
        kid, signing_secret = self.signing_key()
        claims = {
            "iss": self._issuer,
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

    def authenticate(self, token: str, *, request_id: str | None = None) -> Principal:
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
            self._note_failure(reason, row, request_id)
            raise AuthenticationFailed(TOKEN_INVALID)
        assert row is not None
        return principal_of(row)

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
                issuer=self._issuer,
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
            self._note_failure("token_expired", row, request_id)
            raise AuthenticationFailed(TOKEN_INVALID) from exc
        except (jwt.PyJWTError, UnicodeError, ValueError) as exc:
            raise AuthenticationFailed(TOKEN_INVALID) from exc

    def _note_failure(self, reason: str, row: Row[Any] | None, request_id: str | None) -> None:
        """Audited at most once per credential and reason per window: a disabled client's
        tokens may keep arriving as fast as anyone can send them."""
        key = ("AUTH_FAILED", "TOKEN", reason, int(row.id) if row is not None else None)
        repeats = self._budget.admit(key)
        if repeats is None:
            return
        with self._uow.write() as conn:
            record_failure(
                conn,
                reason=reason,
                row=row,
                kind=CredentialKind.CLIENT.value,
                name=row.name if row is not None else None,
                request_id=request_id,
                repeats=repeats,
            )

    def signing_key(self) -> tuple[str, bytes]:
        """The key id and HS256 key new tokens are signed with."""
        if self._current_kid is None:
            self.load_or_create_signing_key()
        assert self._current_kid is not None
        return self._current_kid, self._keys[self._current_kid]

    def _key_for(self, kid: str) -> bytes | None:
        if kid not in self._keys:
            self.load_or_create_signing_key()  # another process may have created it
        return self._keys.get(kid)

    def load_or_create_signing_key(self) -> None:
        """Created on first start and persisted, so tokens outlive restarts and span processes.

        The database keeps only a salt per key id; the key is derived with the master key from
        the environment or its 0600 file (see ``token_keys``).
        """
        if self._master is None:
            self._master = token_keys.master_key(self._settings)
        with self._uow.read() as conn:
            rows = store.signing_key_rows(conn)
        if not _derived(rows) or _expired_legacy(rows):
            with self._uow.write() as conn:
                rows = store.signing_key_rows(conn)
                if not _derived(rows):
                    kid = f"{token_keys.KID_PREFIX}{secrets.token_hex(8)}"
                    store.insert_signing_key(conn, kid, secrets.token_bytes(32))
                store.delete_signing_keys(conn, _expired_legacy(rows))
                rows = store.signing_key_rows(conn)
        keys = {
            r.kid: token_keys.derive(self._master, r.kid, bytes(r.secret))
            if r.kid.startswith(token_keys.KID_PREFIX)
            else bytes(r.secret)  # stored in clear by an older version: verifies only
            for r in rows
        }
        with self._lock:
            self._keys = keys
            self._current_kid = _derived(rows)[-1].kid


def _derived(rows: list[Row[Any]]) -> list[Row[Any]]:
    return [r for r in rows if r.kid.startswith(token_keys.KID_PREFIX)]


def _expired_legacy(rows: list[Row[Any]]) -> list[str]:
    """Keys stored in clear, once every token they signed has expired (tokens live 30 days at
    most, and nothing has been signed with them since the first derived key)."""
    derived = _derived(rows)
    if not derived or derived[0].created_at > datetime.now(UTC) - timedelta(seconds=MAX_TOKEN_TTL):
        return []
    return [r.kid for r in rows if not r.kid.startswith(token_keys.KID_PREFIX)]


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
