"""POST /v2/promotion/issue: Capillary's own parameter rules (11013, 1212, accountId)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from promoledger.store import tables as t
from tests.support.factories import World

URL = "/v2/promotion/issue"
EMPTY = {
    "warnings": [],
    "errors": [
        {
            "status": False,
            "code": 11013,
            "message": "identifierName, identifierValue, source can not be empty",
        }
    ],
    "sideEffects": [],
}
TYPE_INVALID = {
    "warnings": [],
    "errors": [{"status": False, "code": 1212, "message": "Entity type invalid"}],
    "sideEffects": [],
}


@pytest.mark.parametrize(
    "query",
    [
        "?identifierValue={id}&source=INSTORE",
        "?identifierName=&identifierValue={id}&source=INSTORE",
        "?identifierName=id&source=INSTORE",
        "?identifierName=id&identifierValue=&source=INSTORE",
        "?identifierName=id&identifierValue=%20&source=INSTORE",
        "?identifierName=id&identifierValue={id}",
        "?identifierName=id&identifierValue={id}&source=",
        "",
    ],
)
def test_missing_or_empty_query_parameters_answer_11013(
    world: World, client: TestClient, query: str
) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    response = client.post(
        URL + query.format(id=c.id),
        json={"programId": program, "promotionId": promotion.id},
        headers=caller.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json() == EMPTY
    assert world.rows(t.enrolments) == []


@pytest.mark.parametrize("entity_type", ["USERGROUP2", "customer", "", "ACCOUNT"])
def test_a_type_other_than_customer_answers_1212(
    world: World, client: TestClient, entity_type: str
) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    response = client.post(
        f"{URL}?identifierName=id&identifierValue={c.id}&source=INSTORE&type={entity_type}",
        json={"programId": program, "promotionId": promotion.id},
        headers=caller.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json() == TYPE_INVALID
    assert world.rows(t.enrolments) == []


def test_type_customer_and_account_id_are_accepted(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    response = client.post(
        f"{URL}?identifierName=mobile&identifierValue={c.mobile}&source=INSTORE"
        "&type=CUSTOMER&accountId=acc-1",
        json={"programId": program, "promotionId": promotion.id},
        headers=caller.headers,
    )
    assert response.status_code == 200, response.text
    (enrolment,) = world.rows(t.enrolments)
    assert response.json()["sideEffects"][0]["issualId"] == enrolment.id


def test_parameter_errors_come_before_the_body_rules(world: World, client: TestClient) -> None:
    # An empty parameter is reported even when the body would fail 8881 as well.
    org = world.org()
    caller = world.till(org)
    response = client.post(URL + "?identifierName=id", json={}, headers=caller.headers)
    assert response.json() == EMPTY
    response = client.post(
        URL + "?identifierName=id&identifierValue=1&source=INSTORE&type=X",
        json={},
        headers=caller.headers,
    )
    assert response.json() == TYPE_INVALID


def test_rejections_replay_under_an_idempotency_key(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    headers: dict[str, Any] = {**caller.headers, "Idempotency-Key": "issue-11013"}
    first = client.post(URL + "?identifierName=id", json={}, headers=headers)
    again = client.post(URL + "?identifierName=id", json={}, headers=headers)
    assert first.json() == again.json() == EMPTY
    assert again.headers.get("idempotent-replayed") == "true"
