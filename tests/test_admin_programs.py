"""/admin/v1 programs and promotions: shapes, canonical types, rules, tenancy, audit."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.factories import Caller, World


def _program(client: TestClient, caller: Caller, name: str = "Rewards") -> int:
    response = client.post("/admin/v1/programs", json={"name": name}, headers=caller.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _promotion(client: TestClient, caller: Caller, program_id: int, **body: Any) -> Any:
    return client.post(
        f"/admin/v1/programs/{program_id}/promotions",
        json={"name": "Welcome", "type": "ENROL_AND_ISSUE", **body},
        headers=caller.headers,
    )


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"}
    assert len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    assert set(error) == {"code", "message", "field"}
    return error


# --- programs ---------------------------------------------------------------------------------
def test_program_create_get_and_list(client: TestClient, world: World, admin: Caller) -> None:
    created = client.post("/admin/v1/programs", json={"name": " Gold "}, headers=admin.headers)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "createdAt", "promotions"}
    assert body.pop("promotions") == []  # the create answer lists promotions made with it
    assert body["name"] == "Gold"
    assert body["createdAt"].endswith("Z")

    fetched = client.get(f"/admin/v1/programs/{body['id']}", headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body

    other_org = world.org("other")
    world.program(other_org, "not mine")
    listed = client.get("/admin/v1/programs", headers=admin.headers)
    assert listed.status_code == 200
    assert listed.json() == {"programs": [body]}

    [event] = world.audit(action="PROGRAM_CREATED", entity_id=body["id"])
    assert event.org_id == admin.org_id
    assert event.actor_kind == "TILL"
    assert event.actor_id == admin.credential_id


def test_program_created_with_its_promotions_in_one_request(
    client: TestClient, world: World, admin: Caller
) -> None:
    body = {
        "name": "Rewards",
        "promotions": [
            {"name": "Welcome", "type": "LOYALTY_EARNING", "identifier": "welcome"},
            {"name": "Instant", "type": "DIRECT_EARN", "limits": {"earnsPerCustomer": -1}},
        ],
    }
    created = client.post("/admin/v1/programs", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    program = created.json()
    welcome, instant = program["promotions"]
    assert (welcome["type"], welcome["identifier"]) == ("ENROL_AND_ISSUE", "welcome")
    assert (instant["type"], instant["limits"]["earnsPerCustomer"]) == ("DIRECT_ISSUE", -1)
    assert {welcome["programId"], instant["programId"]} == {program["id"]}
    listed = client.get(f"/admin/v1/programs/{program['id']}/promotions", headers=admin.headers)
    assert [p["id"] for p in listed.json()["promotions"]] == [welcome["id"], instant["id"]]
    assert len(world.audit(action="PROMOTION_CREATED")) == 2


def test_program_with_a_bad_promotion_writes_nothing(
    client: TestClient, world: World, admin: Caller
) -> None:
    world.program(admin.org_id, "existing")
    body = {
        "name": "Rewards",
        "promotions": [
            {"name": "Fine", "type": "DIRECT_ISSUE", "identifier": "dup"},
            {"name": "Clash", "type": "DIRECT_ISSUE", "identifier": "dup"},
        ],
    }
    response = client.post("/admin/v1/programs", json=body, headers=admin.headers)
    assert response.status_code == 409
    assert "dup" in response.json()["errors"][0]["message"]
    assert [r.name for r in world.rows(t.programs)] == ["existing"]
    assert world.rows(t.promotions) == []
    assert world.audit(action="PROGRAM_CREATED") == []


BAD_PROGRAM_NAMES: list[dict[str, Any]] = [{}, {"name": ""}, {"name": "x" * 201}, {"name": 5}]


def test_program_create_rejects_bad_names(client: TestClient, world: World, admin: Caller) -> None:
    for body in BAD_PROGRAM_NAMES:
        response = client.post("/admin/v1/programs", json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert _error(response)["field"] == "name", body
    assert world.rows(t.programs) == []


def test_malformed_json_is_400(client: TestClient, world: World, admin: Caller) -> None:
    response = client.post(
        "/admin/v1/programs",
        content=b'{"name": ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert _error(response)["code"] == 9400
    assert world.rows(t.programs) == []


def test_missing_and_foreign_programs_are_the_same_404(
    client: TestClient, world: World, admin: Caller
) -> None:
    foreign = world.program(world.org("other"))
    answers = [
        client.get(f"/admin/v1/programs/{pid}", headers=admin.headers)
        for pid in (foreign, foreign + 1000)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json()
    assert _error(answers[0])["code"] == 9404

    promo = _promotion(client, admin, foreign)
    assert promo.status_code == 404
    assert world.rows(t.promotions) == []
    listed = client.get(f"/admin/v1/programs/{foreign}/promotions", headers=admin.headers)
    assert listed.status_code == 404


def test_authentication_and_access_groups(client: TestClient, world: World) -> None:
    org = world.org()
    reader = world.till(org, access="customer:write,config:read")
    nobody = world.till(org, access="customer:write")

    unauthenticated = client.post("/admin/v1/programs", json={"name": "x"})
    assert unauthenticated.status_code == 401
    assert _error(unauthenticated)["code"] == 401

    denied = client.post("/admin/v1/programs", json={"name": "x"}, headers=reader.headers)
    assert denied.status_code == 403
    assert _error(denied) == {
        "code": 4000,
        "message": "Not authorized. Access is denied!",
        "field": None,
    }
    assert world.rows(t.programs) == []
    assert len(world.audit(action="ACCESS_DENIED")) == 1

    assert client.get("/admin/v1/programs", headers=reader.headers).status_code == 200
    assert client.get("/admin/v1/programs", headers=nobody.headers).status_code == 403


# --- promotions -------------------------------------------------------------------------------
def test_promotion_create_returns_the_stored_promotion(
    client: TestClient, world: World, admin: Caller
) -> None:
    program_id = _program(client, admin)
    response = _promotion(
        client,
        admin,
        program_id,
        identifier="welcome-2026",
        active=False,
        startDate="2026-01-01T00:00:00+05:30",
        endDate="2026-03-01",
        limits={"enrolmentsPerCustomer": -1, "earnsPerCustomer": 100},
        expiry={"enrolment": {"rule": "PROMOTION"}, "earn": {"rule": "CUSTOM", "days": 30}},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "programId": program_id,
        "identifier": "welcome-2026",
        "name": "Welcome",
        "type": "ENROL_AND_ISSUE",
        "active": False,
        "startDate": "2025-12-31T18:30:00Z",
        "endDate": "2026-03-01T00:00:00Z",
        "limits": {"enrolmentsPerCustomer": -1, "earnsPerCustomer": 100},
        "expiry": {
            "enrolment": {"rule": "PROMOTION", "days": None},
            "earn": {"rule": "CUSTOM", "days": 30},
        },
        "createdAt": body["createdAt"],
        "updatedAt": body["createdAt"],
    }
    assert client.get(f"/admin/v1/promotions/{body['id']}", headers=admin.headers).json() == body
    listed = client.get(f"/admin/v1/programs/{program_id}/promotions", headers=admin.headers)
    assert listed.json() == {"promotions": [body]}

    [row] = world.rows(t.promotions, id=body["id"])
    assert (row.earn_expiry, row.earn_expiry_days, row.enrolment_expiry) == (
        "CUSTOM",
        30,
        "PROMOTION",
    )
    [event] = world.audit(action="PROMOTION_CREATED")
    assert (event.entity_id, event.promotion_id) == (body["id"], body["id"])


def test_promotion_defaults(client: TestClient, admin: Caller) -> None:
    program_id = _program(client, admin)
    body = _promotion(client, admin, program_id, type="DIRECT_ISSUE").json()
    uuid.UUID(body["identifier"])  # a UUID unless given
    assert body["active"] is True
    assert (body["startDate"], body["endDate"]) == (None, None)
    assert body["limits"] == {"enrolmentsPerCustomer": 1, "earnsPerCustomer": 1}
    assert body["expiry"] == {"enrolment": None, "earn": None}


TYPE_ALIASES = [
    ("ENROL_AND_ISSUE", "ENROL_AND_ISSUE"),
    ("LOYALTY_EARNING", "ENROL_AND_ISSUE"),
    ("ISSUE_AND_EARN", "ENROL_AND_ISSUE"),
    ("DIRECT_ISSUE", "DIRECT_ISSUE"),
    ("LOYALTY", "DIRECT_ISSUE"),
    ("DIRECT_EARN", "DIRECT_ISSUE"),
    ("GENERIC", "GENERIC"),
    ("loyalty_earning", "ENROL_AND_ISSUE"),
]


def test_type_aliases_are_stored_canonical(client: TestClient, world: World, admin: Caller) -> None:
    program_id = _program(client, admin)
    for given, stored in TYPE_ALIASES:
        response = _promotion(client, admin, program_id, type=given)
        assert response.status_code == 201, given
        assert response.json()["type"] == stored, given
        [row] = world.rows(t.promotions, id=response.json()["id"])
        assert row.type == stored
    assert len(world.rows(t.promotions)) == len(TYPE_ALIASES)


BAD_LIMITS: list[tuple[dict[str, Any], str]] = [
    ({"enrolmentsPerCustomer": 0}, "limits.enrolmentsPerCustomer"),
    ({"enrolmentsPerCustomer": -2}, "limits.enrolmentsPerCustomer"),
    ({"earnsPerCustomer": 101}, "limits.earnsPerCustomer"),
    ({"earnsPerCustomer": "5"}, "limits.earnsPerCustomer"),
    ({"earnsPerCustomer": True}, "limits.earnsPerCustomer"),
    ({"earnsPerCustomer": 1.5}, "limits.earnsPerCustomer"),
    ({"earnPerCustomer": 2}, "limits.earnPerCustomer"),
]


def test_limit_validation(client: TestClient, world: World, admin: Caller) -> None:
    program_id = _program(client, admin)
    for limits, field in BAD_LIMITS:
        response = _promotion(client, admin, program_id, limits=limits)
        assert response.status_code == 422, (limits, response.text)
        assert _error(response)["field"] == field, limits
    assert world.rows(t.promotions) == []
    for limits in ({"enrolmentsPerCustomer": -1}, {"earnsPerCustomer": 100}):
        assert _promotion(client, admin, program_id, limits=limits).status_code == 201


BAD_PROMOTIONS: list[tuple[dict[str, Any], str]] = [
    ({"type": "POINTS"}, "type"),
    ({"startDate": "2026-02-01", "endDate": "2026-01-31"}, "endDate"),
    ({"startDate": "not a date"}, "startDate"),
    ({"expiry": {"earn": {"rule": "CUSTOM"}}}, "expiry.earn.days"),
    ({"expiry": {"earn": {"rule": "CUSTOM", "days": 0}}}, "expiry.earn.days"),
    ({"expiry": {"enrolment": {"rule": "PROMOTION", "days": 3}}}, "expiry.enrolment.days"),
    ({"expiry": {"earn": {"rule": "SOMETIME"}}}, "expiry.earn.rule"),
    ({"identifier": ""}, "identifier"),
    ({"active": "maybe"}, "active"),
    ({"colour": "red"}, "colour"),
]


def test_promotion_rules(client: TestClient, world: World, admin: Caller) -> None:
    program_id = _program(client, admin)
    for body, field in BAD_PROMOTIONS:
        response = _promotion(client, admin, program_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert _error(response)["field"] == field, body
    assert world.rows(t.promotions) == []


def test_identifier_is_unique_per_org(client: TestClient, world: World, admin: Caller) -> None:
    program_id = _program(client, admin)
    assert _promotion(client, admin, program_id, identifier="summer").status_code == 201
    again = _promotion(client, admin, program_id, identifier="summer")
    assert again.status_code == 409
    error = _error(again)
    assert error["field"] == "identifier"
    assert "summer" in error["message"]
    assert len(world.rows(t.promotions)) == 1

    other = world.till(world.org("other"), access="config:write")
    assert (
        _promotion(client, other, _program(client, other), identifier="summer").status_code == 201
    )


def test_patch_changes_settings_and_audits(client: TestClient, world: World, admin: Caller) -> None:
    program_id = _program(client, admin)
    created = _promotion(
        client,
        admin,
        program_id,
        startDate="2026-01-01T00:00:00Z",
        expiry={"earn": {"rule": "CUSTOM", "days": 7}},
    ).json()
    response = client.patch(
        f"/admin/v1/promotions/{created['id']}",
        json={
            "name": "Renamed",
            "active": False,
            "endDate": "2026-06-30T23:59:59Z",
            "limits": {"earnsPerCustomer": -1},
            "expiry": {"earn": None, "enrolment": {"rule": "CUSTOM", "days": 10}},
            "type": "LOYALTY_EARNING",  # restating the stored type (via an alias) is no change
        },
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["active"] is False
    assert body["startDate"] == "2026-01-01T00:00:00Z"
    assert body["endDate"] == "2026-06-30T23:59:59Z"
    assert body["limits"] == {"enrolmentsPerCustomer": 1, "earnsPerCustomer": -1}
    assert body["expiry"] == {"enrolment": {"rule": "CUSTOM", "days": 10}, "earn": None}
    assert body["type"] == "ENROL_AND_ISSUE"
    assert client.get(f"/admin/v1/promotions/{created['id']}", headers=admin.headers).json() == body

    [event] = world.audit(action="PROMOTION_UPDATED")
    assert (event.old_status, event.new_status) == ("ACTIVE", "INACTIVE")
    assert '"name":["Welcome","Renamed"]' in event.detail

    cleared = client.patch(
        f"/admin/v1/promotions/{created['id']}", json={"startDate": None}, headers=admin.headers
    )
    assert cleared.json()["startDate"] is None


def test_patch_type_is_immutable(client: TestClient, world: World, admin: Caller) -> None:
    promo = _promotion(client, admin, _program(client, admin)).json()
    for value in ("DIRECT_ISSUE", "LOYALTY", "NONSENSE"):
        response = client.patch(
            f"/admin/v1/promotions/{promo['id']}",
            json={"type": value, "name": "changed"},
            headers=admin.headers,
        )
        assert response.status_code == 422
        assert _error(response) == {
            "code": 9423,
            "message": "A promotion's type cannot be changed",
            "field": "type",
        }
    [row] = world.rows(t.promotions)
    assert (row.type, row.name) == ("ENROL_AND_ISSUE", "Welcome")
    assert world.audit(action="PROMOTION_UPDATED") == []


BAD_PATCHES: list[tuple[dict[str, Any], str]] = [
    ({"endDate": "2025-12-31T00:00:00Z"}, "endDate"),  # before the stored startDate
    ({"limits": {"enrolmentsPerCustomer": 0}}, "limits.enrolmentsPerCustomer"),
    ({"limits": {"earnsPerCustomer": 101}}, "limits.earnsPerCustomer"),
    ({"expiry": {"earn": {"rule": "CUSTOM", "days": -1}}}, "expiry.earn.days"),
    ({"programId": 7}, "programId"),
]


def test_patch_rules(client: TestClient, world: World, admin: Caller) -> None:
    promo = _promotion(
        client, admin, _program(client, admin), startDate="2026-01-01T00:00:00Z"
    ).json()
    for patch, field in BAD_PATCHES:
        response = client.patch(
            f"/admin/v1/promotions/{promo['id']}", json=patch, headers=admin.headers
        )
        assert response.status_code == 422, (patch, response.text)
        assert _error(response)["field"] == field, patch
    [row] = world.rows(t.promotions)
    assert (row.end_date, row.enrolments_per_customer, row.earns_per_customer) == (None, 1, 1)
    assert world.audit(action="PROMOTION_UPDATED") == []


def test_foreign_promotion_is_404(client: TestClient, world: World, admin: Caller) -> None:
    other = world.org("other")
    foreign = world.promotion(other, world.program(other))
    for response in (
        client.get(f"/admin/v1/promotions/{foreign.id}", headers=admin.headers),
        client.patch(
            f"/admin/v1/promotions/{foreign.id}", json={"active": False}, headers=admin.headers
        ),
        client.get(f"/admin/v1/promotions/{foreign.id + 1000}", headers=admin.headers),
    ):
        assert response.status_code == 404
        assert _error(response) == {"code": 9404, "message": "promotion not found", "field": None}
    [row] = world.rows(t.promotions)
    assert row.active is True


def test_dry_run_writes_nothing(client: TestClient, world: World, admin: Caller) -> None:
    response = client.post(
        "/admin/v1/programs?dryRun=true", json={"name": "Maybe"}, headers=admin.headers
    )
    assert response.status_code == 201
    assert response.headers["x-dry-run"] == "true"
    assert response.json()["name"] == "Maybe"
    assert world.rows(t.programs) == []
    assert world.audit(action="PROGRAM_CREATED") == []


def test_idempotent_program_create(client: TestClient, world: World, admin: Caller) -> None:
    headers = {**admin.headers, "Idempotency-Key": "create-gold"}
    first = client.post("/admin/v1/programs", json={"name": "Gold"}, headers=headers)
    second = client.post("/admin/v1/programs", json={"name": "Gold"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert len(world.rows(t.programs)) == 1


def test_hostile_input_is_refused_not_crashed(
    client: TestClient, world: World, admin: Caller
) -> None:
    """Values each database would choke on (NUL in text, dates past year 9999) are 422s."""
    program_id = _program(client, admin)
    promotions = f"/admin/v1/programs/{program_id}/promotions"
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/admin/v1/programs", {"name": "a\x00b"}, "name"),
        (promotions, {"name": "x", "type": "GENERIC", "identifier": "a\x00"}, "identifier"),
        (
            promotions,
            {"name": "x", "type": "GENERIC", "endDate": "9999-12-31T23:00:00-05:00"},
            "endDate",
        ),
        ("/admin/v1/customers", {"customers": [{"mobile": "1\x00"}]}, "customers.0.mobile"),
    ]
    for url, body, field in cases:
        response = client.post(url, json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
        assert _error(response)["field"] == field
    reader = world.till(admin.org_id, access="config:read")
    for params, field in (
        ({"action": "A\x00"}, "action"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "since"),
    ):
        response = client.get("/admin/v1/audit", params=params, headers=reader.headers)
        assert response.status_code == 422, (params, response.text)
        assert _error(response)["field"] == field
    assert len(world.rows(t.programs)) == 1
