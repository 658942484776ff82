"""POST /v2/promotion/bulk/enrolAndEarn: ENROL and EARN, as contract sections 3 and 3.2 say."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.factories import World, bulk_body

URL = "/v2/promotion/bulk/enrolAndEarn"


def _setup(world: World, **promo: Any) -> tuple[Any, int, Any]:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, **promo)
    return caller, program, promotion


def test_enrol_replays_the_documented_shape(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world)
    people = world.customers(caller.org_id, program, 4)
    response = client.post(
        URL,
        json=bulk_body(program, promotion, [c.id for c in people]),
        headers={**caller.headers, "X-Request-ID": "req-enrol-1"},
    )
    assert response.status_code == 200, response.text
    rows = world.rows(t.enrolments, promotion_id=promotion.id)
    assert [r.status for r in rows] == ["ACTIVE"] * 4
    assert response.json() == {
        "response": [
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": c.id,
                    "promotionId": promotion.id,
                    "programId": program,
                    "issualId": str(row.id),
                },
                "errors": [],
                "warnings": [],
            }
            for c, row in zip(people, rows, strict=True)
        ],
        "totalCount": 4,
        "failureCount": 0,
    }
    events = world.audit(request_id="req-enrol-1")
    assert [(e.action, e.entity_type, e.entity_id, e.new_status) for e in events] == [
        ("ENROL", "ENROLMENT", r.id, "ACTIVE") for r in rows
    ]


def _post(client: TestClient, caller: Any, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers={**caller.headers, **headers})


def _state(world: World) -> tuple[list[Any], list[Any], list[Any]]:
    """Everything a request could change."""
    return world.rows(t.enrolments), world.rows(t.earns), world.audit()


def test_promo_identifier_and_numeric_strings(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world)
    (c,) = world.customers(caller.org_id, program)
    body = bulk_body(str(program), promotion, [c.id], key="promoIdentifier")
    response = _post(client, caller, body)
    result = response.json()["response"][0]["result"]
    assert "promotionId" not in result
    assert result["promoIdentifier"] == promotion.identifier
    assert result["programId"] == program

    body = bulk_body(str(program), str(promotion.id), [c.id], action="EARN")
    body["promotionDetails"]["promoIdentifier"] = promotion.identifier  # both keys, agreeing
    result = _post(client, caller, body).json()["response"][0]["result"]
    (enrolment,) = world.rows(t.enrolments)
    (earn,) = world.rows(t.earns)
    assert result == {
        "entityType": "CUSTOMER",
        "entityId": c.id,
        "promotionId": promotion.id,
        "promoIdentifier": promotion.identifier,
        "programId": program,
        "issualId": str(enrolment.id),
        "earnedId": str(earn.id),
    }
    assert earn.enrolment_id == enrolment.id


def test_earn_needs_an_active_enrolment(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world)
    enrolled, revoked, never = world.customers(caller.org_id, program, 3)
    world.enrolment(caller.org_id, promotion.id, enrolled.id)
    world.enrolment(caller.org_id, promotion.id, revoked.id, status="REVOKED")
    response = _post(
        client,
        caller,
        bulk_body(program, promotion, [enrolled.id, revoked.id, never.id], action="EARN"),
    )
    assert response.status_code == 200
    body = response.json()
    not_enrolled = {
        "errors": [
            {"status": False, "code": 9102, "message": "Customer is not enrolled in the promotion"}
        ],
        "warnings": [],
    }
    assert body["response"][1:] == [not_enrolled, not_enrolled]
    assert body["totalCount"] == 3
    assert body["failureCount"] == 2
    assert [e.customer_id for e in world.rows(t.earns)] == [enrolled.id]


def test_earn_limit_warns_8890_and_changes_nothing(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world, earns_per_customer=1)
    (c,) = world.customers(caller.org_id, program)
    enrolment = world.enrolment(caller.org_id, promotion.id, c.id)
    first = _post(client, caller, bulk_body(program, promotion, [c.id], action="EARN"))
    assert first.json()["response"][0]["result"]["earnedId"]
    before = _state(world)
    second = _post(client, caller, bulk_body(program, promotion, [c.id], action="EARN"))
    assert second.status_code == 200
    assert second.json() == {
        "response": [
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": c.id,
                    "promotionId": promotion.id,
                    "programId": program,
                    "issualId": str(enrolment),
                },
                "errors": [],
                "warnings": [
                    {
                        "status": False,
                        "code": 8890,
                        "message": "promotion not issued due to config issues or customer "
                        "exhausted limits",
                    }
                ],
            }
        ],
        "totalCount": 1,
        "failureCount": 0,
    }
    assert _state(world) == before


def test_revoked_records_do_not_count_but_expired_and_replaced_do(
    world: World, client: TestClient
) -> None:
    caller, program, promotion = _setup(world, enrolments_per_customer=1, earns_per_customer=1)
    fresh, expired, replaced = world.customers(caller.org_id, program, 3)
    world.enrolment(caller.org_id, promotion.id, fresh.id, status="REVOKED")
    world.enrolment(caller.org_id, promotion.id, expired.id, status="EXPIRED")
    world.enrolment(caller.org_id, promotion.id, replaced.id, status="REPLACED")
    body = _post(
        client, caller, bulk_body(program, promotion, [fresh.id, expired.id, replaced.id])
    ).json()
    assert "issualId" in body["response"][0]["result"]
    assert [r["warnings"][0]["code"] for r in body["response"][1:]] == [8890, 8890]
    assert [r.customer_id for r in world.rows(t.enrolments, status="ACTIVE")] == [fresh.id]

    # Earn limit: a revoked earn frees the slot.
    world.earn(caller.org_id, promotion.id, fresh.id, status="REVOKED")
    earned = _post(client, caller, bulk_body(program, promotion, [fresh.id], action="EARN"))
    assert "earnedId" in earned.json()["response"][0]["result"]


def test_re_enrol_replaces_and_keeps_earns(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world, enrolments_per_customer=2)
    (c,) = world.customers(caller.org_id, program)
    old = world.enrolment(caller.org_id, promotion.id, c.id)
    earn = world.earn(caller.org_id, promotion.id, c.id, enrolment_id=old)
    response = _post(
        client, caller, bulk_body(program, promotion, [c.id]), **{"X-Request-ID": "re-enrol"}
    )
    new_id = int(response.json()["response"][0]["result"]["issualId"])
    assert new_id != old
    assert world.status_of(t.enrolments, old) == "REPLACED"
    assert world.status_of(t.enrolments, new_id) == "ACTIVE"
    assert world.status_of(t.earns, earn) == "ACTIVE"
    (old_row,) = world.rows(t.enrolments, id=old)
    assert old_row.ended_request_id == "re-enrol"
    assert old_row.ended_by == f"TILL:{caller.credential_id}"
    assert [
        (e.action, e.entity_id, e.old_status, e.new_status)
        for e in world.audit(promotion_id=promotion.id)
    ] == [
        ("REPLACE", old, "ACTIVE", "REPLACED"),
        ("ENROL", new_id, None, "ACTIVE"),
    ]
    # A third enrolment is over the limit of two: warning, nothing changes.
    third = _post(client, caller, bulk_body(program, promotion, [c.id]))
    assert third.json()["response"][0]["warnings"][0]["code"] == 8890
    assert world.status_of(t.enrolments, new_id) == "ACTIVE"


def test_same_customer_twice_in_one_batch(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world, enrolments_per_customer=-1, earns_per_customer=2)
    (c,) = world.customers(caller.org_id, program)
    enrolled = _post(client, caller, bulk_body(program, promotion, [c.id, c.id])).json()
    first, second = (int(r["result"]["issualId"]) for r in enrolled["response"])
    assert first < second
    assert world.status_of(t.enrolments, first) == "REPLACED"
    assert world.status_of(t.enrolments, second) == "ACTIVE"
    assert [(e.action, e.entity_id) for e in world.audit(promotion_id=promotion.id)] == [
        ("ENROL", first),
        ("REPLACE", first),
        ("ENROL", second),
    ]

    earned = _post(
        client, caller, bulk_body(program, promotion, [c.id, c.id, c.id], action="EARN")
    ).json()
    results = [r.get("result", {}) for r in earned["response"]]
    assert [r.get("issualId") for r in results] == [str(second)] * 3
    assert [bool(r.get("earnedId")) for r in results] == [True, True, False]
    assert [r["warnings"] for r in earned["response"]][2][0]["code"] == 8890
    assert [e.enrolment_id for e in world.rows(t.earns)] == [second, second]
    assert earned["failureCount"] == 0


def test_unknown_customers_in_the_middle(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world)
    a, b = world.customers(caller.org_id, program, 2)
    outsider = world.customers(caller.org_id, None)[0]  # not a member of the program
    other_org = world.org("other")
    foreign = world.customers(other_org, world.program(other_org))[0]
    values = [a.id, 999999, outsider.id, foreign.id, b.id]
    body = _post(client, caller, bulk_body(program, promotion, values)).json()
    not_found = {
        "errors": [
            {
                "status": False,
                "code": 8015,
                "message": "Customer not found for the given identifiers",
            }
        ],
        "warnings": [],
    }
    assert body["response"][1:4] == [not_found] * 3
    assert [body["response"][i]["result"]["entityId"] for i in (0, 4)] == [a.id, b.id]
    assert (body["totalCount"], body["failureCount"]) == (5, 3)
    assert [r.customer_id for r in world.rows(t.enrolments)] == [a.id, b.id]


def test_source_rules_for_mobile_and_email(world: World, client: TestClient) -> None:
    caller, program, promotion = _setup(world, enrolments_per_customer=-1)
    (c,) = world.customers(caller.org_id, program, sources=("INSTORE",))

    def codes(identifier: str, value: str, source: str | None) -> list[Any]:
        body = bulk_body(program, promotion, [value], identifier=identifier, source=source)
        entry = _post(client, caller, body).json()["response"][0]
        return [e["code"] for e in entry["errors"]]

    assert codes("mobile", c.mobile, "WEBSITE") == [8015]
    assert codes("email", c.email, "line") == [8015]
    assert codes("mobile", c.mobile, "instore") == []
    assert codes("email", c.email.upper(), "ALL") == []
    assert codes("mobile", c.mobile, None) == []
    assert codes("id", str(c.id), "WEBSITE") == []  # source only narrows mobile/email lookups
    assert codes("mobile", c.mobile, "NOWHERE") == [8003]
    assert codes("id", "12ab", "INSTORE") == [8896]
    assert codes("id", "", "INSTORE") == [11013]
    assert len(world.rows(t.enrolments)) == 4  # one per success; each replaced the last
