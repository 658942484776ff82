"""Access groups (CUSTOMER/CONFIG by NONE/READ/WRITE), deny by default, audit of denied requests."""

from __future__ import annotations

import re

import orjson
import pytest
from fastapi import FastAPI

from promoledger.api.oauth import GENERATE_PATH
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services import credentials
from tests.support.factories import World
from tests.support.probes import (
    ACCESS_DENIED_BODY,
    AUTH_FAILED_BODY,
    PROBES,
    basic,
)

pytestmark = pytest.mark.probes

try:  # FastAPI >= 0.16x nests included routers; this flattens them with their prefixes.
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI lists every route flat
    iter_route_contexts = iter  # type: ignore[assignment]

OPEN_PATHS = {"/healthz", "/readyz", "/version", "/metrics", GENERATE_PATH, "/console/signin"}


def _allowed(access: str, needs: str) -> bool:
    levels = {"none": 0, "read": 1, "write": 2}
    have = dict(part.split(":") for part in access.split(",") if part)
    resource, level = needs.split(":")
    return levels[have.get(resource, "none")] >= levels[level]


@pytest.mark.parametrize(
    "access",
    [
        "customer:read",
        "customer:write",
        "config:read",
        "config:write",
        "customer:write,config:read",
        "customer:none,config:none",
    ],
)
def test_each_route_checks_its_access_group(world: World, access: str) -> None:
    till = world.till(world.org(), access=access)
    for (method, path), needs in PROBES.items():
        response = world.client.request(method, path, headers=till.headers)
        if _allowed(access, needs):
            assert response.status_code == 200, (access, method, path)
            assert response.json()["credential"] == till.credential_id
        else:
            assert response.status_code == 403, (access, method, path)
            if path.startswith("/v2/"):
                assert response.json() == ACCESS_DENIED_BODY
            else:
                assert response.json()["errors"][0]["code"] == 4000


def test_a_read_only_till_gets_4000_on_a_write(world: World) -> None:
    till = world.till(world.org(), access="customer:read")
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    response = world.client.post("/v2/_probe/customer", headers=till.headers)
    assert response.status_code == 403
    assert response.json() == ACCESS_DENIED_BODY


def test_a_customer_only_client_is_refused_config(world: World) -> None:
    caller = world.oauth_client(world.org(), access="customer:write")
    headers = world.oauth_headers(caller)
    assert world.client.post("/v2/_probe/customer", headers=headers).status_code == 200
    response = world.client.get("/admin/v1/_probe/config", headers=headers)
    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"code": 4000, "message": "Not authorized. Access is denied!", "field": None}]
    }


def test_a_denied_request_is_audited_with_its_request_id(world: World) -> None:
    org = world.org()
    till = world.till(org, access="customer:read")
    world.client.post(
        "/v2/_probe/customer", headers={**till.headers, "X-Request-ID": "req-denied-1"}
    )
    (event,) = world.audit(action="ACCESS_DENIED")
    assert event.org_id == org
    assert (event.actor_kind, event.actor_id) == ("TILL", till.credential_id)
    assert event.request_id == "req-denied-1"
    assert orjson.loads(event.detail) == {
        "method": "POST",
        "path": "/v2/_probe/customer",
        "needs": "CUSTOMER:WRITE",
    }


def test_a_failed_authentication_is_audited_without_the_secret(world: World) -> None:
    org = world.org()
    till = world.till(org)
    wrong = basic(till.name, "f" * 32)
    world.client.get("/v2/_probe/customer", headers={**wrong, "X-Request-ID": "req-bad-1"})
    (event,) = world.audit(action="AUTH_FAILED")
    assert (event.org_id, event.entity_type, event.entity_id) == (
        org,
        "CREDENTIAL",
        till.credential_id,
    )
    assert event.actor_kind == "ANONYMOUS"
    assert event.request_id == "req-bad-1"
    assert orjson.loads(event.detail) == {
        "reason": "wrong_secret",
        "kind": "TILL",
        "name": till.name,
    }
    assert "f" * 32 not in event.detail


def test_a_disabled_till_failure_says_so_in_the_audit(world: World) -> None:
    till = world.till(world.org())
    credentials.set_disabled(world.uow, kind=CredentialKind.TILL, name=till.name, disabled=True)
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 401
    (event,) = world.audit(action="AUTH_FAILED")
    assert orjson.loads(event.detail)["reason"] == "disabled"


def test_every_route_but_health_token_and_docs_needs_credentials(
    app: FastAPI, world: World
) -> None:
    """Deny by default: walks the whole app, so every endpoint merged later is covered too."""
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    checked = 0
    seen = set()
    for route in iter_route_contexts(app.routes):
        if not route.path or not route.methods:
            continue
        seen.add(route.path)
        if route.path in OPEN_PATHS | docs:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(set(route.methods) - {"HEAD"}):
            response = world.client.request(method, path)
            assert response.status_code == 401, (method, route.path, response.text)
            if path.startswith("/v2/"):
                assert response.json() == AUTH_FAILED_BODY
            checked += 1
    assert checked >= len(PROBES)
    assert seen >= OPEN_PATHS  # the walk really sees routes of included routers


def test_open_routes_answer_without_credentials(world: World) -> None:
    assert world.client.get("/healthz").status_code == 200
    assert world.client.get("/readyz").status_code == 200
    assert world.client.get("/openapi.json").status_code == 200
    assert world.client.post(GENERATE_PATH, json={"key": "x", "secret": "y"}).status_code == 401
