"""/admin/v1/webhooks: endpoints that receive the org's events, their deliveries and replays.

Create and rotate-secret answer with the secret, which is never stored: they run without the
Idempotency-Key store (a stored answer would be a copy of the secret at rest).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promoledger.api.admin_schemas import MAX_ID, AdminIn, AdminOut, Text
from promoledger.api.deps import ConfigRead, ConfigWrite, RuntimeDep, request_id
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import is_dry_run, mutate
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.domain.context import Context, Principal
from promoledger.domain.webhooks import Delivery, Endpoint
from promoledger.services import webhooks

router = family_router(ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: webhooks"])
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
EventTypes = Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)]


class WebhookCreate(AdminIn):
    url: Text = Field(min_length=1, max_length=2000)
    event_types: EventTypes = Field(description='Event types to receive, or ["*"] for all.')
    description: Text | None = Field(default=None, max_length=500)


class WebhookUpdate(AdminIn):
    url: Text | None = Field(default=None, min_length=1, max_length=2000)
    event_types: EventTypes | None = None
    enabled: bool | None = Field(default=None, strict=True)
    description: Text | None = Field(default=None, max_length=500)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}


class ReplayRequest(AdminIn):
    after: int = Field(ge=0, le=MAX_ID, strict=True, description="Resend events after this id.")


class WebhookPublic(AdminOut):
    id: int
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    last_event_id: int = Field(description="The last event handed to a delivery.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, e: Endpoint) -> WebhookPublic:
        return cls(
            id=e.id,
            url=e.url,
            event_types=list(e.event_types),
            description=e.description,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            failing_since=e.failing_since,
            last_event_id=e.cursor,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="whsec_…: shown only here and by rotate-secret.")


class WebhookList(AdminOut):
    webhooks: list[WebhookPublic]


class SecretPublic(AdminOut):
    secret: str


class DeliveryPublic(AdminOut):
    id: int
    status: str
    event_ids: list[int]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryPublic:
        return cls(
            id=d.id,
            status=d.status,
            event_ids=list(d.event_ids),
            attempts=d.attempts,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at if d.status == "PENDING" else None,
            last_attempt_at=d.last_attempt_at,
            delivered_at=d.delivered_at,
            last_status=d.last_status,
            last_error=d.last_error,
        )


class DeliveryList(AdminOut):
    deliveries: list[DeliveryPublic]


def _ctx(request: Request, principal: Principal) -> Context:
    return Context.for_principal(
        principal, request_id=request_id(request), dry_run=is_dry_run(request)
    )


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
async def create_webhook(
    request: Request, principal: ConfigWrite, runtime: RuntimeDep, body: WebhookCreate
) -> OrjsonResponse:
    settings = runtime.settings
    master = await run_in_threadpool(webhooks.master_key, settings)
    endpoint, secret = await run_in_threadpool(
        lambda: webhooks.create_endpoint(
            runtime.uow,
            _ctx(request, principal),
            master=master,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            allow_private=settings.webhook_allow_private_networks,
        )
    )
    public = WebhookPublic.of(endpoint).model_dump()
    return json_response(WebhookCreated(**public, secret=secret).wire(), status_code=201)


@router.get("/webhooks", response_model=WebhookList)
def list_webhooks(principal: ConfigRead, runtime: RuntimeDep) -> OrjsonResponse:
    found = webhooks.list_endpoints(runtime.uow, org_id=principal.org_id)
    return json_response(WebhookList(webhooks=[WebhookPublic.of(e) for e in found]).wire())


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic)
def get_webhook(webhook_id: PathId, principal: ConfigRead, runtime: RuntimeDep) -> OrjsonResponse:
    endpoint = webhooks.get_endpoint(runtime.uow, org_id=principal.org_id, endpoint_id=webhook_id)
    return json_response(WebhookPublic.of(endpoint).wire())


@router.patch("/webhooks/{webhook_id}", response_model=WebhookPublic)
async def update_webhook(
    webhook_id: PathId,
    request: Request,
    principal: ConfigWrite,
    runtime: RuntimeDep,
    body: WebhookUpdate,
) -> Response:
    allow = runtime.settings.webhook_allow_private_networks
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: webhooks.update_endpoint(
            uow, ctx, endpoint_id=webhook_id, changes=body.changes(), allow_private=allow
        ),
        render=lambda endpoint: (200, WebhookPublic.of(endpoint).wire()),
    )


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(
    webhook_id: PathId, request: Request, principal: ConfigWrite, runtime: RuntimeDep
) -> Response:
    ctx = _ctx(request, principal)
    await run_in_threadpool(
        lambda: webhooks.delete_endpoint(runtime.uow, ctx, endpoint_id=webhook_id)
    )
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=SecretPublic)
async def rotate_secret(
    webhook_id: PathId, request: Request, principal: ConfigWrite, runtime: RuntimeDep
) -> OrjsonResponse:
    master = await run_in_threadpool(webhooks.master_key, runtime.settings)
    secret = await run_in_threadpool(
        lambda: webhooks.rotate_secret(
            runtime.uow, _ctx(request, principal), master=master, endpoint_id=webhook_id
        )
    )
    return json_response(SecretPublic(secret=secret).wire())


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    webhook_id: PathId,
    principal: ConfigRead,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OrjsonResponse:
    found = webhooks.list_deliveries(
        runtime.uow, org_id=principal.org_id, endpoint_id=webhook_id, limit=limit
    )
    return json_response(DeliveryList(deliveries=[DeliveryPublic.of(d) for d in found]).wire())


@router.post("/webhooks/{webhook_id}/replay", response_model=WebhookPublic)
async def replay(
    webhook_id: PathId,
    request: Request,
    principal: ConfigWrite,
    runtime: RuntimeDep,
    body: ReplayRequest,
) -> Response:
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: webhooks.replay(uow, ctx, endpoint_id=webhook_id, after=body.after),
        render=lambda endpoint: (200, WebhookPublic.of(endpoint).wire()),
    )
