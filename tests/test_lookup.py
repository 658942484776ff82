"""GET /v2/customers/lookup/promotionData: the customer's promotions in the UI vocabulary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World, bulk_body

URL = "/v2/customers/lookup/promotionData"
BULK = "/v2/promotion/bulk/enrolAndEarn"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_timelines_speak_the_ui_vocabulary(world: World, client: TestClient) -> None:
    org = world.org()
    writer = world.till(org)
    reader = world.till(org, access="customer:read")
    program = world.program(org)
    end = (utcnow() + timedelta(days=5)).replace(microsecond=0)
    promo = world.promotion(
        org, program, enrolments_per_customer=2, end_date=end, earn_expiry="PROMOTION"
    )
    direct = world.promotion(org, program, type="DIRECT_ISSUE")
    generic = world.promotion(org, program, type="GENERIC")
    elsewhere = world.promotion(org, world.program(org, "not theirs"))
    (c,) = world.customers(org, program)

    def bulk(promotion: Any, action: str, url: str = BULK) -> dict[str, Any]:
        body = bulk_body(program, promotion, [c.id], action=action)
        result: dict[str, Any] = client.post(url, json=body, headers=writer.headers).json()
        return result["response"][0]["result"]

    first = bulk(promo, "ENROL")
    earned = bulk(promo, "EARN")
    second = bulk(promo, "ENROL")  # replaces the first; its earn stays
    direct_earn = bulk(direct, "EARN", "/v2/promotion/bulk/directEarn")
    revoked = world.earn(org, direct.id, c.id, status="REVOKED")  # a revoke is an undo: hidden

    response = client.get(
        URL + f"?identifierName=mobile&identifierValue={c.mobile}&source=INSTORE",
        headers=reader.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"] == {"limit": 10, "offset": 0, "total": 3}
    assert (body["warnings"], body["errors"]) == ([], [])
    enrolments = {r.id: r for r in world.rows(t.enrolments)}
    earns = {r.id: r for r in world.rows(t.earns)}
    assert revoked in earns

    def enrolment(issual_id: str, status: str, issued: list[dict[str, Any]]) -> dict[str, Any]:
        row = enrolments[int(issual_id)]
        return {
            "enrollmentId": int(issual_id),  # the bulk APIs' issualId
            "enrollmentDate": _iso(row.created_at),
            "enrollmentExpiryDate": None,
            "status": status,
            "issuedDetails": issued,
        }

    def issued(earned_id: str) -> dict[str, Any]:
        row = earns[int(earned_id)]
        return {
            "issualId": int(earned_id),  # the bulk APIs' earnedId
            "issualDate": _iso(row.created_at),
            "issualExpiryDate": _iso(row.expires_at),
            "status": "ACTIVE",
        }

    def promotion(p: Any, offer_type: str, timelines: list[Any]) -> dict[str, Any]:
        return {
            "promotionId": p.id,
            "promotionName": p.name,
            "programId": program,
            "identifier": p.identifier,
            "active": True,
            "startDate": None,
            "endDate": _iso(p.end_date),
            "pointsOfferType": offer_type,
            "customerPromotionTimelines": timelines,
        }

    assert earned["issualId"] == first["issualId"]
    assert body["data"] == [
        promotion(
            promo,
            "LOYALTY_EARNING",
            [
                enrolment(first["issualId"], "REPLACED", [issued(earned["earnedId"])]),
                enrolment(second["issualId"], "ACTIVE", []),
            ],
        ),
        promotion(
            direct,
            "LOYALTY",
            [
                {
                    "enrollmentId": None,
                    "enrollmentDate": None,
                    "enrollmentExpiryDate": None,
                    "status": None,
                    "issuedDetails": [issued(direct_earn["earnedId"])],
                }
            ],
        ),
        promotion(generic, "GENERIC", []),
    ]
    assert elsewhere.id not in [p["promotionId"] for p in body["data"]]
    assert issued(earned["earnedId"])["issualExpiryDate"] == _iso(end)


def test_filter_and_pagination(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    now = utcnow()
    to_enrol = world.promotion(org, program)
    enrolled = world.promotion(org, program)
    direct = world.promotion(org, program, type="DIRECT_ISSUE")
    exhausted = world.promotion(org, program, type="DIRECT_ISSUE")
    generic = world.promotion(org, program, type="GENERIC")
    ended = world.promotion(org, program, end_date=now - timedelta(days=1))
    (c,) = world.customers(org, program)
    world.enrolment(org, enrolled.id, c.id)
    world.earn(org, exhausted.id, c.id)
    # A revoked enrolment neither enrols the customer nor counts against the limit.
    world.enrolment(org, to_enrol.id, c.id, status="REVOKED")

    def ids(status: str, extra: str = "") -> list[int]:
        response = client.get(
            URL + f"?identifierName=id&identifierValue={c.id}"
            f"&promotionStatusForCustomer={status}{extra}",
            headers=caller.headers,
        )
        assert response.status_code == 200, response.text
        return [p["promotionId"] for p in response.json()["data"]]

    assert ids("AVAILABLE_TO_ENROL") == [to_enrol.id]
    assert ids("AVAILABLE_TO_EARN") == [enrolled.id, direct.id]
    assert ids("available_to_redeem") == [exhausted.id, generic.id]
    assert ids("EXPIRED") == [ended.id]
    page = client.get(
        URL + f"?identifierName=id&identifierValue={c.id}&limit=2&offset=3",
        headers=caller.headers,
    ).json()
    assert page["pagination"] == {"limit": 2, "offset": 3, "total": 6}
    assert [p["promotionId"] for p in page["data"]] == [exhausted.id, generic.id]


def test_overdue_records_show_as_expired(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    world.enrolment(org, promotion.id, c.id, expires_at=utcnow() - timedelta(hours=1))
    body = client.get(
        URL + f"?identifierName=id&identifierValue={c.id}", headers=caller.headers
    ).json()
    (timeline,) = body["data"][0]["customerPromotionTimelines"]
    assert timeline["status"] == "EXPIRED"
    assert world.rows(t.enrolments)[0].status == "ACTIVE"  # a read changes nothing


def test_errors(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    (c,) = world.customers(org, program, sources=("INSTORE",))
    outsider_org = world.org("other")
    (foreign,) = world.customers(outsider_org, world.program(outsider_org))
    cases = [
        ("?identifierValue=1", 8013),
        (f"?identifierName=phone&identifierValue={c.mobile}", 8013),
        ("?identifierName=externalId&identifierValue=nobody", 8015),
        ("?identifierName=id&identifierValue=", 11013),
        (f"?identifierName=id&identifierValue={c.id}&source=MOON", 8003),
        (f"?identifierName=mobile&identifierValue={c.mobile}&source=WEBSITE", 8015),
        (f"?identifierName=id&identifierValue={foreign.id}", 8015),
        ("?identifierName=email&identifierValue=nobody@example.com", 8015),
        ("?identifierName=id&identifierValue=abc", 8015),
        (f"?identifierName=id&identifierValue={c.id}&limit=101", 9002),
        (f"?identifierName=id&identifierValue={c.id}&offset=-1", 9002),
        (f"?identifierName=id&identifierValue={c.id}&promotionStatusForCustomer=NOPE", 9002),
    ]
    for query, code in cases:
        response = client.get(URL + query, headers=caller.headers)
        assert response.status_code == 400, query
        body = response.json()
        assert body["data"] == [], query
        assert body["warnings"] == [], query
        assert body["errors"][0]["code"] == code, query
        assert body["errors"][0]["status"] is False
    assert client.get(URL + f"?identifierName=id&identifierValue={c.id}").status_code == 401
    nobody = world.till(org, access="config:write")
    assert (
        client.get(
            URL + f"?identifierName=id&identifierValue={c.id}", headers=nobody.headers
        ).status_code
        == 403
    )
    ok = client.get(
        URL + f"?identifierName=email&identifierValue={c.email.upper()}&source=ALL&limit=0",
        headers=caller.headers,
    )
    assert ok.status_code == 200
    assert ok.json()["pagination"]["total"] == 0
