"""Test-only routes, one per access-group dependency, so auth tests exercise exactly what every
route uses. Mark a module ``pytest.mark.probes`` and the ``app`` fixture mounts them."""

from __future__ import annotations

import base64

from fastapi import APIRouter, FastAPI

from promoledger.api.deps import ConfigRead, ConfigWrite, CustomerRead, CustomerWrite
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.domain.context import Principal

AUTH_FAILED_BODY = {
    "errors": [
        {
            "status": False,
            "code": 401,
            "message": "Authentication failed. Please check username and password.",
        }
    ]
}
ACCESS_DENIED_BODY = {
    "errors": [{"status": False, "code": 4000, "message": "Not authorized. Access is denied!"}]
}
PROBES = {
    ("GET", "/v2/_probe/customer"): "customer:read",
    ("POST", "/v2/_probe/customer"): "customer:write",
    ("GET", "/admin/v1/_probe/config"): "config:read",
    ("POST", "/admin/v1/_probe/config"): "config:write",
}


def basic(code: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{code}:{secret}".encode()).decode()}


def _who(principal: Principal) -> OrjsonResponse:
    return json_response(
        {"org": principal.org_id, "credential": principal.credential_id, "kind": principal.kind}
    )


def with_probes(app: FastAPI) -> FastAPI:
    """Mount one test-only route per access-group dependency."""
    router = APIRouter()

    @router.get("/v2/_probe/customer")
    def customer_read(principal: CustomerRead) -> OrjsonResponse:
        return _who(principal)

    @router.post("/v2/_probe/customer")
    def customer_write(principal: CustomerWrite) -> OrjsonResponse:
        return _who(principal)

    @router.get("/admin/v1/_probe/config")
    def config_read(principal: ConfigRead) -> OrjsonResponse:
        return _who(principal)

    @router.post("/admin/v1/_probe/config")
    def config_write(principal: ConfigWrite) -> OrjsonResponse:
        return _who(principal)

    app.include_router(router)
    return app
