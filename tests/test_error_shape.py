"""Every error family's shape and status, pinned in one place (the one mapper in api/errors.py).

Each router declares its family; these tests send one request per (family, status) that a
client can meet — including the 500 of an unexpected failure and the 503 of a database
outage, which no ordinary request reaches — and assert the exact body.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from promoledger.domain import errors as E
from promoledger.domain.errors import DatabaseUnavailable
from promoledger.services import issue as issue_service
from promoledger.services import programs as program_service
from promoledger.services import revoke as revoke_service
from promoledger.store import tables as t
from tests.support.factories import World

REVOKE = "/v2/promotion/bulk/revokeEnrolAndEarn"
ISSUE = "/v2/promotion/issue"
LOOKUP = "/v2/customers/lookup/promotionData"
TOKEN = "/v3/oauth/token/generate"
AUTH_FAILED = "Authentication failed. Please check username and password."
DENIED = "Not authorized. Access is denied!"
INTERNAL = "Internal error; nothing was changed"


def _item(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "code": code, "message": message}


def _bulk_400(code: int, message: str) -> dict[str, Any]:
    return {
        "response": [{"errors": [_item(code, message)], "warnings": []}],
        "totalCount": 1,
        "failureCount": 1,
    }


def _boom(*_: object, **__: object) -> Any:
    raise RuntimeError("an unexpected failure")


def _outage(*_: object, **__: object) -> Any:
    raise DatabaseUnavailable("the database went away")


@pytest.fixture
def shop(world: World) -> dict[str, Any]:
    org = world.org()
    program = world.program(org)
    promotion = world.promotion(org, program)
    (customer,) = world.customers(org, program)
    return {
        "writer": world.till(org).headers,
        "reader": world.till(org, access="customer:read,config:read").headers,
        "program": program,
        "promotion": promotion.id,
        "customer": customer.id,
        "bulk": {
            "type": "CUSTOMER",
            "bulkAction": "REVOKE_EARN",
            "identifierName": "id",
            "promotionDetails": {"programId": program, "promotionId": promotion.id},
            "customers": [{"identifierValue": str(customer.id)}],
        },
    }


# --- the Capillary bulk family ----------------------------------------------------------------
def test_bulk_family(client: TestClient, shop: dict[str, Any]) -> None:
    writer, reader, body = shop["writer"], shop["reader"], shop["bulk"]
    rejected = client.post(REVOKE, json={**body, "type": "customer"}, headers=writer)
    assert (rejected.status_code, rejected.json()) == (
        400,
        _bulk_400(8901, "invalid entity type passed"),
    )
    unauthenticated = client.post(REVOKE, json=body)
    assert (unauthenticated.status_code, unauthenticated.json()) == (
        401,
        {"errors": [_item(401, AUTH_FAILED)]},
    )
    denied = client.post(REVOKE, json=body, headers=reader)
    assert (denied.status_code, denied.json()) == (403, {"errors": [_item(4000, DENIED)]})
    bad_key = client.post(REVOKE, json=body, headers={**writer, "Idempotency-Key": "k" * 256})
    assert (bad_key.status_code, bad_key.json()) == (
        422,
        {"errors": [_item(9422, "Idempotency-Key must be 1..255 characters")]},
    )
    wrong_method = client.get(REVOKE, headers=writer)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["errors"][0]["status"] is False


def test_bulk_family_unexpected_failure_is_a_plain_500_and_releases_the_key(
    client: TestClient, shop: dict[str, Any], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revoke_service, "revoke", _boom)
    headers = {**shop["writer"], "Idempotency-Key": "boom"}
    response = client.post(REVOKE, json=shop["bulk"], headers=headers)
    assert (response.status_code, response.json()) == (500, {"errors": [_item(9500, INTERNAL)]})
    assert "Traceback" not in response.text
    # The key is released, so the client's retry runs for real instead of meeting a 409.
    assert world.rows(t.idempotency_keys, key="boom") == []


def test_bulk_family_outage_is_503_with_retry_after(
    client: TestClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revoke_service, "revoke", _outage)
    response = client.post(REVOKE, json=shop["bulk"], headers=shop["writer"])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    [error] = response.json()["errors"]
    assert (error["status"], error["code"]) == (False, 9503)


# --- the single-customer Capillary endpoints ---------------------------------------------------
def test_issue_family(
    client: TestClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{ISSUE}?identifierName=id&identifierValue={shop['customer']}&source=INSTORE"
    body = {"programId": shop["program"], "promotionId": 999_999}
    rejected = client.post(url, json=body, headers=shop["writer"])
    assert (rejected.status_code, rejected.json()) == (
        400,
        {
            "warnings": [],
            "errors": [_item(8874, E.INVALID_PROMOTION.message)],
            "sideEffects": [],
        },
    )
    unauthenticated = client.post(url, json=body)
    assert (unauthenticated.status_code, unauthenticated.json()) == (
        401,
        {"errors": [_item(401, AUTH_FAILED)]},
    )
    monkeypatch.setattr(issue_service, "issue", _boom)
    failed = client.post(url, json=body, headers=shop["writer"])
    assert (failed.status_code, failed.json()) == (
        500,
        {"warnings": [], "errors": [_item(9500, INTERNAL)], "sideEffects": []},
    )


def test_lookup_family(client: TestClient, shop: dict[str, Any]) -> None:
    unknown = client.get(
        f"{LOOKUP}?identifierName=id&identifierValue=999999&source=INSTORE", headers=shop["reader"]
    )
    assert unknown.status_code == 400
    assert unknown.json() == {
        "errors": [_item(8015, E.CUSTOMER_NOT_FOUND.message)],
        "warnings": [],
    }
    forbidden = client.get(f"{LOOKUP}?identifierName=id&identifierValue=1&source=INSTORE")
    assert (forbidden.status_code, forbidden.json()) == (401, {"errors": [_item(401, AUTH_FAILED)]})


# --- the token endpoint ------------------------------------------------------------------------
def test_token_family(client: TestClient) -> None:
    wrong = client.post(TOKEN, json={"key": "nobody", "secret": "nothing"})
    assert wrong.status_code == 401
    body = wrong.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert (error["status"], error["code"]) == (False, 401)
    malformed = client.post(TOKEN, content=b"{", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()) == (
        400,
        {"data": None, "errors": [_item(9400, "Malformed JSON request body")]},
    )


# --- the admin API -----------------------------------------------------------------------------
def _admin(code: int, message: str, field: str | None = None) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "field": field}]}


def test_admin_family(
    client: TestClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    unauthenticated = client.get("/admin/v1/programs")
    assert (unauthenticated.status_code, unauthenticated.json()) == (
        401,
        _admin(401, AUTH_FAILED),
    )
    reader = client.post("/admin/v1/programs", json={"name": "x"}, headers=shop["reader"])
    assert (reader.status_code, reader.json()) == (403, _admin(4000, DENIED))
    missing = client.get("/admin/v1/programs/999999", headers=shop["reader"])
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == 9404
    invalid = client.post("/admin/v1/programs", json={"name": 5}, headers=shop["writer"])
    assert invalid.status_code == 422
    [error] = invalid.json()["errors"]
    assert (error["code"], error["field"]) == (9422, "name")
    no_route = client.get("/admin/v1/nothing-here", headers=shop["reader"])
    assert no_route.status_code == 404
    assert set(no_route.json()["errors"][0]) == {"code", "message", "field"}
    monkeypatch.setattr(program_service, "list_programs", _boom)
    failed = client.get("/admin/v1/programs", headers=shop["reader"])
    assert (failed.status_code, failed.json()) == (500, _admin(9500, INTERNAL))


def test_a_405_allows_every_method_the_path_serves(client: TestClient) -> None:
    # GET, PATCH and DELETE of a customer are three routes; the 405 names all of them.
    response = client.request("OPTIONS", "/admin/v1/customers/1")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, PATCH"
    assert response.json()["errors"][0]["code"] == 9422
