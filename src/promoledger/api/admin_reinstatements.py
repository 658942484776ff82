"""/admin/v1/reinstatements: undo a revoke request (or revoke job). Parse, call one service,
shape the answer: 200 with the reinstatement, or 202 with the REINSTATE job an undo of more
than ``reinstate_inline_max`` items runs as (and ``Location`` naming it)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import Request
from pydantic import Field, model_validator
from starlette.responses import Response

from promoledger.api.admin_schemas import AdminIn, AdminOut, Text
from promoledger.api.deps import CustomerWrite, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import mutate
from promoledger.domain.context import Context
from promoledger.domain.reinstate import Reason, Reinstatement, Skip
from promoledger.jobs.model import Job
from promoledger.jobs.wire import job_public
from promoledger.services import undo
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


JOBS_PATH = "/admin/v1/jobs"


def _render(result: Reinstatement | Job) -> tuple[int, Any]:
    if isinstance(result, Job):
        return 202, job_public(result)
    return 200, ReinstatementPublic.of(result).wire()


@router.post(
    "/reinstatements",
    response_model=ReinstatementPublic,
    responses={
        202: {
            "description": "More than PROMOLEDGER_REINSTATE_INLINE_MAX items: a REINSTATE job "
            "(as GET /admin/v1/jobs/{id} shows it), named by Location."
        }
    },
)
async def create_reinstatement(
    request: Request, principal: CustomerWrite, runtime: RuntimeDep, body: ReinstatementCreate
) -> Response:
    settings = runtime.settings

    def run(uow: UnitOfWork, ctx: Context) -> Reinstatement | Job:
        return undo.undo(
            uow,
            ctx,
            request_id=body.request_id,
            job_id=body.job_id,
            inline_max=settings.reinstate_inline_max,
            chunk_items=settings.job_chunk_rows,
        )

    response = await mutate(request, principal, body=await request.body(), run=run, render=_render)
    if response.status_code == 202:  # a job (an idempotent replay of one too)
        job_id = orjson.loads(response.body)["id"]
        response.headers["Location"] = f"{JOBS_PATH}/{job_id}"
    return response
