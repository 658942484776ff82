"""/admin/v1 customers: bulk create and the full ledger view of one customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from starlette.responses import Response

from promoledger.api.admin_customer_schemas import (
    CustomerLedgerPublic,
    CustomerPublic,
    CustomersCreate,
    CustomersPublic,
)
from promoledger.api.admin_schemas import MAX_ID
from promoledger.api.deps import ConfigRead, ConfigWrite, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import mutate
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.services import customers
from promoledger.services.customers import CreatedCustomer, NewCustomer

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


@router.get("/customers/{customer_id}", response_model=CustomerLedgerPublic)
def get_customer(
    customer_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: ConfigRead, runtime: RuntimeDep
) -> OrjsonResponse:
    view = customers.get_customer(runtime.uow, org_id=principal.org_id, customer_id=customer_id)
    return json_response(CustomerLedgerPublic.of(view).wire())
