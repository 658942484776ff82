"""POST /v2/promotion/bulk/revokeEnrolAndEarn and /revokeDirectEarn (contract 3.1, 3.2)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.responses import Response

from promoledger.api.capillary import bulk_body_schema, bulk_mutation, openapi_body
from promoledger.api.deps import CustomerWrite
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.domain.bulk import REVOKE_ACTIONS, BulkAction
from promoledger.domain.context import Principal
from promoledger.services import revoke as service

router = family_router(ErrorFamily.BULK, tags=["revoke"])

# revokeDirectEarn only ever revokes earns: bulkAction may be omitted (as for directEarn), and
# when given must be REVOKE_EARN; anything else is a 400 like on revokeEnrolAndEarn.
DIRECT_EARN_ACTIONS: Mapping[str, BulkAction] = {"REVOKE_EARN": BulkAction.REVOKE_EARN}


@router.post(
    "/v2/promotion/bulk/revokeEnrolAndEarn",
    summary="Revoke enrolments (REVOKE_ENROL / REVOKE_ISSUAL) or earns (REVOKE_EARN) in bulk",
    openapi_extra=openapi_body(bulk_body_schema(REVOKE_ACTIONS, action_required=True)),
)
async def revoke_enrol_and_earn(request: Request, principal: CustomerWrite) -> Response:
    return await _revoke(request, principal, actions=REVOKE_ACTIONS, fixed=None)


@router.post(
    "/v2/promotion/bulk/revokeDirectEarn",
    summary="Revoke earns in bulk, on either promotion type (bulkAction optional: REVOKE_EARN)",
    openapi_extra=openapi_body(bulk_body_schema(DIRECT_EARN_ACTIONS)),
)
async def revoke_direct_earn(request: Request, principal: CustomerWrite) -> Response:
    return await _revoke(
        request, principal, actions=DIRECT_EARN_ACTIONS, fixed=BulkAction.REVOKE_EARN
    )


async def _revoke(
    request: Request,
    principal: Principal,
    *,
    actions: Mapping[str, BulkAction],
    fixed: BulkAction | None,
) -> Response:
    return await bulk_mutation(
        request,
        principal,
        actions=actions,
        fixed_action=fixed,
        with_earn_ids=True,
        execute=lambda uow, ctx, bulk: service.revoke(uow, ctx, request=bulk),
    )
