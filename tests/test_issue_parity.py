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


def test_external_id_and_cuid_name_the_customer(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    enrol = world.promotion(org, program)
    direct = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=-1)
    c, other = world.customers(org, program, 2)
    # externalId ignores the source, like id (only mobile and email are registered per source).
    by_external = client.post(
        f"{URL}?identifierName=externalId&identifierValue={c.external_id}&source=WEBSITE",
        json={"programId": program, "promotionId": enrol.id},
        headers=caller.headers,
    )
    assert by_external.status_code == 200, by_external.text
    (enrolment,) = world.rows(t.enrolments)
    assert (enrolment.customer_id, by_external.json()["sideEffects"][0]["issualId"]) == (
        c.id,
        enrolment.id,
    )
    by_cuid = client.post(
        f"{URL}?identifierName=cuid&identifierValue={other.id}&source=INSTORE",
        json={"programId": program, "promotionId": direct.id},
        headers=caller.headers,
    )
    assert by_cuid.status_code == 200, by_cuid.text
    assert [e.customer_id for e in world.rows(t.earns)] == [other.id]
    unknown = client.post(
        f"{URL}?identifierName=externalId&identifierValue=nobody&source=INSTORE",
        json={"programId": program, "promotionId": direct.id},
        headers=caller.headers,
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["code"] == 8015
    # Case-sensitive, as Capillary's enum: EXTERNALID is no identifierName.
    shouting = client.post(
        f"{URL}?identifierName=EXTERNALID&identifierValue={c.external_id}&source=INSTORE",
        json={"programId": program, "promotionId": direct.id},
        headers=caller.headers,
    )
    assert shouting.json()["errors"][0]["code"] == 8013


def test_the_bulk_apis_keep_id_mobile_email(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    direct = world.promotion(org, program, type="DIRECT_ISSUE")
    (c,) = world.customers(org, program)
    for name, value in (("externalId", c.external_id), ("cuid", str(c.id))):
        response = client.post(
            "/v2/promotion/bulk/directEarn",
            json={
                "type": "CUSTOMER",
                "identifierName": name,
                "promotionDetails": {"programId": program, "promotionId": direct.id},
                "customers": [{"identifierValue": value}],
            },
            headers=caller.headers,
        )
        assert response.status_code == 400, name
        assert response.json()["response"][0]["errors"][0]["code"] == 8013
    assert world.rows(t.earns) == []


def test_the_lookup_takes_external_id_and_cuid(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    world.promotion(org, program)
    (c,) = world.customers(org, program)
    lookup = "/v2/customers/lookup/promotionData"
    for query in (
        f"?identifierName=externalId&identifierValue={c.external_id}&source=WEBSITE",
        f"?identifierName=cuid&identifierValue={c.id}",
        f"?identifierName=id&identifierValue={c.id}",
    ):
        response = client.get(lookup + query, headers=caller.headers)
        assert response.status_code == 200, (query, response.text)
        assert response.json()["customerId"] == c.id
