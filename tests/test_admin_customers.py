"""/admin/v1 customers: bulk create (order, limits, duplicates, all-or-nothing) and the ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import Caller, World


def _create(client: TestClient, caller: Caller, customers: list[dict[str, Any]]) -> Any:
    return client.post("/admin/v1/customers", json={"customers": customers}, headers=caller.headers)


def _error(response: Any) -> dict[str, Any]:
    [error] = response.json()["errors"]
    assert set(error) == {"code", "message", "field"}
    return dict(error)


def test_bulk_create_shape_normalisation_and_audit(
    client: TestClient, world: World, admin: Caller
) -> None:
    program_id = world.program(admin.org_id)
    response = _create(
        client,
        admin,
        [
            {
                "mobile": " 919800000001 ",
                "email": "Ann@Example.COM",
                "externalId": "crm-1",
                "sources": ["instore", "WebSite", "INSTORE"],
                "programIds": [program_id, program_id],
            },
            {"email": "bob@example.com", "sources": [], "programIds": []},
        ],
    )
    assert response.status_code == 201, response.text
    first, second = response.json()["customers"]
    assert first == {
        "id": first["id"],
        "mobile": "919800000001",
        "email": "ann@example.com",
        "externalId": "crm-1",
        "sources": ["INSTORE", "WEBSITE"],
        "programIds": [program_id],
    }
    assert second == {
        "id": second["id"],
        "mobile": None,
        "email": "bob@example.com",
        "externalId": None,
        "sources": [],
        "programIds": [],
    }
    [row] = world.rows(t.customers, id=first["id"])
    assert (row.org_id, row.email) == (admin.org_id, "ann@example.com")
    assert sorted(r.source for r in world.rows(t.customer_sources, customer_id=first["id"])) == [
        "INSTORE",
        "WEBSITE",
    ]
    assert [r.program_id for r in world.rows(t.program_members, customer_id=first["id"])] == [
        program_id
    ]
    events = world.audit(action="CUSTOMER_CREATED")
    assert sorted(e.customer_id for e in events) == sorted([first["id"], second["id"]])
    assert {e.request_id for e in events} == {response.headers["x-request-id"]}


def test_thousand_customers_in_input_order(client: TestClient, world: World, admin: Caller) -> None:
    program_id = world.program(admin.org_id)
    batch = [
        {"mobile": f"9170{n:08d}", "externalId": f"x-{999 - n}", "programIds": [program_id]}
        for n in range(1000)
    ]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(world.runtime.engine, "before_cursor_execute", count)
    try:
        response = _create(client, admin, batch)
    finally:
        event.remove(world.runtime.engine, "before_cursor_execute", count)
    # Set-based: a handful of statements for the whole batch (auth, checks, one insert per
    # table, chunked by the driver's insert-many), never one per customer.
    assert 5 < len(statements) < 20, statements
    assert response.status_code == 201
    made = response.json()["customers"]
    assert [c["mobile"] for c in made] == [c["mobile"] for c in batch]
    assert [c["externalId"] for c in made] == [c["externalId"] for c in batch]
    ids = [c["id"] for c in made]
    assert len(set(ids)) == 1000
    stored = {r.id: r.mobile for r in world.rows(t.customers)}
    assert all(stored[c["id"]] == c["mobile"] for c in made)
    assert len(world.rows(t.program_members, program_id=program_id)) == 1000
    assert len(world.audit(action="CUSTOMER_CREATED")) == 1000


def test_more_than_a_thousand_is_422(client: TestClient, world: World, admin: Caller) -> None:
    response = _create(client, admin, [{"mobile": f"9{n:09d}"} for n in range(1001)])
    assert response.status_code == 422
    assert _error(response)["field"] == "customers"
    empty = _create(client, admin, [])
    assert empty.status_code == 422
    assert world.rows(t.customers) == []


def test_duplicate_of_an_existing_customer_is_409_and_writes_nothing(
    client: TestClient, world: World, admin: Caller
) -> None:
    [existing] = world.customers(admin.org_id, None)
    response = _create(
        client,
        admin,
        [{"mobile": "911111111111"}, {"email": existing.email.upper()}, {"mobile": "922"}],
    )
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == 9409
    assert error["field"] == "customers.1.email"
    assert existing.email in error["message"]
    assert [r.id for r in world.rows(t.customers)] == [existing.id]
    assert world.audit(action="CUSTOMER_CREATED") == []


def test_duplicate_within_the_batch_is_409_and_writes_nothing(
    client: TestClient, world: World, admin: Caller
) -> None:
    for field in ("mobile", "email", "externalId"):
        value = "dup@example.com" if field == "email" else "dup-1"
        response = _create(client, admin, [{field: value}, {"mobile": "2"}, {field: value}])
        assert response.status_code == 409, field
        error = _error(response)
        assert error["field"] == f"customers.2.{field}"
        assert value in error["message"]
    assert world.rows(t.customers) == []


def test_identifiers_are_unique_per_org_only(client: TestClient, world: World) -> None:
    a = world.till(world.org("a"), access="config:write")
    b = world.till(world.org("b"), access="config:write")
    assert _create(client, a, [{"mobile": "900"}]).status_code == 201
    assert _create(client, b, [{"mobile": "900"}]).status_code == 201


INVALID_CUSTOMERS: list[tuple[dict[str, Any], str]] = [
    ({}, "customers.0"),
    ({"sources": ["INSTORE"]}, "customers.0"),
    ({"mobile": "  "}, "customers.0.mobile"),
    ({"mobile": "1", "sources": ["MYSPACE"]}, "customers.0.sources.0"),
    ({"mobile": "1", "programIds": ["x"]}, "customers.0.programIds.0"),
    ({"mobile": "1", "programIds": [0]}, "customers.0.programIds.0"),
    ({"mobile": "1", "name": "Ann"}, "customers.0.name"),
    ({"email": "x" * 321}, "customers.0.email"),
]


def test_invalid_customers_are_422(client: TestClient, world: World, admin: Caller) -> None:
    for customer, field in INVALID_CUSTOMERS:
        response = _create(client, admin, [customer])
        assert response.status_code == 422, (customer, response.text)
        assert _error(response)["field"] == field, customer
    assert world.rows(t.customers) == []


def test_unknown_or_foreign_program_names_the_field(
    client: TestClient, world: World, admin: Caller
) -> None:
    mine = world.program(admin.org_id)
    foreign = world.program(world.org("other"))
    for missing in (foreign, foreign + 1000):
        response = _create(
            client,
            admin,
            [{"mobile": "1", "programIds": [mine]}, {"mobile": "2", "programIds": [mine, missing]}],
        )
        assert response.status_code == 422
        error = _error(response)
        assert error["field"] == "customers.1.programIds"
        assert str(missing) in error["message"]
    assert world.rows(t.customers) == []


def test_config_read_cannot_create(client: TestClient, world: World, admin: Caller) -> None:
    reader = world.till(admin.org_id, access="customer:write,config:read")
    response = _create(client, reader, [{"mobile": "1"}])
    assert response.status_code == 403
    assert _error(response)["code"] == 4000
    assert world.rows(t.customers) == []


def test_customer_ledger_view(client: TestClient, world: World, admin: Caller) -> None:
    org = admin.org_id
    program_id = world.program(org)
    enrol_and_issue = world.promotion(org, program_id)
    direct = world.promotion(org, program_id, type="DIRECT_ISSUE")
    untouched = world.promotion(org, program_id)
    [customer, other] = world.customers(org, program_id, 2, sources=("INSTORE", "WEBSITE"))
    past = utcnow() - timedelta(days=1)
    eai_id = enrol_and_issue.id
    replaced = world.enrolment(org, eai_id, customer.id, "REPLACED")
    enrolment = world.enrolment(org, eai_id, customer.id)
    revoked = world.earn(org, eai_id, customer.id, enrolment, status="REVOKED")
    expired = world.earn(org, eai_id, customer.id, enrolment, status="EXPIRED")
    lapsed = world.earn(org, direct.id, customer.id, expires_at=past)  # not yet swept
    active = world.earn(org, direct.id, customer.id)
    world.earn(org, direct.id, other.id)

    response = client.get(f"/admin/v1/customers/{customer.id}", headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert {
        k: body[k] for k in ("id", "mobile", "email", "externalId", "sources", "programIds")
    } == {
        "id": customer.id,
        "mobile": customer.mobile,
        "email": customer.email,
        "externalId": customer.external_id,
        "sources": ["INSTORE", "WEBSITE"],
        "programIds": [program_id],
    }
    by_promotion = {p["promotionId"]: p for p in body["promotions"]}
    assert set(by_promotion) == {enrol_and_issue.id, direct.id}
    assert untouched.id not in by_promotion
    eai = by_promotion[enrol_and_issue.id]
    assert eai["type"] == "ENROL_AND_ISSUE"
    assert eai["identifier"] == enrol_and_issue.identifier
    assert [(e["id"], e["status"]) for e in eai["enrolments"]] == [
        (replaced, "REPLACED"),
        (enrolment, "ACTIVE"),
    ]
    assert [(e["id"], e["status"], e["enrolmentId"]) for e in eai["earns"]] == [
        (revoked, "REVOKED", enrolment),
        (expired, "EXPIRED", enrolment),
    ]
    record = eai["earns"][0]
    assert set(record) == {
        "id",
        "status",
        "createdAt",
        "expiresAt",
        "endedAt",
        "endedBy",
        "endedRequestId",
        "enrolmentId",
    }
    assert [(e["id"], e["status"]) for e in by_promotion[direct.id]["earns"]] == [
        (lapsed, "EXPIRED"),
        (active, "ACTIVE"),
    ]
    assert by_promotion[direct.id]["earns"][0]["expiresAt"].endswith("Z")


def test_ledger_view_shows_who_ended_a_record(
    client: TestClient, world: World, admin: Caller
) -> None:
    org = admin.org_id
    program_id = world.program(org)
    promo = world.promotion(org, program_id, type="DIRECT_ISSUE")
    [customer] = world.customers(org, program_id)
    earn_id = world.earn(org, promo.id, customer.id)
    with world.uow.write() as conn:
        conn.execute(
            t.earns.update()
            .where(t.earns.c.id == earn_id)
            .values(status="REVOKED", ended_at=utcnow(), ended_by="TILL:9", ended_request_id="r-1")
        )
    [earn] = client.get(f"/admin/v1/customers/{customer.id}", headers=admin.headers).json()[
        "promotions"
    ][0]["earns"]
    assert (earn["status"], earn["endedBy"], earn["endedRequestId"]) == ("REVOKED", "TILL:9", "r-1")
    assert earn["endedAt"].endswith("Z")


def test_foreign_customer_is_404(client: TestClient, world: World, admin: Caller) -> None:
    [foreign] = world.customers(world.org("other"), None)
    answers = [
        client.get(f"/admin/v1/customers/{cid}", headers=admin.headers)
        for cid in (foreign.id, foreign.id + 1000)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json()
    assert _error(answers[0])["message"] == "customer not found"
