"""/admin/v1/events: the org's event feed, ascending from an event id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from promoledger.api.admin_schemas import MAX_ID
from promoledger.api.deps import ConfigRead, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.services import events
from promoledger.services.events import DEFAULT_PAGE, MAX_PAGE

router = family_router(ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: events"])


@router.get("/events")
def list_events(
    *,
    principal: ConfigRead,
    runtime: RuntimeDep,
    after: Annotated[
        int,
        Query(ge=0, le=MAX_ID, description="Only events with a greater id (0: from the start)."),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    type: Annotated[
        str | None,
        Query(
            max_length=400,
            description="Only these event types (comma-separated), e.g. earn.revoked.",
        ),
    ] = None,
) -> OrjsonResponse:
    types = [t.strip() for t in type.split(",") if t.strip()] if type is not None else None
    found = events.list_events(
        runtime.uow, org_id=principal.org_id, after=after, limit=limit, types=types
    )
    last = found[-1].id if found else after
    return json_response({"events": [e.wire() for e in found], "lastId": last})
