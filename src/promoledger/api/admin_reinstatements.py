"""/admin/v1/reinstatements: undo a revoke request (or revoke job). Parse, call one service,
shape the answer."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from pydantic import Field, model_validator
from starlette.responses import Response

from promoledger.api.admin_schemas import AdminIn, AdminOut, Text
from promoledger.api.deps import CustomerWrite, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import mutate
from promoledger.domain.context import Context
from promoledger.domain.reinstate import Reason, Reinstatement, Skip
from promoledger.services import reinstate
from promoledger.store.uow import UnitOfWork

router = family_router(ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: undo"])


class ReinstatementCreate(AdminIn):
    """Exactly one of ``requestId`` (the X-Request-ID of a revokeEnrolAndEarn or
    revokeDirectEarn call) and ``jobId`` (a revoke job)."""

    request_id: Text | None = Field(default=None, min_length=1, max_length=200)
    job_id: Text | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_target(self) -> ReinstatementCreate:
        if (self.request_id is None) == (self.job_id is None):
            raise ValueError("give exactly one of requestId and jobId")
        return self


class ReinstatedCounts(AdminOut):
    enrolments: int
    earns: int


class SkippedPublic(AdminOut):
    entity_type: Literal["ENROLMENT", "EARN"]
    entity_id: int
    customer_id: int
    reason: Reason

    @classmethod
    def of(cls, skip: Skip) -> SkippedPublic:
        return cls(
            entity_type=skip.entity_type,
            entity_id=skip.entity_id,
            customer_id=skip.customer_id,
            reason=skip.reason,
        )


class ReinstatementPublic(AdminOut):
    reinstated: ReinstatedCounts
    skipped: list[SkippedPublic]

    @classmethod
    def of(cls, result: Reinstatement) -> ReinstatementPublic:
        return cls(
            reinstated=ReinstatedCounts(enrolments=result.enrolments, earns=result.earns),
            skipped=[SkippedPublic.of(s) for s in result.skipped],
        )


@router.post("/reinstatements", response_model=ReinstatementPublic)
async def create_reinstatement(
    request: Request, principal: CustomerWrite, runtime: RuntimeDep, body: ReinstatementCreate
) -> Response:
    def run(uow: UnitOfWork, ctx: Context) -> Reinstatement:
        request_id = body.request_id or reinstate.request_id_of_job(
            uow, org_id=ctx.org_id, job_id=str(body.job_id)
        )
        return reinstate.reinstate(uow, ctx, request_id=request_id)

    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=run,
        render=lambda result: (200, ReinstatementPublic.of(result).wire()),
    )
