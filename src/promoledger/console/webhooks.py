"""Webhooks from the console: the org's endpoints, creating one (its secret shown once),
recent deliveries, replay from an event id, pausing and resuming.

The same services as ``/admin/v1/webhooks``: viewing needs CONFIG READ, every change CONFIG
WRITE. Creating runs without an Idempotency-Key, as the API's create does: its answer holds
the secret, which must never be stored (the page's script sends the form once).
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from promoledger.api.admin_webhooks import WebhookPublic
from promoledger.api.deps import get_runtime, request_id
from promoledger.api.errors import status_for
from promoledger.console import once
from promoledger.console.web import (
    MAX_FORM_BYTES,
    Form,
    PageError,
    Viewer,
    console_router,
    render,
    require_access,
)
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import NotFound, PromoledgerError
from promoledger.domain.events import ALL_TYPES, EVENT_TYPES
from promoledger.domain.vocabulary import Access, Resource
from promoledger.domain.webhooks import Delivery, Endpoint
from promoledger.services import idempotency, webhooks
from promoledger.store.uow import UnitOfWork

router = console_router()
DELIVERIES_SHOWN = 50
MAX_ID = 2**53


def _ctx(request: Request, principal: Principal, key: str | None = None) -> Context:
    return Context.for_principal(principal, request_id=request_id(request), idempotency_key=key)


def _id(value: str) -> int:
    """A webhook id from the path: anything but a positive number is a missing endpoint."""
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
        raise NotFound("webhook endpoint")
    return int(value)


def _refused(exc: PromoledgerError, title: str) -> PageError:
    detail = f" ({exc.field})" if exc.field else ""
    return PageError(status_for(exc), title, f"{exc.error.code}: {exc.message}{detail}")


@router.get("/webhooks")
async def webhooks_page(request: Request, session: Viewer) -> Response:
    runtime = get_runtime(request)
    found = await run_in_threadpool(
        lambda: webhooks.list_endpoints(runtime.uow, org_id=session.principal.org_id)
    )
    return render(
        request,
        "webhooks.html",
        session=session,
        endpoints=found,
        can_write=session.principal.allows(Resource.CONFIG, Access.WRITE),
        event_types=EVENT_TYPES,
    )


@router.post("/webhooks")
async def create(request: Request, submitted: Form) -> Response:
    session = submitted.session
    await require_access(request, session.principal, Resource.CONFIG, Access.WRITE)
    runtime = get_runtime(request)
    settings = runtime.settings
    form = submitted.form
    chosen = await _event_types(request)
    ctx = _ctx(request, session.principal)
    try:
        master = await run_in_threadpool(webhooks.master_key, settings)
        endpoint, secret = await run_in_threadpool(
            lambda: webhooks.create_endpoint(
                runtime.uow,
                ctx,
                master=master,
                url=form.get("url", "").strip(),
                event_types=chosen,
                description=form.get("description", "").strip() or None,
                allow_private=settings.webhook_allow_private_networks,
            )
        )
    except PromoledgerError as exc:
        raise _refused(exc, "Webhook refused") from exc
    return render(
        request, "webhook_created.html", session=session, endpoint=endpoint, secret=secret
    )


async def _event_types(request: Request) -> list[str]:
    """The ticked event types (a repeated field; the parsed form keeps only its last value)."""
    body = (await request.body())[:MAX_FORM_BYTES]
    ticked = [v for k, v in parse_qsl(body.decode("utf-8", "replace")) if k == "eventTypes"]
    return [ALL_TYPES] if ALL_TYPES in ticked else ticked


@router.get("/webhooks/{webhook_id}")
async def webhook_page(request: Request, session: Viewer, webhook_id: str) -> Response:
    runtime = get_runtime(request)
    number, org_id = _id(webhook_id), session.principal.org_id

    def read() -> tuple[Endpoint, list[Delivery]]:
        endpoint = webhooks.get_endpoint(runtime.uow, org_id=org_id, endpoint_id=number)
        found = webhooks.list_deliveries(
            runtime.uow, org_id=org_id, endpoint_id=number, limit=DELIVERIES_SHOWN
        )
        return endpoint, found

    endpoint, deliveries = await run_in_threadpool(read)
    replayed = request.query_params.get("replayed", "")
    return render(
        request,
        "webhook.html",
        session=session,
        endpoint=endpoint,
        deliveries=deliveries,
        can_write=session.principal.allows(Resource.CONFIG, Access.WRITE),
        replay_key=uuid.uuid4().hex,
        replayed=replayed if replayed.isdigit() else "",
    )


@router.post("/webhooks/{webhook_id}/replay")
async def replay(request: Request, submitted: Form, webhook_id: str) -> Response:
    """Send again every subscribed event after the given id; once per Idempotency-Key."""
    session = submitted.session
    await require_access(request, session.principal, Resource.CONFIG, Access.WRITE)
    number = _id(webhook_id)
    after = submitted.form.get("after", "").strip()
    if not (after.isascii() and after.isdigit()) or int(after) > MAX_ID:
        raise PageError(400, "Replay refused", "Give an event id (0 replays every event).")
    key = once.key_of(submitted.form)
    ctx = _ctx(request, session.principal, key)

    def run(uow: UnitOfWork) -> Endpoint:
        return webhooks.replay(uow, ctx, endpoint_id=number, after=int(after))

    body = orjson.dumps({"after": int(after), "webhook": number})
    await once.run_once(
        get_runtime(request),
        credential_id=session.principal.credential_id,
        key=key,
        fingerprint=idempotency.request_fingerprint("POST", "/console/webhooks/replay", "", body),
        run=run,
        answer=lambda endpoint: WebhookPublic.of(endpoint).wire(),
        refused="Replay refused",
    )
    return RedirectResponse(f"/console/webhooks/{number}?replayed={int(after)}", status_code=303)


@router.post("/webhooks/{webhook_id}/enabled")
async def set_enabled(request: Request, submitted: Form, webhook_id: str) -> Response:
    """Pause (disable) or resume (enable) deliveries, as ``PATCH {"enabled": …}``."""
    session = submitted.session
    await require_access(request, session.principal, Resource.CONFIG, Access.WRITE)
    number = _id(webhook_id)
    enabled = submitted.form.get("enabled") == "true"
    runtime = get_runtime(request)
    ctx = _ctx(request, session.principal)
    await run_in_threadpool(
        lambda: webhooks.update_endpoint(
            runtime.uow,
            ctx,
            endpoint_id=number,
            changes={"enabled": enabled},
            allow_private=runtime.settings.webhook_allow_private_networks,
        )
    )
    return RedirectResponse(f"/console/webhooks/{number}", status_code=303)
