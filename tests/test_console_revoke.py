"""Console revoke: preview is a dry run, confirm revokes once per Idempotency-Key, access rules."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.console import csrf_of, key_of, page_csrf, sign_in
from tests.support.factories import Caller, World
from tests.support.waiting import HANG_SECONDS


def _setup(
    world: World, access: str = "customer:write,config:read"
) -> tuple[Caller, Any, list[Any]]:
    org = world.org()
    till = world.till(org, access=access)
    program = world.program(org)
    promotion = world.promotion(org, program)
    people = world.customers(org, program, n=2)
    for c in people:
        world.enrolment(org, promotion.id, c.id)
    return till, promotion, people


def _form(
    promotion: Any, lines: str, action: str = "REVOKE_ENROL", name: str = "id"
) -> dict[str, str]:
    return {
        "promotion": f"{promotion.program_id}:{promotion.id}",
        "action": action,
        "identifierName": name,
        "identifiers": lines,
    }


def _preview(client: TestClient, form: dict[str, str]) -> Any:
    csrf = page_csrf(client, "/console/revoke")
    return client.post("/console/revoke/preview", data={**form, "csrf": csrf})


def test_preview_shows_each_outcome_and_changes_nothing(client: TestClient, world: World) -> None:
    till, promotion, (a, b) = _setup(world)
    sign_in(client, till)
    form_page = client.get("/console/revoke")
    assert form_page.status_code == 200
    assert f'value="{promotion.program_id}:{promotion.id}"' in form_page.text
    preview = _preview(client, _form(promotion, f"{a.id}\n{b.id}\n999999"))
    assert preview.status_code == 200, preview.text
    assert preview.text.count("Would revoke") == 2
    assert "Fails" in preview.text
    assert world.rows(t.enrolments, status="REVOKED") == []
    assert world.audit(action="REVOKE_ENROL") == []


def test_confirm_revokes_and_the_same_key_again_revokes_nothing_more(
    client: TestClient, world: World
) -> None:
    till, promotion, (a, b) = _setup(world)
    sign_in(client, till)
    preview = _preview(client, _form(promotion, f"{a.mobile}\n{b.mobile}", name="mobile"))
    confirm = {**_form(promotion, f"{a.mobile}\n{b.mobile}", name="mobile"),
               "csrf": csrf_of(preview.text), "idempotencyKey": key_of(preview.text)}  # fmt: skip
    first = client.post("/console/revoke/confirm", data=confirm)
    assert first.status_code == 200, first.text
    assert "2 of 2 revoked" in first.text
    assert {r.customer_id for r in world.rows(t.enrolments, status="REVOKED")} == {a.id, b.id}
    again = client.post("/console/revoke/confirm", data=confirm)
    assert again.status_code == 200
    assert "already been confirmed" in again.text
    assert len(world.audit(action="REVOKE_ENROL")) == 2
    [event, _] = world.audit(action="REVOKE_ENROL")
    assert event.actor_id == till.credential_id
    assert event.idempotency_key == confirm["idempotencyKey"]
    # The customer page shows who revoked it.
    page = client.get(f"/console/customers/{a.id}")
    assert "REVOKED" in page.text
    assert f"TILL:{till.credential_id}" in page.text


def test_two_simultaneous_confirms_revoke_once(client: TestClient, world: World) -> None:
    till, promotion, (a, _) = _setup(world)
    sign_in(client, till)
    preview = _preview(client, _form(promotion, str(a.id)))
    confirm = {**_form(promotion, str(a.id)), "csrf": csrf_of(preview.text),
               "idempotencyKey": key_of(preview.text)}  # fmt: skip
    start = threading.Barrier(2, timeout=HANG_SECONDS)
    answers: list[Any] = []

    def click() -> None:
        start.wait()
        answers.append(client.post("/console/revoke/confirm", data=confirm))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_SECONDS)
    assert [r.status_code for r in answers] == [200, 200]
    assert all("1 of 1 revoked" in r.text for r in answers)
    assert len(world.rows(t.enrolments, status="REVOKED")) == 1
    assert len(world.audit(action="REVOKE_ENROL")) == 1


def test_a_changed_form_under_the_same_key_is_refused(client: TestClient, world: World) -> None:
    till, promotion, (a, b) = _setup(world)
    sign_in(client, till)
    preview = _preview(client, _form(promotion, str(a.id)))
    key, csrf = key_of(preview.text), csrf_of(preview.text)
    signed = {"csrf": csrf, "idempotencyKey": key}
    ok = client.post("/console/revoke/confirm", data={**_form(promotion, str(a.id)), **signed})
    assert ok.status_code == 200
    other = client.post("/console/revoke/confirm", data={**_form(promotion, str(b.id)), **signed})
    assert other.status_code == 422
    assert (
        world.status_of(t.enrolments, world.rows(t.enrolments, customer_id=b.id)[0].id) == "ACTIVE"
    )


def test_revoke_earn_with_earn_ids(client: TestClient, world: World) -> None:
    till, promotion, (a, _) = _setup(world)
    [enrolment] = world.rows(t.enrolments, customer_id=a.id)
    keep = world.earn(till.org_id, promotion.id, a.id, enrolment.id)
    gone = world.earn(till.org_id, promotion.id, a.id, enrolment.id)
    sign_in(client, till)
    form = _form(promotion, f"{a.id} {gone}", action="REVOKE_EARN")
    preview = _preview(client, form)
    assert f"earns {gone}" in preview.text
    signed = {"csrf": csrf_of(preview.text), "idempotencyKey": key_of(preview.text)}
    done = client.post("/console/revoke/confirm", data={**form, **signed})
    assert done.status_code == 200, done.text
    assert world.status_of(t.earns, gone) == "REVOKED"
    assert world.status_of(t.earns, keep) == "ACTIVE"


def test_a_read_only_till_is_denied_every_revoke_step(client: TestClient, world: World) -> None:
    till, promotion, (a, _) = _setup(world, access="customer:read,config:read")
    sign_in(client, till)
    assert client.get("/console/revoke").status_code == 403
    csrf = page_csrf(client)
    form = {**_form(promotion, str(a.id)), "csrf": csrf}
    preview = client.post("/console/revoke/preview", data=form)
    assert preview.status_code == 403
    assert "Access denied" in preview.text
    confirm = client.post("/console/revoke/confirm", data={**form, "idempotencyKey": "k"})
    assert confirm.status_code == 403
    assert world.rows(t.enrolments, status="REVOKED") == []
    assert len(world.audit(action="ACCESS_DENIED")) >= 1


def test_confirm_without_csrf_is_refused(client: TestClient, world: World) -> None:
    till, promotion, (a, _) = _setup(world)
    sign_in(client, till)
    response = client.post(
        "/console/revoke/confirm",
        data={**_form(promotion, str(a.id)), "csrf": "x", "idempotencyKey": "k"},
    )
    assert response.status_code == 403
    assert world.rows(t.enrolments, status="REVOKED") == []


def test_bad_forms_are_400_pages(client: TestClient, world: World) -> None:
    till, promotion, (a, _) = _setup(world)
    sign_in(client, till)
    for form in (
        {**_form(promotion, str(a.id)), "promotion": ""},
        {**_form(promotion, str(a.id)), "action": "ENROL"},
        _form(promotion, "   "),
    ):
        assert _preview(client, form).status_code == 400, form
    csrf = page_csrf(client)
    missing_key = client.post(
        "/console/revoke/confirm", data={**_form(promotion, str(a.id)), "csrf": csrf}
    )
    assert missing_key.status_code == 400
    unknown = _preview(
        client, {**_form(promotion, str(a.id)), "promotion": f"{promotion.program_id}:999999"}
    )
    assert unknown.status_code == 400
    assert world.rows(t.enrolments, status="REVOKED") == []


def test_a_refused_confirm_is_stored_and_shown_again(client: TestClient, world: World) -> None:
    till, promotion, (a, _) = _setup(world)
    sign_in(client, till)
    form = {**_form(promotion, str(a.id)), "promotion": f"{promotion.program_id}:999999",
            "csrf": page_csrf(client), "idempotencyKey": "refused-once"}  # fmt: skip
    first = client.post("/console/revoke/confirm", data=form)
    assert first.status_code == 400
    again = client.post("/console/revoke/confirm", data=form)
    assert again.status_code == 400
    assert "Revoke refused" in again.text
    assert world.rows(t.enrolments, status="REVOKED") == []
