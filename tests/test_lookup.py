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
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


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
    assert set(body) == {"pageDetails", "customerId", "promotions", "warnings"}
    assert body["pageDetails"] == {
        "pageNumber": 0,
        "pageSize": 10,
        "totalEntries": 3,
        "pageCount": 1,
    }
    assert (body["customerId"], body["warnings"]) == (c.id, [])
    enrolments = {r.id: r for r in world.rows(t.enrolments)}
    earns = {r.id: r for r in world.rows(t.earns)}
    assert revoked in earns
    # enrollEventLogId / issualEventLogId: the audit event that created the record.
    created = {
        (e.entity_type, e.entity_id): e.id
        for action in ("ENROL", "DIRECT_ENROL", "EARN")
        for e in world.audit(action=action, customer_id=c.id)
    }

    def enrolment(issual_id: str, status: str, issued: list[dict[str, Any]]) -> dict[str, Any]:
        row = enrolments[int(issual_id)]
        return {
            "enrollmentId": int(issual_id),  # the bulk APIs' issualId
            "enrollmentDate": _iso(row.created_at),
            "enrollmentExpiryDate": None,
            "enrollEventLogId": created[("ENROLMENT", int(issual_id))],
            "status": status,
            "issuedDetails": issued,
        }

    def issued(earned_id: str) -> dict[str, Any]:
        row = earns[int(earned_id)]
        return {
            "issualId": int(earned_id),  # the bulk APIs' earnedId
            "issualDate": _iso(row.created_at),
            "issualExpiryDate": _iso(row.expires_at),
            "issualEventLogId": created[("EARN", int(earned_id))],
            "redeemedCount": 0,
            "status": "ACTIVE",
        }

    def restriction(kpi: str, limit: int, used: int) -> dict[str, Any]:
        return {
            "kpi": kpi,
            "maxLimit": limit,
            "currentCustomerUsage": used,
            "limitOn": "CUSTOMER",
            "type": "NON_PERIOD_BASED",
        }

    def promotion(
        p: Any,
        offer_type: str,
        timelines: list[Any] | None,
        *,
        earns_used: int,
        issual: list[Any],
        earn: list[Any],
    ) -> dict[str, Any]:
        shaped = {
            "promotionId": p.id,
            "promotionName": p.name,
            "programId": program,
            "identifier": p.identifier,
            "description": None,
            "active": True,
            "eventName": None,
            "startDate": _iso(p.created_at),  # open start: since the promotion was created
            "endDate": _iso(p.end_date),
            "promotionMetadata": [],
            "limits": {
                "maxPointsPerEvent": 0,
                "pointsPerCustomer": 0,
                "numberOFTimesPerCustomer": p.earns_per_customer,
                "totalPointsInPromotion": 0,
            },
            "customerUsage": {
                "currentPointsPerCustomer": 0,
                "currentNumberOfTimesPerCustomer": earns_used,
                "currentTotalPointsInPromotion": 0,
            },
            "pointsOfferType": offer_type,
            "promotionRestriction": {
                "issualRestrictions": issual,
                "earnRestrictions": earn,
                "redemptionRestrictions": [],
            },
        }
        if timelines is not None:
            shaped["customerPromotionTimelines"] = timelines
        return shaped

    assert earned["issualId"] == first["issualId"]
    # Newest first; GENERIC carries no timelines.
    assert body["promotions"] == [
        promotion(generic, "GENERIC", None, earns_used=0, issual=[], earn=[]),
        promotion(
            direct,
            "LOYALTY",
            # A direct earn's timeline is its dummy enrolment: the issualId the bulk API gave.
            [enrolment(direct_earn["issualId"], "ACTIVE", [issued(direct_earn["earnedId"])])],
            earns_used=1,
            issual=[],
            earn=[restriction("NUMBER_OF_EARNS", 1, 1)],
        ),
        promotion(
            promo,
            "LOYALTY_EARNING",
            [
                enrolment(first["issualId"], "REPLACED", [issued(earned["earnedId"])]),
                enrolment(second["issualId"], "ACTIVE", []),
            ],
            earns_used=1,
            issual=[restriction("NUMBER_OF_ISSUALS", 2, 2)],
            earn=[restriction("NUMBER_OF_EARNS", 1, 1)],
        ),
    ]
    assert elsewhere.id not in [p["promotionId"] for p in body["promotions"]]
    assert issued(earned["earnedId"])["issualExpiryDate"] == _iso(end)
    assert len(set(created.values())) == 5  # 2 ENROL, 1 DIRECT_ENROL, 2 EARN: distinct events


def test_records_created_without_an_audit_event_have_null_event_log_ids(
    world: World, client: TestClient
) -> None:
    """A record with no creating event (e.g. a dummy enrolment added by a migration) says null."""
    org = world.org()
    reader = world.till(org, access="customer:read")
    program = world.program(org)
    promo = world.promotion(org, program)
    (c,) = world.customers(org, program)
    enrolment = world.enrolment(org, promo.id, c.id)
    earn = world.earn(org, promo.id, c.id, enrolment_id=enrolment)
    response = client.get(
        URL + f"?identifierName=id&identifierValue={c.id}", headers=reader.headers
    )
    assert response.status_code == 200, response.text
    (timeline,) = response.json()["promotions"][0]["customerPromotionTimelines"]
    assert (timeline["enrollmentId"], timeline["enrollEventLogId"]) == (enrolment, None)
    (detail,) = timeline["issuedDetails"]
    assert (detail["issualId"], detail["issualEventLogId"]) == (earn, None)


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
        return [p["promotionId"] for p in response.json()["promotions"]]

    assert ids("AVAILABLE_TO_ENROL") == [to_enrol.id]
    assert ids("AVAILABLE_TO_EARN") == [direct.id, enrolled.id]
    assert ids("available_to_redeem") == [generic.id, exhausted.id]
    assert ids("EXPIRED") == [ended.id]
    page = client.get(
        URL + f"?identifierName=id&identifierValue={c.id}&limit=2&offset=2",
        headers=caller.headers,
    ).json()
    assert page["pageDetails"] == {
        "pageNumber": 1,
        "pageSize": 2,
        "totalEntries": 6,
        "pageCount": 3,
    }
    assert [p["promotionId"] for p in page["promotions"]] == [exhausted.id, direct.id]


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
    (timeline,) = body["promotions"][0]["customerPromotionTimelines"]
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
        assert set(body) == {"errors", "warnings"}, query
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
    assert ok.json()["pageDetails"] == {
        "pageNumber": 0,
        "pageSize": 0,
        "totalEntries": 0,
        "pageCount": 0,
    }
    assert ok.json()["promotions"] == []


def test_type_program_and_usage_filters(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program, other = world.program(org), world.program(org, "other")
    enrol = world.promotion(org, program, enrolments_per_customer=-1, earns_per_customer=3)
    direct = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=-1)
    generic = world.promotion(org, other, type="GENERIC")
    (c,) = world.customers(org, program)
    # The customer is a member of both programs.
    with world.uow.write() as conn:
        conn.execute(
            t.program_members.insert().values(
                program_id=other, customer_id=c.id, joined_at=utcnow()
            )
        )
    world.earn(org, direct.id, c.id)
    world.earn(org, direct.id, c.id, status="REVOKED")  # does not count

    def get(extra: str) -> list[dict[str, Any]]:
        response = client.get(
            URL + f"?identifierName=id&identifierValue={c.id}{extra}", headers=caller.headers
        )
        assert response.status_code == 200, response.text
        promotions: list[dict[str, Any]] = response.json()["promotions"]
        return promotions

    def ids(extra: str) -> list[int]:
        return [p["promotionId"] for p in get(extra)]

    assert ids("") == [generic.id, direct.id, enrol.id]
    assert ids("&promotionType=DIRECT_ISSUE") == [direct.id]
    assert ids("&promotionType=LOYALTY_EARNING,generic") == [generic.id, enrol.id]
    assert ids(f"&programs={program}") == [direct.id, enrol.id]
    assert ids(f"&programs={other},{program}&promotionType=LOYALTY") == [direct.id]
    assert ids("&programs=424242") == []
    # sourceType: every promoledger promotion is created through the config API.
    assert ids("&sourceType=API") == ids("&sourceType=api") == [generic.id, direct.id, enrol.id]
    assert ids(f"&sourceType=API&programs={program}") == [direct.id, enrol.id]
    assert ids("&sourceType=UI") == ids("&sourceType=CAMPAIGN") == []
    none = client.get(
        URL + f"?identifierName=id&identifierValue={c.id}&sourceType=CAMPAIGN",
        headers=caller.headers,
    ).json()
    assert none["customerId"] == c.id
    assert none["pageDetails"]["totalEntries"] == 0
    bad = client.get(
        URL + f"?identifierName=id&identifierValue={c.id}&sourceType=POS", headers=caller.headers
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == 9002
    assert "sourceType must be one of UI, API, CAMPAIGN" in bad.json()["errors"][0]["message"]

    # Unlimited restrictions are listed only with fetchAllUsage=true.
    shown = {p["promotionId"]: p for p in get("")}
    assert shown[direct.id]["promotionRestriction"]["earnRestrictions"] == []
    assert shown[direct.id]["customerUsage"]["currentNumberOfTimesPerCustomer"] == 1
    assert shown[direct.id]["limits"]["numberOFTimesPerCustomer"] == -1
    assert shown[enrol.id]["promotionRestriction"] == {
        "issualRestrictions": [],
        "earnRestrictions": [
            {
                "kpi": "NUMBER_OF_EARNS",
                "maxLimit": 3,
                "currentCustomerUsage": 0,
                "limitOn": "CUSTOMER",
                "type": "NON_PERIOD_BASED",
            }
        ],
        "redemptionRestrictions": [],
    }
    every = {p["promotionId"]: p for p in get("&fetchAllUsage=true")}
    assert every[direct.id]["promotionRestriction"]["earnRestrictions"] == [
        {
            "kpi": "NUMBER_OF_EARNS",
            "maxLimit": -1,
            "currentCustomerUsage": 1,
            "limitOn": "CUSTOMER",
            "type": "NON_PERIOD_BASED",
        }
    ]
    assert [
        r["maxLimit"] for r in every[enrol.id]["promotionRestriction"]["issualRestrictions"]
    ] == [-1]
    assert "customerPromotionTimelines" not in every[generic.id]

    for bad in ("&promotionType=NOPE", "&programs=abc", "&fetchAllUsage=maybe"):
        response = client.get(
            URL + f"?identifierName=id&identifierValue={c.id}{bad}", headers=caller.headers
        )
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["code"] == 9002, bad


def test_the_v21_variant_answers_for_the_callers_own_org(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    query = f"?identifierName=externalId&identifierValue={c.external_id}"
    v2 = client.get(URL + query, headers=caller.headers)
    for scope in (None, "SELF", "self"):
        headers = {**caller.headers, **({"DATA-SCOPE": scope} if scope else {})}
        v21 = client.get("/v2.1/customers/lookup/promotionData" + query, headers=headers)
        assert v21.status_code == 200, (scope, v21.text)
        assert v21.json() == v2.json()
        assert v21.json()["promotions"][0]["promotionId"] == promotion.id
    for scope in ("OTHER", "ALL"):
        refused = client.get(
            "/v2.1/customers/lookup/promotionData" + query,
            headers={**caller.headers, "DATA-SCOPE": scope},
        )
        assert refused.status_code == 400
        body = refused.json()
        assert body["warnings"] == []
        (error,) = body["errors"]
        assert error["code"] == 9002
        assert "DATA-SCOPE" in error["message"]
    assert client.get("/v2.1/customers/lookup/promotionData" + query).status_code == 401
