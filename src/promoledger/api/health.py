"""Health checks, version and metrics: the routes (with the token endpoint) that need no
credential. ``/metrics`` needs a Bearer token only when ``PROMOLEDGER_METRICS_TOKEN`` is set."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text

from promoledger import __version__
from promoledger.api.deps import RuntimeDep
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.domain.errors import AuthenticationFailed
from promoledger.observability.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def live() -> OrjsonResponse:
    return json_response({"status": "ok"})


@router.get("/readyz", summary="Readiness: the database answers")
def ready(runtime: RuntimeDep) -> OrjsonResponse:
    with runtime.uow.read() as conn:
        conn.execute(text("SELECT 1"))
    return json_response({"status": "ok", "database": runtime.engine.dialect.name})


@router.get("/version", summary="The promoledger version this server runs")
def version() -> OrjsonResponse:
    return json_response({"name": "promoledger", "version": __version__})


@router.get(
    "/metrics",
    summary="Prometheus metrics (Bearer token required when PROMOLEDGER_METRICS_TOKEN is set)",
    response_class=Response,
)
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token
    if token is not None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), expected):
            raise AuthenticationFailed()
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)
