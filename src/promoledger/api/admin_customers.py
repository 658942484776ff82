"""/admin/v1 customers: bulk create, search, the full ledger view of one, update and erase."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import Response

from promoledger.api.admin_customer_schemas import (
    CustomerErasedPublic,
    CustomerFound,
    CustomerLedgerPublic,
    CustomerPublic,
    CustomersCreate,
    CustomerSearchPublic,
    CustomersPublic,
    CustomerUpdate,
)
from promoledger.api.admin_schemas import MAX_ID
from promoledger.api.deps import ConfigRead, ConfigWrite, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import mutate
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.services import customers
from promoledger.services.customers import (
    DEFAULT_SEARCH_PAGE,
    MAX_QUERY_LENGTH,
    MAX_SEARCH_PAGE,
    CreatedCustomer,
    NewCustomer,
)

CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = family_router(ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: customers"])


@router.post("/customers", status_code=201, response_model=CustomersPublic)
async def create_customers(
    request: Request, principal: ConfigWrite, runtime: RuntimeDep, body: CustomersCreate
) -> Response:
    batch = [
        NewCustomer(c.mobile, c.email, c.external_id, c.sources, c.program_ids)
        for c in body.customers
    ]

    def render(created: list[CreatedCustomer]) -> tuple[int, object]:
        return 201, CustomersPublic(customers=[CustomerPublic.of(c) for c in created]).wire()

    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: customers.create_customers(uow, ctx, customers=batch),
        render=render,
    )


@router.get("/customers", response_model=CustomerSearchPublic)
def search_customers(
    *,
    principal: ConfigRead,
    runtime: RuntimeDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            description="An id (exact), or the start of a mobile, email or externalId "
            "(case-insensitive).",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGE)] = DEFAULT_SEARCH_PAGE,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> OrjsonResponse:
    page = customers.search_customers(
        runtime.uow, org_id=principal.org_id, q=q, limit=limit, cursor=cursor
    )
    return json_response(CustomerSearchPublic.of(page).wire())


@router.patch("/customers/{customer_id}", response_model=CustomerFound)
async def update_customer(
    customer_id: CustomerId, request: Request, principal: ConfigWrite, body: CustomerUpdate
) -> Response:
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: customers.update_customer(
            uow, ctx, customer_id=customer_id, changes=body.changes()
        ),
        render=lambda profile: (200, CustomerFound.of(profile).wire()),
    )


@router.delete("/customers/{customer_id}", response_model=CustomerErasedPublic)
async def erase_customer(
    customer_id: CustomerId, request: Request, principal: ConfigWrite
) -> Response:
    """GDPR erase: identifiers removed; the ledger and audit trail stay, under the numeric id."""
    return await mutate(
        request,
        principal,
        body=b"",
        run=lambda uow, ctx: customers.erase_customer(uow, ctx, customer_id=customer_id),
        render=lambda customer: (200, CustomerErasedPublic.of(customer).wire()),
    )


@router.get("/customers/{customer_id}", response_model=CustomerLedgerPublic)
def get_customer(
    customer_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: ConfigRead, runtime: RuntimeDep
) -> OrjsonResponse:
    view = customers.get_customer(runtime.uow, org_id=principal.org_id, customer_id=customer_id)
    return json_response(CustomerLedgerPublic.of(view).wire())
