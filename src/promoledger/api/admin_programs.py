"""/admin/v1 programs and promotions: parse, call one service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from starlette.responses import Response

from promoledger.api.admin_schemas import (
    MAX_ID,
    ProgramCreate,
    ProgramCreated,
    ProgramList,
    ProgramPublic,
    PromotionCreate,
    PromotionList,
    PromotionPublic,
    PromotionUpdate,
)
from promoledger.api.deps import ConfigRead, ConfigWrite, RuntimeDep
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import mutate
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.services import programs, promotions

router = family_router(
    ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: programs and promotions"]
)
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/programs", status_code=201, response_model=ProgramCreated)
async def create_program(
    request: Request, principal: ConfigWrite, runtime: RuntimeDep, body: ProgramCreate
) -> Response:
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: programs.create_program(
            uow,
            ctx,
            name=body.name,
            promotions=[p.service_args() for p in body.promotions],
        ),
        render=lambda created: (201, ProgramCreated.of(created).wire()),
    )


@router.get("/programs", response_model=ProgramList)
def list_programs(principal: ConfigRead, runtime: RuntimeDep) -> OrjsonResponse:
    found = programs.list_programs(runtime.uow, org_id=principal.org_id)
    return json_response(ProgramList(programs=[ProgramPublic.of(p) for p in found]).wire())


@router.get("/programs/{program_id}", response_model=ProgramPublic)
def get_program(program_id: PathId, principal: ConfigRead, runtime: RuntimeDep) -> OrjsonResponse:
    program = programs.get_program(runtime.uow, org_id=principal.org_id, program_id=program_id)
    return json_response(ProgramPublic.of(program).wire())


@router.post("/programs/{program_id}/promotions", status_code=201, response_model=PromotionPublic)
async def create_promotion(
    program_id: PathId,
    request: Request,
    principal: ConfigWrite,
    runtime: RuntimeDep,
    body: PromotionCreate,
) -> Response:
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: promotions.create_promotion(
            uow, ctx, program_id=program_id, **body.service_args()
        ),
        render=lambda promotion: (201, PromotionPublic.of(promotion).wire()),
    )


@router.get("/programs/{program_id}/promotions", response_model=PromotionList)
def list_promotions(
    program_id: PathId, principal: ConfigRead, runtime: RuntimeDep
) -> OrjsonResponse:
    found = promotions.list_promotions(runtime.uow, org_id=principal.org_id, program_id=program_id)
    return json_response(PromotionList(promotions=[PromotionPublic.of(p) for p in found]).wire())


@router.get("/promotions/{promotion_id}", response_model=PromotionPublic)
def get_promotion(
    promotion_id: PathId, principal: ConfigRead, runtime: RuntimeDep
) -> OrjsonResponse:
    promotion = promotions.get_promotion(
        runtime.uow, org_id=principal.org_id, promotion_id=promotion_id
    )
    return json_response(PromotionPublic.of(promotion).wire())


@router.patch("/promotions/{promotion_id}", response_model=PromotionPublic)
async def update_promotion(
    promotion_id: PathId,
    request: Request,
    principal: ConfigWrite,
    runtime: RuntimeDep,
    body: PromotionUpdate,
) -> Response:
    return await mutate(
        request,
        principal,
        body=await request.body(),
        run=lambda uow, ctx: promotions.update_promotion(
            uow, ctx, promotion_id=promotion_id, changes=body.changes()
        ),
        render=lambda promotion: (200, PromotionPublic.of(promotion).wire()),
    )
