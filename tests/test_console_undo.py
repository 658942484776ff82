"""Console undo: from a confirmed revoke's outcome page (once per Idempotency-Key), or a typed
request id; skips with reasons; access, CSRF refusal and bad input (nothing written)."""

from __future__ import annotations

import re
import threading
from typing import Any

from fastapi.testclient import TestClient

from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.app import serving
from tests.support.console import csrf_of, key_of, page_csrf, sign_in
from tests.support.factories import Caller, World
from tests.support.jobs import run_all
from tests.support.waiting import HANG_SECONDS

_REQUEST = re.compile(r'name="requestId" value="([^"]+)"')


def _setup(
    world: World, access: str = "customer:write,config:read"
) -> tuple[Caller, Any, list[Any], list[int]]:
    org = world.org()
    till = world.till(org, access=access)
    program = world.program(org)
    promotion = world.promotion(org, program)
    people = world.customers(org, program, n=2)
    enrolments = [world.enrolment(org, promotion.id, c.id) for c in people]
    return till, promotion, people, enrolments


def _revoke(client: TestClient, promotion: Any, people: list[Any]) -> Any:
    """Preview and confirm a REVOKE_ENROL of ``people`` in the console; the outcome page."""
    lines = "\n".join(str(p.id) for p in people)
    form = {"promotion": f"{promotion.program_id}:{promotion.id}", "action": "REVOKE_ENROL",
            "identifierName": "id", "identifiers": lines}  # fmt: skip
    csrf = page_csrf(client, "/console/revoke")
    preview = client.post("/console/revoke/preview", data={**form, "csrf": csrf})
    outcome = client.post(
        "/console/revoke/confirm",
        data={**form, "csrf": csrf, "idempotencyKey": key_of(preview.text)},
    )
    assert outcome.status_code == 200, outcome.text
    return outcome


def _undo_form(html: str) -> dict[str, str]:
    form = html[html.index('action="/console/undo"') :]
    match = _REQUEST.search(form)
    assert match, form[:2000]
    return {"csrf": csrf_of(form), "idempotencyKey": key_of(form), "requestId": match.group(1)}


def test_undo_from_the_outcome_page_reinstates_once(client: TestClient, world: World) -> None:
    till, promotion, people, enrolments = _setup(world)
    sign_in(client, till)
    outcome = _revoke(client, promotion, people)
    assert "Undo this revoke" in outcome.text
    form = _undo_form(outcome.text)
    [event, _] = world.audit(action="REVOKE_ENROL")
    assert form["requestId"] == event.request_id  # the revoke's own request id
    assert all(world.status_of(t.enrolments, e) == "REVOKED" for e in enrolments)

    undone = client.post("/console/undo", data=form)
    assert undone.status_code == 200, undone.text
    assert "Reinstated 2 enrolments and 0 earns; 0 skipped." in undone.text
    assert all(world.status_of(t.enrolments, e) == "ACTIVE" for e in enrolments)
    audit = world.audit(action="REINSTATE_ENROL")
    assert len(audit) == 2
    assert {a.actor_id for a in audit} == {till.credential_id}
    assert {a.idempotency_key for a in audit} == {form["idempotencyKey"]}

    # The same form again (a double click, a reload): the stored outcome, nothing twice.
    again = client.post("/console/undo", data=form)
    assert again.status_code == 200
    assert "already been confirmed" in again.text
    assert "Reinstated 2 enrolments" in again.text
    assert len(world.audit(action="REINSTATE_ENROL")) == 2
    # A new undo of the same revoke reinstates nothing and says why.
    fresh = client.get(f"/console/undo?requestId={form['requestId']}")
    assert fresh.status_code == 200
    assert f'value="{form["requestId"]}"' in fresh.text
    second = client.post("/console/undo", data={**form, "idempotencyKey": key_of(fresh.text)})
    assert second.status_code == 200
    assert "Reinstated 0 enrolments and 0 earns; 2 skipped." in second.text
    assert second.text.count("ALREADY_ACTIVE") == 2
    assert len(world.audit(action="REINSTATE_ENROL")) == 2


def test_a_replayed_outcome_page_still_offers_the_undo(client: TestClient, world: World) -> None:
    till, promotion, people, _ = _setup(world)
    sign_in(client, till)
    form = {"promotion": f"{promotion.program_id}:{promotion.id}", "action": "REVOKE_ENROL",
            "identifierName": "id", "identifiers": str(people[0].id)}  # fmt: skip
    preview = client.post(
        "/console/revoke/preview", data={**form, "csrf": page_csrf(client, "/console/revoke")}
    )
    confirm = {**form, "csrf": csrf_of(preview.text), "idempotencyKey": key_of(preview.text)}
    first = client.post("/console/revoke/confirm", data=confirm)
    replay = client.post("/console/revoke/confirm", data=confirm)
    assert "already been confirmed" in replay.text
    assert _undo_form(replay.text)["requestId"] == _undo_form(first.text)["requestId"]


def test_an_outcome_where_everything_failed_offers_no_undo(
    client: TestClient, world: World
) -> None:
    till, promotion, _, _ = _setup(world)
    sign_in(client, till)
    nobody = type("Nobody", (), {"id": 999999})()
    outcome = _revoke(client, promotion, [nobody])
    assert "0 of 1 revoked" in outcome.text
    assert 'action="/console/undo"' not in outcome.text


def test_unknown_or_foreign_request_is_404_and_bad_input_400(
    client: TestClient, world: World
) -> None:
    till, _promotion, _people, enrolments = _setup(world)
    other, other_promotion, other_people, other_enrolments = _setup(world)
    sign_in(client, other)
    foreign = _undo_form(_revoke(client, other_promotion, other_people).text)
    client.cookies.clear()
    sign_in(client, till)
    csrf = page_csrf(client, "/console/undo")
    for request_id in ("never-used", foreign["requestId"]):
        target = {"requestId": request_id, "idempotencyKey": f"k-{request_id}"}
        missing = client.post("/console/undo", data={"csrf": csrf, **target})
        assert missing.status_code == 404
        assert "Undo refused" in missing.text
        assert "9404" in missing.text
    assert all(world.status_of(t.enrolments, e) == "REVOKED" for e in other_enrolments)
    for target in ({}, {"requestId": "a", "jobId": "job_1"}, {"requestId": "x" * 201}):
        bad = client.post("/console/undo", data={"csrf": csrf, "idempotencyKey": "b", **target})
        assert bad.status_code == 400
        assert "Name one revoke" in bad.text
    no_key = client.post("/console/undo", data={"csrf": csrf, "requestId": "x"})
    assert no_key.status_code == 400
    assert world.audit(action="REINSTATE_ENROL") == []
    assert all(world.status_of(t.enrolments, e) == "ACTIVE" for e in enrolments)


def test_access_and_csrf(client: TestClient, world: World) -> None:
    till, promotion, people, enrolments = _setup(world)
    sign_in(client, till)
    form = _undo_form(_revoke(client, promotion, people).text)
    forged = client.post("/console/undo", data={**form, "csrf": "forged"})
    assert forged.status_code == 403
    assert "Form refused" in forged.text
    assert all(world.status_of(t.enrolments, e) == "REVOKED" for e in enrolments)

    client.cookies.clear()
    reader = world.till(till.org_id, access="customer:read,config:read")
    sign_in(client, reader)
    assert client.get("/console/undo").status_code == 403
    denied = client.post("/console/undo", data={**form, "csrf": page_csrf(client)})
    assert denied.status_code == 403
    assert "Access denied" in denied.text
    assert world.audit(action="REINSTATE_ENROL") == []
    client.cookies.clear()
    assert client.post("/console/undo", data=form).status_code == 401


def test_a_refused_undo_replays_its_refusal(client: TestClient, world: World) -> None:
    till, *_ = _setup(world)
    sign_in(client, till)
    form = {"csrf": page_csrf(client, "/console/undo"), "requestId": "never-used",
            "idempotencyKey": "same-key"}  # fmt: skip
    first = client.post("/console/undo", data=form)
    again = client.post("/console/undo", data=form)
    assert (first.status_code, again.status_code) == (404, 404)
    assert "9404" in again.text
    # The key now belongs to that refusal: another request under it is a mismatch.
    other = client.post("/console/undo", data={**form, "requestId": "another"})
    assert other.status_code == 422


def test_two_simultaneous_undos_reinstate_once(client: TestClient, world: World) -> None:
    till, promotion, people, enrolments = _setup(world)
    sign_in(client, till)
    form = _undo_form(_revoke(client, promotion, people).text)
    start = threading.Barrier(2, timeout=HANG_SECONDS)
    answers: list[Any] = []

    def click() -> None:
        start.wait()
        answers.append(client.post("/console/undo", data=form))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_SECONDS)
    assert [r.status_code for r in answers] == [200, 200]
    assert all("Reinstated 2 enrolments" in r.text for r in answers)
    assert all(world.status_of(t.enrolments, e) == "ACTIVE" for e in enrolments)
    assert len(world.audit(action="REINSTATE_ENROL")) == 2


def test_a_large_undo_runs_as_a_reinstate_job_and_shows_its_progress(settings: Settings) -> None:
    small = settings.model_copy(update={"reinstate_inline_max": 1, "job_workers": 0})
    with serving(small) as world:
        client = world.client
        till, promotion, people, enrolments = _setup(world)
        sign_in(client, till)
        form = _undo_form(_revoke(client, promotion, people).text)
        queued = client.post("/console/undo", data=form, follow_redirects=False)
        assert queued.status_code == 303, queued.text
        [job] = world.rows(t.jobs)
        assert job.action == "REINSTATE"
        assert queued.headers["location"] == f"/console/jobs/job_{job.id}"
        # The same form again leads to the same job; nothing more is queued.
        again = client.post("/console/undo", data=form, follow_redirects=False)
        assert again.headers["location"] == queued.headers["location"]
        assert len(world.rows(t.jobs)) == 1
        run_all(world.runtime)
        page = client.get(queued.headers["location"])
        assert "REINSTATE" in page.text
        assert "SUCCEEDED" in page.text
        assert "Undo this job" not in page.text
        assert all(world.status_of(t.enrolments, e) == "ACTIVE" for e in enrolments)
