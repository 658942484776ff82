"""Customers: search (id, or the start of a mobile, email or externalId) and one customer's page
with, per promotion, the ledger timeline (enrolments and earns, statuses, who ended what, when
and under which request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promoledger.api.deps import get_runtime
from promoledger.console.web import PageError, Viewer, console_router, render
from promoledger.domain.ledger import LedgerRecord
from promoledger.services import customers
from promoledger.services.customers import MAX_QUERY_LENGTH, CustomerView

router = console_router()
PAGE = 25


@dataclass(frozen=True, slots=True)
class TimelineRow:
    kind: str  # Enrolment / Earn
    record: LedgerRecord
    status: str
    at: datetime


@router.get("/customers")
async def search(request: Request, session: Viewer) -> Response:
    q = request.query_params.get("q", "").strip()[:MAX_QUERY_LENGTH]
    cursor = request.query_params.get("cursor") or None
    page = None
    if q:
        page = await run_in_threadpool(
            customers.search_customers,
            get_runtime(request).uow,
            org_id=session.principal.org_id,
            q=q,
            limit=PAGE,
            cursor=cursor,
        )
    return render(request, "customers.html", session=session, q=q, page=page)


@router.get("/customers/{customer_id}")
async def customer(request: Request, session: Viewer, customer_id: str) -> Response:
    if not (customer_id.isascii() and customer_id.isdigit() and len(customer_id) <= 18):
        raise PageError(404, "Customer not found", "No customer has this id.")
    view = await run_in_threadpool(
        customers.get_customer,
        get_runtime(request).uow,
        org_id=session.principal.org_id,
        customer_id=int(customer_id),
    )
    return render(
        request,
        "customer.html",
        session=session,
        view=view,
        timelines=[(p.promotion, _timeline(view, p.enrolments, p.earns)) for p in view.promotions],
    )


def _timeline(
    view: CustomerView, enrolments: list[LedgerRecord], earns: list[LedgerRecord]
) -> list[TimelineRow]:
    rows = [
        TimelineRow(kind, r, r.status_at(view.as_of).value, r.created_at or view.as_of)
        for kind, records in (("Enrolment", enrolments), ("Earn", earns))
        for r in records
    ]
    return sorted(rows, key=lambda row: (row.at, row.kind != "Enrolment", row.record.id))
