"""/admin/v1/audit: newest first, keyset pagination, filters, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promoledger.domain.context import Context
from promoledger.store import audit
from tests.support.factories import Caller, World

pytestmark = pytest.mark.admin_access("config:read")  # reading the audit needs no more


def _events(
    world: World, org_id: int, *changes: tuple[str, int | None, int | None, datetime]
) -> None:
    """Append audit events (action, customer, promotion, when) exactly as services do."""
    ctx = Context(org_id=org_id, actor_kind="SYSTEM", request_id="seed")
    with world.uow.write() as conn:
        for action, customer_id, promotion_id, at in changes:
            audit.record(
                conn,
                ctx,
                [
                    audit.Change(
                        action, "EARN", 1, customer_id=customer_id, promotion_id=promotion_id
                    )
                ],
                at=at,
            )


def _get(client: TestClient, caller: Caller, **params: Any) -> Any:
    return client.get("/admin/v1/audit", params=params, headers=caller.headers)


def _day(n: int) -> datetime:
    return datetime(2020, 1, n, tzinfo=UTC)


def test_pages_are_newest_first_and_do_not_overlap(
    client: TestClient, world: World, admin: Caller
) -> None:
    org = admin.org_id
    _events(world, org, *[("EARN", 10 + n, 7, _day(n + 1)) for n in range(5)])
    _events(world, world.org("other"), ("EARN", 99, 7, _day(9)))
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "action": "EARN"}
        if cursor:
            params["cursor"] = cursor
        response = _get(client, admin, **params)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"events", "nextCursor"}
        seen.extend(e["id"] for e in body["events"])
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)
    first = _get(client, admin, limit=2, action="EARN").json()["events"]
    assert [e["customerId"] for e in first] == [14, 13]
    assert first[0] == {
        "id": first[0]["id"],
        "occurredAt": "2020-01-05T00:00:00Z",
        "actorKind": "SYSTEM",
        "actorId": None,
        "action": "EARN",
        "entityType": "EARN",
        "entityId": 1,
        "customerId": 14,
        "promotionId": 7,
        "oldStatus": None,
        "newStatus": None,
        "requestId": "seed",
        "idempotencyKey": None,
        "detail": None,
    }


def test_two_pages_exactly(client: TestClient, world: World, admin: Caller) -> None:
    _events(world, admin.org_id, *[("REVOKE_EARN", 1, 2, _day(n + 1)) for n in range(4)])
    page1 = _get(client, admin, limit=2, action="REVOKE_EARN").json()
    page2 = _get(client, admin, limit=2, action="REVOKE_EARN", cursor=page1["nextCursor"]).json()
    ids1 = [e["id"] for e in page1["events"]]
    ids2 = [e["id"] for e in page2["events"]]
    assert len(ids1) == len(ids2) == 2
    assert set(ids1).isdisjoint(ids2)
    assert min(ids1) > max(ids2)
    assert page2["nextCursor"] is None


def test_filters(client: TestClient, world: World, admin: Caller) -> None:
    org = admin.org_id
    _events(
        world,
        org,
        ("ENROL", 1, 100, _day(1)),
        ("EARN", 1, 100, _day(2)),
        ("EARN", 2, 200, _day(3)),
        ("REVOKE_EARN", 1, 200, _day(4)),
    )

    def actions(**params: Any) -> list[tuple[str, int | None, int | None]]:
        response = _get(client, admin, **params)
        assert response.status_code == 200, response.text
        return [(e["action"], e["customerId"], e["promotionId"]) for e in response.json()["events"]]

    assert actions(customerId=1) == [("REVOKE_EARN", 1, 200), ("EARN", 1, 100), ("ENROL", 1, 100)]
    assert actions(promotionId=200) == [("REVOKE_EARN", 1, 200), ("EARN", 2, 200)]
    assert actions(action="EARN") == [("EARN", 2, 200), ("EARN", 1, 100)]
    assert actions(customerId=1, promotionId=100, action="EARN") == [("EARN", 1, 100)]
    assert actions(since="2020-01-03T00:00:00Z", customerId=1) == [("REVOKE_EARN", 1, 200)]
    assert actions(since="2020-01-03T00:00:00", customerId=2) == [("EARN", 2, 200)]
    assert actions(customerId=3) == []


def test_config_changes_are_audited_with_the_request(client: TestClient, world: World) -> None:
    writer = world.till(world.org(), access="config:write")
    response = client.post(
        "/admin/v1/programs",
        json={"name": "Gold"},
        headers={**writer.headers, "X-Request-ID": "req-42", "Idempotency-Key": "k-1"},
    )
    program_id = response.json()["id"]
    [event] = _get(client, writer, action="PROGRAM_CREATED").json()["events"]
    assert event["entityId"] == program_id
    assert event["entityType"] == "PROGRAM"
    assert (event["actorKind"], event["actorId"]) == ("TILL", writer.credential_id)
    assert (event["requestId"], event["idempotencyKey"]) == ("req-42", "k-1")
    assert event["detail"] == {"name": "Gold"}


BAD_PARAMETERS: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"cursor": "abc"}, "cursor"),
    ({"cursor": "0"}, "cursor"),
    ({"customerId": "x"}, "customerId"),
    ({"since": "yesterday"}, "since"),
]


def test_bad_parameters_are_422(client: TestClient, admin: Caller) -> None:
    for params, field in BAD_PARAMETERS:
        response = _get(client, admin, **params)
        assert response.status_code == 422, params
        [error] = response.json()["errors"]
        assert error["field"] == field, params


def test_audit_needs_config_read(client: TestClient, world: World) -> None:
    till = world.till(world.org(), access="customer:write")
    response = _get(client, till)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == 4000
    assert client.get("/admin/v1/audit").status_code == 401
