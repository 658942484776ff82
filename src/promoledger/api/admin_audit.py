"""/admin/v1/audit: the org's audit events, newest first, cursor-paginated."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query

from promoledger.api.admin_customer_schemas import AuditEventPublic, AuditPagePublic
from promoledger.api.admin_schemas import MAX_ID
from promoledger.api.deps import ConfigRead, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.services import audit
from promoledger.services.audit import DEFAULT_PAGE, MAX_PAGE

router = family_router(ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: audit"])


@router.get("/audit", response_model=AuditPagePublic)
def list_audit(
    *,
    principal: ConfigRead,
    runtime: RuntimeDep,
    customer_id: Annotated[int | None, Query(alias="customerId", ge=1, le=MAX_ID)] = None,
    promotion_id: Annotated[int | None, Query(alias="promotionId", ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z_]+$")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; no zone means UTC.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> OrjsonResponse:
    page = audit.list_events(
        runtime.uow,
        org_id=principal.org_id,
        customer_id=customer_id,
        promotion_id=promotion_id,
        action=action,
        since=since,
        limit=limit,
        cursor=cursor,
    )
    return json_response(
        AuditPagePublic(
            events=[AuditEventPublic.of(e) for e in page.events], next_cursor=page.next_cursor
        ).wire()
    )
