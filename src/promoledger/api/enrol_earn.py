"""Routes: ``/v2/promotion/bulk/enrolAndEarn`` and ``/v2/promotion/bulk/directEarn``."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from promoledger.api.capillary import bulk_body_schema, bulk_mutation, openapi_body
from promoledger.api.deps import CustomerWrite
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.domain.bulk import ENROL_AND_EARN_ACTIONS, BulkAction
from promoledger.services import enrol_earn as service

router = family_router(ErrorFamily.BULK, tags=["capillary"])


@router.post(
    "/v2/promotion/bulk/enrolAndEarn",
    summary="Enrol customers in a promotion (ENROL) or issue it to them (EARN)",
    openapi_extra=openapi_body(bulk_body_schema(ENROL_AND_EARN_ACTIONS, action_required=True)),
)
async def enrol_and_earn(request: Request, principal: CustomerWrite) -> Response:
    return await bulk_mutation(
        request,
        principal,
        actions=ENROL_AND_EARN_ACTIONS,
        execute=lambda uow, ctx, bulk: service.enrol_and_earn(uow, ctx, request=bulk),
    )


@router.post(
    "/v2/promotion/bulk/directEarn",
    summary="Issue a direct-issue promotion to customers (no bulkAction)",
    openapi_extra=openapi_body(),
)
async def direct_earn(request: Request, principal: CustomerWrite) -> Response:
    return await bulk_mutation(
        request,
        principal,
        actions=None,
        fixed_action=BulkAction.EARN,
        with_promotion_name=True,
        execute=lambda uow, ctx, bulk: service.direct_earn(uow, ctx, request=bulk),
    )
