"""The audit trail with filters (customer, promotion, action, since), newest first, paginated."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promoledger.api.deps import get_runtime
from promoledger.console.web import PageError, Viewer, console_router, render
from promoledger.services import audit

router = console_router()
PAGE = 50
_ACTION = re.compile(r"[A-Za-z_]{1,40}")


@router.get("/audit")
async def trail(request: Request, session: Viewer) -> Response:
    params = request.query_params
    filters = {
        k: params.get(k, "").strip() for k in ("customerId", "promotionId", "action", "since")
    }
    action = filters["action"].upper() or None
    if action is not None and not _ACTION.fullmatch(action):
        raise PageError(400, "Invalid filter", "action is letters and underscores only.")
    page = await run_in_threadpool(
        audit.list_events,
        get_runtime(request).uow,
        org_id=session.principal.org_id,
        customer_id=_id(filters["customerId"], "customerId"),
        promotion_id=_id(filters["promotionId"], "promotionId"),
        action=action,
        since=_since(filters["since"]),
        limit=PAGE,
        cursor=params.get("cursor") or None,
    )
    return render(request, "audit.html", session=session, filters=filters, page=page)


def _id(text: str, name: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and int(text) >= 1):
        raise PageError(400, "Invalid filter", f"{name} must be a positive whole number.")
    return int(text)


def _since(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise PageError(
            400,
            "Invalid filter",
            "since must be a date or time like 2026-11-30 or 2026-11-30T12:00.",
        ) from exc
