"""POST /v2/promotion/issue: one customer; enrols on ENROL_AND_ISSUE, earns on DIRECT_ISSUE."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World

URL = "/v2/promotion/issue"


def _query(identifier: str, value: Any, source: str | None = "INSTORE") -> str:
    query = f"?identifierName={identifier}&identifierValue={value}"
    return query + (f"&source={source}" if source is not None else "")


def _error(code: int, message: str) -> dict[str, Any]:
    return {
        "warnings": [],
        "errors": [{"status": False, "code": code, "message": message}],
        "sideEffects": [],
    }


def test_enrols_on_enrol_and_issue(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    response = client.post(
        URL + _query("mobile", c.mobile),
        json={"programId": program, "promotionId": str(promotion.id)},
        headers={**caller.headers, "X-Request-ID": "issue-1"},
    )
    assert response.status_code == 200, response.text
    (enrolment,) = world.rows(t.enrolments)
    assert response.json() == {
        "warnings": [],
        "errors": [],
        "sideEffects": [
            {
                "programId": program,
                "promotionId": promotion.id,
                "issualId": enrolment.id,  # an enrolment has no earnedId: no key, never null
                "type": "LOYALTY_EARNING",
            }
        ],
    }
    assert [(e.action, e.entity_id) for e in world.audit(request_id="issue-1")] == [
        ("ENROL", enrolment.id)
    ]
    # Enrolled once (the default limit): a second call warns 8890 and changes nothing.
    again = client.post(
        URL + _query("id", c.id),
        json={"programId": program, "promotionId": promotion.id},
        headers=caller.headers,
    )
    assert again.status_code == 200
    assert again.json() == {
        "warnings": [
            {
                "status": False,
                "code": 8890,
                "message": "promotion not issued due to config issues or customer exhausted limits",
            }
        ],
        "errors": [],
        "sideEffects": [],
    }
    assert len(world.rows(t.enrolments)) == 1


def test_earns_on_direct_issue(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, type="DIRECT_ISSUE")
    (c,) = world.customers(org, program)
    response = client.post(
        URL + _query("email", c.email.upper(), "all"),
        json={"programId": str(program), "promotionId": promotion.id},
        headers=caller.headers,
    )
    (earn,) = world.rows(t.earns)
    (dummy,) = world.rows(t.enrolments)  # the customer's direct-issue dummy enrolment
    assert (dummy.customer_id, dummy.promotion_id, dummy.status) == (c.id, promotion.id, "ACTIVE")
    assert earn.enrolment_id == dummy.id
    assert response.json()["sideEffects"] == [
        {
            "programId": program,
            "promotionId": promotion.id,
            "issualId": dummy.id,
            "earnedId": earn.id,
            "type": "LOYALTY",
        }
    ]


def test_failures_answer_400_in_the_issue_shape(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    generic = world.promotion(org, program, type="GENERIC")
    ended = world.promotion(org, program, end_date=utcnow() - timedelta(days=1))
    (c,) = world.customers(org, program)
    body = {"programId": program, "promotionId": promotion.id}
    cases: list[tuple[str, Any, int]] = [
        (_query("id", c.id), {"programId": program}, 8881),
        (_query("id", c.id), {"programId": 99999, "promotionId": promotion.id}, 1101),
        (_query("id", c.id), {"programId": program, "promotionId": 99999}, 8874),
        (_query("id", c.id), {"programId": program, "promotionId": generic.id}, 8902),
        (_query("id", c.id), {"programId": program, "promotionId": ended.id}, 8892),
        (_query("phone", c.mobile), body, 8013),
        ("?identifierName=id&source=INSTORE", body, 11013),
        (_query("mobile", c.mobile, "NOWHERE"), body, 8003),
        (_query("mobile", c.mobile, "WEBSITE"), body, 8015),
        (_query("id", 123456), body, 8015),
        (_query("id", "abc"), body, 8896),
        (_query("id", c.id) + "&type=USERGROUP2", body, 1212),
    ]
    for query, payload, code in cases:
        response = client.post(URL + query, json=payload, headers=caller.headers)
        assert response.status_code == 400, (query, payload)
        assert response.json()["errors"][0]["code"] == code, (query, payload)
        assert response.json()["sideEffects"] == []
    bad_json = client.post(URL + _query("id", c.id), content=b"[1,", headers=caller.headers)
    assert bad_json.json() == _error(9400, "Malformed JSON request body")
    not_found = client.post(URL + _query("id", 123456), json=body, headers=caller.headers)
    assert not_found.json() == _error(8015, "Customer not found for the given identifiers")
    assert world.rows(t.enrolments) == []
    assert world.audit(action="ENROL") == []

    reader = world.till(org, access="customer:read")
    denied = client.post(URL + _query("id", c.id), json=body, headers=reader.headers)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["code"] == 4000


def test_dry_run_issue(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    response = client.post(
        URL + _query("id", c.id) + "&dryRun=true",
        json={"programId": program, "promotionId": promotion.id},
        headers=caller.headers,
    )
    assert response.status_code == 200
    assert response.headers["x-dry-run"] == "true"
    assert isinstance(response.json()["sideEffects"][0]["issualId"], int)
    assert world.rows(t.enrolments) == []
    assert world.audit(action="ENROL") == []
