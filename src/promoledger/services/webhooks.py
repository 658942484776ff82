"""Webhook endpoint use cases (/admin/v1/webhooks), scoped to the caller's org and audited.

Secrets: the database holds a random salt per endpoint; the signing secret is derived from it
and the master key kept outside the database (``token_keys.master_key``: PROMOLEDGER_TOKEN_KEY
or its 0600 file), so a copy of the database cannot forge deliveries. The secret is shown when
the endpoint is created and when it is rotated, and never stored anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.errors import VALIDATION, Invalid, NotFound
from promoledger.domain.webhooks import SECRET_PREFIX, Delivery, Endpoint
from promoledger.domain.webhooks import check_url as _check_url
from promoledger.domain.webhooks import clean_event_types as _clean_types
from promoledger.services import token_keys
from promoledger.settings import Settings
from promoledger.store import audit
from promoledger.store import webhooks as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

ENTITY = "WEBHOOK"
# How long the previous secret keeps signing after a rotation.
ROTATION_GRACE = timedelta(hours=24)
_MASTERS: dict[tuple[str | None, str], bytes] = {}


def master_key(settings: Settings) -> bytes:
    """The master key webhook secrets are derived from (cached per key source)."""
    token = settings.token_key.get_secret_value() if settings.token_key else None
    source = (token, str(token_keys.key_file(settings)) if token is None else "")
    found = _MASTERS.get(source)
    if found is None:
        found = _MASTERS[source] = token_keys.master_key(settings)
    return found


def secret_of(master: bytes, salt: bytes) -> str:
    """``whsec_`` + base64 of the 32-byte signing key of one endpoint (Standard Webhooks)."""
    key = hmac.new(master, b"promoledger webhook secret|" + salt, hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(key).decode()


def check_url(url: str, *, allow_private: bool) -> str:
    try:
        return _check_url(url, allow_private=allow_private)
    except ValueError as exc:
        raise Invalid(VALIDATION, detail=str(exc), field="url") from exc


def clean_event_types(types: Sequence[str]) -> tuple[str, ...]:
    try:
        return _clean_types(types)
    except ValueError as exc:
        raise Invalid(VALIDATION, detail=str(exc), field="eventTypes") from exc


def create_endpoint(
    uow: UnitOfWork,
    ctx: Context,
    *,
    master: bytes,
    url: str,
    event_types: Sequence[str],
    description: str | None = None,
    allow_private: bool = False,
) -> tuple[Endpoint, str]:
    """A new endpoint (receiving events committed from now on) and its secret."""
    url = check_url(url, allow_private=allow_private)
    types = clean_event_types(event_types)
    salt = secrets.token_bytes(32)

    def work(conn: Connection) -> Endpoint:
        endpoint = store.insert_endpoint(
            conn,
            org_id=ctx.org_id,
            url=url,
            event_types=types,
            description=description,
            salt=salt,
            now=utcnow(),
        )
        _audit(conn, ctx, "WEBHOOK_CREATED", endpoint, {"url": url, "eventTypes": list(types)})
        return endpoint

    endpoint = uow.apply(work, dry_run=ctx.dry_run)
    return endpoint, secret_of(master, salt)


def list_endpoints(uow: UnitOfWork, *, org_id: int) -> list[Endpoint]:
    with uow.read() as conn:
        return store.list_endpoints(conn, org_id=org_id)


def get_endpoint(uow: UnitOfWork, *, org_id: int, endpoint_id: int) -> Endpoint:
    with uow.read() as conn:
        return _found(store.get_endpoint(conn, org_id=org_id, endpoint_id=endpoint_id))


def update_endpoint(
    uow: UnitOfWork,
    ctx: Context,
    *,
    endpoint_id: int,
    changes: Mapping[str, Any],
    allow_private: bool = False,
) -> Endpoint:
    """PATCH: ``url``, ``event_types``, ``enabled``, ``description``. Enabling an endpoint the
    dispatcher disabled clears its failure record; its cursor is where it stopped."""
    values: dict[str, Any] = {}
    if "url" in changes:
        values["url"] = check_url(changes["url"], allow_private=allow_private)
    if "event_types" in changes:
        values["event_types"] = clean_event_types(changes["event_types"])
    if "description" in changes:
        values["description"] = changes["description"]
    if "enabled" in changes:
        values["enabled"] = bool(changes["enabled"])
        if values["enabled"]:
            values.update(failing_since=None, disabled_reason=None)
        else:
            values["disabled_reason"] = "disabled by a user"

    def work(conn: Connection) -> Endpoint:
        before = _found(
            store.get_endpoint(conn, org_id=ctx.org_id, endpoint_id=endpoint_id, lock=True)
        )
        if not values:
            return before
        after = store.update_endpoint(conn, endpoint_id, updated_at=utcnow(), **values)
        detail = {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
        _audit(conn, ctx, "WEBHOOK_UPDATED", after, detail, before=before, after=after)
        return after

    return uow.apply(work, dry_run=ctx.dry_run)


def delete_endpoint(uow: UnitOfWork, ctx: Context, *, endpoint_id: int) -> None:
    """The endpoint stops receiving at once; its pending deliveries are FAILED. The row stays
    (deleted) so its deliveries still name it."""

    def work(conn: Connection) -> None:
        endpoint = _found(
            store.get_endpoint(conn, org_id=ctx.org_id, endpoint_id=endpoint_id, lock=True)
        )
        now = utcnow()
        store.update_endpoint(conn, endpoint_id, deleted=True, enabled=False, updated_at=now)
        store.fail_pending(conn, endpoint_id, now=now, reason="endpoint deleted")
        _audit(conn, ctx, "WEBHOOK_DELETED", endpoint, {"url": endpoint.url})

    uow.apply(work, dry_run=ctx.dry_run)


def rotate_secret(uow: UnitOfWork, ctx: Context, *, master: bytes, endpoint_id: int) -> str:
    """A new secret. Deliveries sent from now on (retries included) are signed with it and,
    for ``ROTATION_GRACE`` more, with the previous one too (Standard Webhooks allows several
    signatures), so receivers can switch secrets without rejecting anything."""
    salt = secrets.token_bytes(32)

    def work(conn: Connection) -> None:
        endpoint = _found(
            store.get_endpoint(conn, org_id=ctx.org_id, endpoint_id=endpoint_id, lock=True)
        )
        now = utcnow()
        store.update_endpoint(
            conn,
            endpoint_id,
            previous_salt=store.salts_of(conn, endpoint_id, now=now)[0],
            previous_until=now + ROTATION_GRACE,
            secret_salt=salt,
            updated_at=now,
        )
        _audit(conn, ctx, "WEBHOOK_SECRET_ROTATED", endpoint, None)

    uow.apply(work, dry_run=ctx.dry_run)
    return secret_of(master, salt)


def replay(uow: UnitOfWork, ctx: Context, *, endpoint_id: int, after: int) -> Endpoint:
    """Send again every subscribed event with id > ``after`` (after any delivery in flight)."""
    if after < 0:
        raise Invalid(VALIDATION, detail="after must be 0 or an event id", field="after")

    def work(conn: Connection) -> Endpoint:
        before = _found(
            store.get_endpoint(conn, org_id=ctx.org_id, endpoint_id=endpoint_id, lock=True)
        )
        endpoint = store.update_endpoint(conn, endpoint_id, cursor=after, updated_at=utcnow())
        _audit(conn, ctx, "WEBHOOK_REPLAYED", endpoint, {"after": after, "from": before.cursor})
        return endpoint

    return uow.apply(work, dry_run=ctx.dry_run)


def list_deliveries(
    uow: UnitOfWork, *, org_id: int, endpoint_id: int, limit: int = 50
) -> list[Delivery]:
    """The endpoint's deliveries, newest first."""
    if not 1 <= limit <= 500:
        raise Invalid(VALIDATION, detail="limit must be 1..500", field="limit")
    with uow.read() as conn:
        _found(store.get_endpoint(conn, org_id=org_id, endpoint_id=endpoint_id))
        return store.list_deliveries(conn, endpoint_id=endpoint_id, limit=limit)


def _found(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        raise NotFound("webhook endpoint")
    return endpoint


def _audit(
    conn: Connection,
    ctx: Any,
    action: str,
    endpoint: Endpoint,
    detail: dict[str, Any] | None,
    *,
    before: Endpoint | None = None,
    after: Endpoint | None = None,
) -> None:
    old = None if before is None else ("ENABLED" if before.enabled else "DISABLED")
    new = None if after is None else ("ENABLED" if after.enabled else "DISABLED")
    audit.record(
        conn,
        ctx,
        [audit.Change(action, ENTITY, endpoint.id, None, None, old, new, detail)],
    )
