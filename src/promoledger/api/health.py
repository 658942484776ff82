"""Health checks: the only routes (with the token endpoint) that need no credential."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from promoledger.api.deps import RuntimeDep
from promoledger.api.responses import OrjsonResponse, json_response

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def live() -> OrjsonResponse:
    return json_response({"status": "ok"})


@router.get("/readyz", summary="Readiness: the database answers")
def ready(runtime: RuntimeDep) -> OrjsonResponse:
    with runtime.uow.read() as conn:
        conn.execute(text("SELECT 1"))
    return json_response({"status": "ok", "database": runtime.engine.dialect.name})
