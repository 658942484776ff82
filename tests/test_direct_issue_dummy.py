"""Direct issue: every DIRECT_ISSUE earn is issued under the customer's dummy enrolment.

The dummy's id is the ``issualId`` of every EARN/directEarn result and the ``enrollmentId`` of
the promotionData timeline; it never expires, counts against no limit, and REVOKE_ENROL cannot
touch it (8902 on DIRECT_ISSUE). Migration 0005 gives earns made before it the same.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from promoledger.store import tables as t
from promoledger.store.schema import alembic_config, upgrade
from tests.support.factories import World, bulk_body

DIRECT = "/v2/promotion/bulk/directEarn"
REVOKE = "/v2/promotion/bulk/revokeEnrolAndEarn"
LOOKUP = "/v2/customers/lookup/promotionData"


def test_the_dummy_outlives_revoked_earns_and_cannot_be_revoked(
    world: World, client: TestClient
) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=1)
    (c,) = world.customers(org, program)

    def earn() -> dict[str, Any]:
        body = bulk_body(program, promotion, [c.id], action=None)
        response = client.post(DIRECT, json=body, headers=caller.headers)
        assert response.status_code == 200, response.text
        entry: dict[str, Any] = response.json()["response"][0]
        return entry

    first = earn()["result"]
    (dummy,) = world.rows(t.enrolments)
    assert first["issualId"] == str(dummy.id)
    # Over the earn limit: the warning, and the result names the existing dummy, no new id.
    over = earn()
    assert [w["code"] for w in over["warnings"]] == [8890]
    assert over["result"]["issualId"] == str(dummy.id)
    assert "earnedId" not in over["result"]

    refused = client.post(
        REVOKE,
        json=bulk_body(program, promotion, [c.id], action="REVOKE_ENROL"),
        headers=caller.headers,
    )
    assert refused.status_code == 400
    assert refused.json()["response"][0]["errors"][0]["code"] == 8902
    revoked = client.post(
        REVOKE,
        json=bulk_body(program, promotion, [c.id], action="REVOKE_EARN"),
        headers=caller.headers,
    )
    assert revoked.json()["response"][0]["result"]["revokedEarnIds"] == [int(first["earnedId"])]
    assert world.status_of(t.enrolments, dummy.id) == "ACTIVE"

    # A revoked earn frees the limit; the next earn is issued under the same dummy.
    again = earn()["result"]
    assert again["issualId"] == str(dummy.id)
    assert again["earnedId"] != first["earnedId"]
    assert len(world.rows(t.enrolments)) == 1

    timelines = client.get(
        LOOKUP + f"?identifierName=id&identifierValue={c.id}", headers=caller.headers
    ).json()["promotions"][0]["customerPromotionTimelines"]
    assert [
        (tl["enrollmentId"], [d["issualId"] for d in tl["issuedDetails"]]) for tl in timelines
    ] == [(dummy.id, [int(again["earnedId"])])]


def test_the_issue_endpoint_never_answers_a_null_id(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    enrol = world.promotion(org, program)
    direct = world.promotion(org, program, type="DIRECT_ISSUE")
    (c,) = world.customers(org, program)
    query = f"/v2/promotion/issue?identifierName=id&identifierValue={c.id}&source=INSTORE"
    for promotion in (enrol, direct):
        response = client.post(
            query, json={"programId": program, "promotionId": promotion.id}, headers=caller.headers
        )
        (effect,) = response.json()["sideEffects"]
        assert None not in effect.values(), effect
    dummy = world.rows(t.enrolments, promotion_id=direct.id)[0]
    (earn,) = world.rows(t.earns)
    assert earn.enrolment_id == dummy.id


def test_migration_0005_gives_earlier_direct_earns_a_dummy_enrolment(
    world: World, engine: Engine
) -> None:
    org = world.org()
    program = world.program(org)
    direct = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=-1)
    enrol = world.promotion(org, program)
    a, b = world.customers(org, program, 2)
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
        conn.commit()
    # Earns as the code before 0005 made them: no enrolment.
    a1 = world.earn(org, direct.id, a.id)
    a2 = world.earn(org, direct.id, a.id, status="REVOKED")
    b1 = world.earn(org, direct.id, b.id)
    enrolment = world.enrolment(org, enrol.id, a.id)
    linked = world.earn(org, enrol.id, a.id, enrolment_id=enrolment)
    upgrade(engine)

    dummies = {e.customer_id: e for e in world.rows(t.enrolments, promotion_id=direct.id)}
    assert sorted(dummies) == sorted([a.id, b.id])
    assert all((d.status, d.expires_at) == ("ACTIVE", None) for d in dummies.values())
    earns = {e.id: e.enrolment_id for e in world.rows(t.earns)}
    assert earns == {
        a1: dummies[a.id].id,
        a2: dummies[a.id].id,
        b1: dummies[b.id].id,
        linked: enrolment,
    }
    assert len(world.rows(t.enrolments)) == 3
    upgrade(engine)  # already at head: a second start changes nothing
    assert len(world.rows(t.enrolments)) == 3
