"""GET /admin/v1/customers?q=: prefix search over id, mobile, email and externalId."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.factories import Caller, World


def _search(client: TestClient, caller: Caller, **params: Any) -> Any:
    return client.get("/admin/v1/customers", params=params, headers=caller.headers)


def _create(client: TestClient, caller: Caller, customers: list[dict[str, Any]]) -> list[int]:
    response = client.post(
        "/admin/v1/customers", json={"customers": customers}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    return [c["id"] for c in response.json()["customers"]]


def test_prefix_matches_each_identifier_case_insensitively(
    client: TestClient, world: World, admin: Caller
) -> None:
    program_id = world.program(admin.org_id)
    ann, bob, _ = _create(
        client,
        admin,
        [
            {"mobile": "919800000001", "email": "ann@example.com", "externalId": "CRM-ann",
             "sources": ["instore"], "programIds": [program_id]},
            {"mobile": "919811111111", "email": "bob@example.org", "externalId": "crm-bob"},
            {"email": "carol@other.net"},
        ],
    )  # fmt: skip
    by_mobile = _search(client, admin, q="9198")
    assert by_mobile.status_code == 200, by_mobile.text
    assert [c["id"] for c in by_mobile.json()["customers"]] == [ann, bob]
    assert by_mobile.json()["nextCursor"] is None
    first = by_mobile.json()["customers"][0]
    assert first == {
        "id": ann,
        "mobile": "919800000001",
        "email": "ann@example.com",
        "externalId": "CRM-ann",
        "sources": ["INSTORE"],
        "programIds": [program_id],
        "createdAt": first["createdAt"],
    }
    assert [c["id"] for c in _search(client, admin, q="ANN@").json()["customers"]] == [ann]
    assert [c["id"] for c in _search(client, admin, q="crm-").json()["customers"]] == [ann, bob]
    assert [c["id"] for c in _search(client, admin, q=str(bob)).json()["customers"]] == [bob]
    # A prefix only: the middle of a value does not match, and LIKE wildcards are literal.
    assert _search(client, admin, q="example").json()["customers"] == []
    assert _search(client, admin, q="%").json()["customers"] == []
    assert _search(client, admin, q="_").json()["customers"] == []


def test_pages_with_a_cursor_and_other_orgs_are_invisible(
    client: TestClient, world: World, admin: Caller
) -> None:
    mine = _create(client, admin, [{"externalId": f"page-{i}"} for i in range(5)])
    other = world.till(world.org("other"), access="customer:none,config:write")
    _create(client, other, [{"externalId": "page-x"}])
    seen: list[int] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"q": "page-", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = _search(client, admin, **params).json()
        seen += [c["id"] for c in body["customers"]]
        cursor = body["nextCursor"]
    assert seen == mine
    assert cursor is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a", "limit": 0}, "limit"),
        ({"q": "a", "limit": 101}, "limit"),
        ({"q": "a", "cursor": "abc"}, "cursor"),
        ({}, "q"),
    ],
)
def test_bad_parameters_are_422(
    client: TestClient, admin: Caller, params: dict[str, Any], field: str
) -> None:
    response = _search(client, admin, **params)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert field in (error["field"] or ""), error


def test_search_needs_config_read(client: TestClient, world: World) -> None:
    org = world.org()
    assert client.get("/admin/v1/customers", params={"q": "a"}).status_code == 401
    blind = world.till(org, access="customer:write,config:none")
    response = _search(client, blind, q="a")
    assert response.status_code == 403
    reader = world.till(org, access="customer:none,config:read")
    assert _search(client, reader, q="a").status_code == 200
