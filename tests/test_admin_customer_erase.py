"""DELETE /admin/v1/customers/{id}: GDPR erase; the ledger and audit trail stay, pseudonymous."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from promoledger.store import tables as t
from tests.support.factories import Caller, World


def test_erase_removes_every_identifier_and_keeps_the_ledger(
    client: TestClient, world: World, admin: Caller
) -> None:
    program_id = world.program(admin.org_id)
    promotion = world.promotion(admin.org_id, program_id)
    created = client.post(
        "/admin/v1/customers",
        json={"customers": [{"mobile": "919812345678", "email": "gone@example.com",
                             "externalId": "crm-gone", "programIds": [program_id]}]},
        headers={**admin.headers, "Idempotency-Key": "create-gone"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    customer_id = created.json()["customers"][0]["id"]
    enrolment = world.enrolment(admin.org_id, promotion.id, customer_id)

    response = client.delete(f"/admin/v1/customers/{customer_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == customer_id
    assert response.json()["erasedAt"]

    [row] = world.rows(t.customers, id=customer_id)
    assert (row.mobile, row.email, row.external_id) == (None, None, None)
    assert row.erased_at is not None
    assert world.status_of(t.enrolments, enrolment) == "ACTIVE"
    [event] = world.audit(action="CUSTOMER_ERASE")
    assert (event.customer_id, event.entity_id) == (customer_id, customer_id)
    # No identifier survives anywhere: audit details, stored idempotent answers.
    with world.uow.read() as conn:
        details = " ".join(d or "" for d in conn.execute(select(t.audit_events.c.detail)).scalars())
        answers = b" ".join(
            b or b"" for b in conn.execute(select(t.idempotency_keys.c.response_body)).scalars()
        )
    for value in ("919812345678", "gone@example.com", "crm-gone"):
        assert value not in details
        assert value.encode() not in answers

    # Not found by identifier any more; still readable by id, marked erased, ledger intact.
    found = client.get("/admin/v1/customers", params={"q": "9198"}, headers=admin.headers)
    assert found.json()["customers"] == []
    ledger = client.get(f"/admin/v1/customers/{customer_id}", headers=admin.headers).json()
    assert ledger["erasedAt"] is not None
    assert ledger["mobile"] is None
    assert [p["enrolments"][0]["id"] for p in ledger["promotions"]] == [enrolment]
    # The same identifiers can be given to a new customer.
    again = client.post(
        "/admin/v1/customers",
        json={"customers": [{"mobile": "919812345678"}]},
        headers=admin.headers,
    )
    assert again.status_code == 201, again.text


def test_erase_refuses_unknown_foreign_erased_and_read_only(
    client: TestClient, world: World, admin: Caller
) -> None:
    [foreign] = world.customers(world.org("other"), None)
    [mine] = world.customers(admin.org_id, None)
    reader = world.till(admin.org_id, access="customer:write,config:read")
    assert (
        client.delete(f"/admin/v1/customers/{mine.id}", headers=reader.headers).status_code == 403
    )
    assert (
        client.delete(f"/admin/v1/customers/{foreign.id}", headers=admin.headers).status_code == 404
    )
    assert client.delete("/admin/v1/customers/999999", headers=admin.headers).status_code == 404
    assert client.delete(f"/admin/v1/customers/{mine.id}", headers=admin.headers).status_code == 200
    assert client.delete(f"/admin/v1/customers/{mine.id}", headers=admin.headers).status_code == 404
    patched = client.patch(
        f"/admin/v1/customers/{mine.id}", json={"mobile": "1"}, headers=admin.headers
    )
    assert patched.status_code == 404
    assert len(world.audit(action="CUSTOMER_ERASE")) == 1
    [row] = world.rows(t.customers, id=foreign.id)
    assert row.mobile == foreign.mobile


def test_erase_dry_run_writes_nothing(client: TestClient, world: World, admin: Caller) -> None:
    [c] = world.customers(admin.org_id, None)
    response = client.delete(f"/admin/v1/customers/{c.id}?dryRun=true", headers=admin.headers)
    assert response.status_code == 200
    assert world.rows(t.customers, id=c.id)[0].mobile == c.mobile
    assert world.audit(action="CUSTOMER_ERASE") == []
