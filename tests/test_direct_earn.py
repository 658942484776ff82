"""POST /v2/promotion/bulk/directEarn: EARN without bulkAction, DIRECT_ISSUE promotions only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.factories import World, bulk_body

URL = "/v2/promotion/bulk/directEarn"


def test_direct_earn_issues_under_a_dummy_enrolment(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=2)
    a, b = world.customers(org, program, 2)
    body = bulk_body(program, promotion, [a.id, 424242, a.id, a.id, b.id], action=None)
    response = client.post(URL, json=body, headers={**caller.headers, "X-Request-ID": "direct-1"})
    assert response.status_code == 200
    earns = world.rows(t.earns)
    # One dummy enrolment per customer, created with their first earn, never expiring.
    dummy_a, dummy_b = world.rows(t.enrolments)
    assert [(d.customer_id, d.status, d.expires_at) for d in (dummy_a, dummy_b)] == [
        (a.id, "ACTIVE", None),
        (b.id, "ACTIVE", None),
    ]
    assert [(e.customer_id, e.enrolment_id, e.status) for e in earns] == [
        (a.id, dummy_a.id, "ACTIVE"),
        (a.id, dummy_a.id, "ACTIVE"),
        (b.id, dummy_b.id, "ACTIVE"),
    ]

    def ok(customer: int, earn: int, dummy: int) -> dict[str, object]:
        result = {
            "entityType": "CUSTOMER",
            "entityId": customer,
            "promotionId": promotion.id,
            "programId": program,
            "promotionName": promotion.name,
            "issualId": str(dummy),
            "earnedId": str(earn),
        }
        return {"result": result, "errors": [], "warnings": []}

    limit_warning = {
        "status": False,
        "code": 8890,
        "message": "promotion not issued due to config issues or customer exhausted limits",
    }
    assert response.json() == {
        "response": [
            ok(a.id, earns[0].id, dummy_a.id),
            {
                "errors": [
                    {
                        "status": False,
                        "code": 8015,
                        "message": "Customer not found for the given identifiers",
                    }
                ],
                "warnings": [],
            },
            ok(a.id, earns[1].id, dummy_a.id),
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": a.id,
                    "promotionId": promotion.id,
                    "programId": program,
                    "promotionName": promotion.name,
                },
                "errors": [],
                "warnings": [limit_warning],
            },
            ok(b.id, earns[2].id, dummy_b.id),
        ],
        "totalCount": 5,
        "failureCount": 1,
    }
    assert [(e.action, e.entity_id) for e in world.audit(request_id="direct-1")] == [
        ("DIRECT_ENROL", dummy_a.id),
        ("EARN", earns[0].id),
        ("EARN", earns[1].id),
        ("DIRECT_ENROL", dummy_b.id),
        ("EARN", earns[2].id),
    ]


def test_bulk_earn_on_direct_issue_matches_direct_earn(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=-1)
    (c,) = world.customers(org, program)
    via_bulk = client.post(
        "/v2/promotion/bulk/enrolAndEarn",
        json=bulk_body(program, promotion, [c.id], action="EARN"),
        headers=caller.headers,
    ).json()
    # directEarn ignores a bulkAction it does not need.
    via_direct = client.post(
        URL, json=bulk_body(program, promotion, [c.id], action="ENROL"), headers=caller.headers
    ).json()
    first, second = world.rows(t.earns)
    (dummy,) = world.rows(t.enrolments)
    bulk_result, direct_result = (
        via_bulk["response"][0]["result"],
        via_direct["response"][0]["result"],
    )
    assert bulk_result["earnedId"] == str(first.id)
    assert direct_result["earnedId"] == str(second.id)
    # Both earns are issued under the customer's one dummy enrolment: the same issualId.
    assert bulk_result["issualId"] == direct_result["issualId"] == str(dummy.id)
    assert direct_result["promotionName"] == promotion.name
    assert "promotionName" not in bulk_result
