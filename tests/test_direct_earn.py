"""POST /v2/promotion/bulk/directEarn: EARN without bulkAction, DIRECT_ISSUE promotions only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.factories import World, bulk_body

URL = "/v2/promotion/bulk/directEarn"


def test_direct_earn_issues_without_enrolment(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=2)
    a, b = world.customers(org, program, 2)
    body = bulk_body(program, promotion, [a.id, 424242, a.id, a.id, b.id], action=None)
    response = client.post(URL, json=body, headers={**caller.headers, "X-Request-ID": "direct-1"})
    assert response.status_code == 200
    earns = world.rows(t.earns)
    assert [(e.customer_id, e.enrolment_id, e.status) for e in earns] == [
        (a.id, None, "ACTIVE"),
        (a.id, None, "ACTIVE"),
        (b.id, None, "ACTIVE"),
    ]

    def ok(customer: int, earn: int) -> dict[str, object]:
        result = {
            "entityType": "CUSTOMER",
            "entityId": customer,
            "promotionId": promotion.id,
            "programId": program,
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
            ok(a.id, earns[0].id),
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
            ok(a.id, earns[1].id),
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": a.id,
                    "promotionId": promotion.id,
                    "programId": program,
                },
                "errors": [],
                "warnings": [limit_warning],
            },
            ok(b.id, earns[2].id),
        ],
        "totalCount": 5,
        "failureCount": 1,
    }
    assert [(e.action, e.entity_id) for e in world.audit(request_id="direct-1")] == [
        ("EARN", e.id) for e in earns
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
    assert via_bulk["response"][0]["result"]["earnedId"] == str(first.id)
    assert via_direct["response"][0]["result"]["earnedId"] == str(second.id)
    assert "issualId" not in via_direct["response"][0]["result"]
