"""Routes: ``/v2/promotion/bulk/enrolAndEarn`` and ``/v2/promotion/bulk/directEarn``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from promoledger.api.capillary import bulk_envelope, openapi_body, read_json
from promoledger.api.deps import CustomerWrite, get_runtime
from promoledger.api.extensions import mutate
from promoledger.domain.bulk import (
    ENROL_AND_EARN_ACTIONS,
    BulkAction,
    BulkRequest,
    parse_bulk_request,
)
from promoledger.services import enrol_earn as service

router = APIRouter(tags=["capillary"])


@router.post(
    "/v2/promotion/bulk/enrolAndEarn",
    summary="Enrol customers in a promotion (ENROL) or issue it to them (EARN)",
    openapi_extra=openapi_body(),
)
async def enrol_and_earn(request: Request, principal: CustomerWrite) -> Response:
    runtime = get_runtime(request)
    bulk = parse_bulk_request(
        await read_json(request),
        actions=ENROL_AND_EARN_ACTIONS,
        batch_limit=runtime.settings.batch_limit,
    )
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda ctx: service.enrol_and_earn(runtime.uow, ctx, request=bulk),
        render=lambda result: _render(bulk, result),
    )


@router.post(
    "/v2/promotion/bulk/directEarn",
    summary="Issue a direct-issue promotion to customers (no bulkAction)",
    openapi_extra=openapi_body(),
)
async def direct_earn(request: Request, principal: CustomerWrite) -> Response:
    runtime = get_runtime(request)
    bulk = parse_bulk_request(
        await read_json(request),
        actions=None,
        fixed_action=BulkAction.EARN,
        batch_limit=runtime.settings.batch_limit,
    )
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda ctx: service.direct_earn(runtime.uow, ctx, request=bulk),
        render=lambda result: _render(bulk, result),
    )


def _render(bulk: BulkRequest, result: service.BatchResult) -> tuple[int, Any]:
    envelope = bulk_envelope(
        ref=bulk.promotion,
        promotion=result.promotion,
        action=result.action,
        outcomes=result.outcomes,
    )
    return 200, envelope
