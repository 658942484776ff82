"""POST /v2/promotion/issue shares the mutating POSTs' extensions: a request it rejects answers
with X-Dry-Run on a dry run, and is stored and replayed under an Idempotency-Key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from promoledger.domain.errors import INVALID_JSON
from promoledger.store import tables as t
from tests.support.factories import World

URL = "/v2/promotion/issue"


def _shop(world: World) -> tuple[dict[str, str], int, int, str]:
    """A till's headers, a program, an ENROL_AND_ISSUE promotion and the issue URL of one
    member customer."""
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    return (
        caller.headers,
        program,
        promotion.id,
        f"{URL}?identifierName=id&identifierValue={c.id}&source=INSTORE",
    )


def test_a_rejected_dry_run_says_it_was_a_dry_run(world: World, client: TestClient) -> None:
    headers, _, _, url = _shop(world)
    # Refused while parsing (not JSON) and by the request rules (no promotion named): both are
    # answered as dry runs.
    for body, code in ((b"{not json", INVALID_JSON.code), (b'{"programId": 1}', 8881)):
        response = client.post(f"{url}&dryRun=true", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers.get("X-Dry-Run") == "true"
        assert response.json()["errors"][0]["code"] == code
    assert world.rows(t.enrolments) == []


def test_a_rejected_keyed_request_is_stored_and_replayed(world: World, client: TestClient) -> None:
    caller, program, promotion, url = _shop(world)
    headers = {**caller, "Idempotency-Key": "issue-rejected"}
    first = client.post(url, content=b"{not json", headers=headers)
    assert first.status_code == 400, first.text
    assert "Idempotent-Replayed" not in first.headers
    [key] = world.rows(t.idempotency_keys, key="issue-rejected")
    assert (key.state, key.response_status) == ("DONE", 400)

    replay = client.post(url, content=b"{not json", headers=headers)
    assert replay.status_code == 400
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == first.content
    # The same key with a valid body is another request: 422, and still nothing enrolled.
    other = client.post(url, json={"programId": program, "promotionId": promotion}, headers=headers)
    assert other.status_code == 422
    assert world.rows(t.enrolments) == []


def test_a_keyed_issue_replays_its_answer_and_enrols_once(world: World, client: TestClient) -> None:
    caller, program, promotion, url = _shop(world)
    headers = {**caller, "Idempotency-Key": "issue-once"}
    body = {"programId": program, "promotionId": promotion}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    replay = client.post(url, json=body, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == first.content
    [enrolment] = world.rows(t.enrolments)
    assert first.json()["sideEffects"][0]["issualId"] == enrolment.id
