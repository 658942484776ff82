"""PATCH /admin/v1/customers/{id}: identifiers, sources and programs; duplicates are 409."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.factories import Caller, World


def _patch(client: TestClient, caller: Caller, customer_id: int, body: dict[str, Any]) -> Any:
    return client.patch(f"/admin/v1/customers/{customer_id}", json=body, headers=caller.headers)


def test_patch_changes_only_what_is_sent_and_audits_field_names(
    client: TestClient, world: World, admin: Caller
) -> None:
    p1, p2 = world.program(admin.org_id), world.program(admin.org_id, "Second")
    [c] = world.customers(admin.org_id, p1)
    response = _patch(
        client,
        admin,
        c.id,
        {"email": " New@Example.com ", "externalId": None, "sources": ["web_engage", "instore"],
         "programIds": [p2]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": c.id,
        "mobile": c.mobile,
        "email": "new@example.com",
        "externalId": None,
        "sources": ["INSTORE", "WEB_ENGAGE"],
        "programIds": [p2],
        "createdAt": response.json()["createdAt"],
    }
    [row] = world.rows(t.customers, id=c.id)
    assert (row.mobile, row.email, row.external_id) == (c.mobile, "new@example.com", None)
    assert [m.program_id for m in world.rows(t.program_members, customer_id=c.id)] == [p2]
    [event] = world.audit(action="CUSTOMER_UPDATED")
    assert event.customer_id == c.id
    assert "new@example.com" not in event.detail
    assert '"changed":["email","externalId"]' in event.detail.replace(" ", "")


def test_duplicate_identifier_is_409_naming_it_and_writes_nothing(
    client: TestClient, world: World, admin: Caller
) -> None:
    a, b = world.customers(admin.org_id, None, n=2)
    response = _patch(client, admin, b.id, {"mobile": a.mobile, "email": "fresh@example.com"})
    assert response.status_code == 409, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "mobile"
    assert a.mobile in error["message"]
    [row] = world.rows(t.customers, id=b.id)
    assert (row.mobile, row.email) == (b.mobile, b.email)
    assert world.audit(action="CUSTOMER_UPDATED") == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"mobile": None, "email": None, "externalId": None}, 422),
        ({"mobile": "  "}, 422),
        ({"sources": ["nowhere"]}, 422),
        ({"programIds": [999999]}, 422),
        ({"unknown": 1}, 422),
        ({"mobile": "x" * 65}, 422),
    ],
)
def test_bad_changes_are_refused_without_a_write(
    client: TestClient, world: World, admin: Caller, body: dict[str, Any], status: int
) -> None:
    [c] = world.customers(admin.org_id, None)
    response = _patch(client, admin, c.id, body)
    assert response.status_code == status, response.text
    [row] = world.rows(t.customers, id=c.id)
    assert row.mobile == c.mobile
    assert world.audit(action="CUSTOMER_UPDATED") == []


def test_unknown_foreign_and_read_only(client: TestClient, world: World, admin: Caller) -> None:
    other = world.org("other")
    [foreign] = world.customers(other, None)
    assert _patch(client, admin, foreign.id, {"mobile": "1"}).status_code == 404
    assert _patch(client, admin, 999999, {"mobile": "1"}).status_code == 404
    reader = world.till(admin.org_id, access="customer:write,config:read")
    [mine] = world.customers(admin.org_id, None)
    assert _patch(client, reader, mine.id, {"mobile": "1"}).status_code == 403


def test_dry_run_changes_nothing(client: TestClient, world: World, admin: Caller) -> None:
    [c] = world.customers(admin.org_id, None)
    response = client.patch(
        f"/admin/v1/customers/{c.id}?dryRun=true", json={"mobile": "42"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["mobile"] == "42"
    assert world.rows(t.customers, id=c.id)[0].mobile == c.mobile
