"""Expiry of enrolments and earns, dry runs and idempotent replays on enrolAndEarn."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World, bulk_body

URL = "/v2/promotion/bulk/enrolAndEarn"


def test_new_records_get_expiry_from_the_promotion_rules(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    end = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    promotion = world.promotion(
        org,
        program,
        end_date=end,
        enrolment_expiry="CUSTOM",
        enrolment_expiry_days=30,
        earn_expiry="PROMOTION",
    )
    (c,) = world.customers(org, program)
    client.post(URL, json=bulk_body(program, promotion, [c.id]), headers=caller.headers)
    client.post(
        URL, json=bulk_body(program, promotion, [c.id], action="EARN"), headers=caller.headers
    )
    (enrolment,) = world.rows(t.enrolments)
    (earn,) = world.rows(t.earns)
    assert enrolment.expires_at - enrolment.created_at == timedelta(days=30)
    assert earn.expires_at == end
    assert earn.enrolment_id == enrolment.id


def test_due_records_expire_at_the_next_write(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, enrolments_per_customer=-1, earns_per_customer=-1)
    a, b = world.customers(org, program, 2)
    past = utcnow() - timedelta(days=1)
    # As if created by CUSTOM rules 31 days ago with 30 days' validity, and by a PROMOTION rule
    # of an earlier end date: both are due.
    stale_enrolment = world.enrolment(org, promotion.id, a.id, expires_at=past)
    stale_earn = world.earn(org, promotion.id, a.id, enrolment_id=stale_enrolment, expires_at=past)
    live = world.enrolment(org, promotion.id, b.id, expires_at=utcnow() + timedelta(days=1))

    response = client.post(
        URL,
        json=bulk_body(program, promotion, [a.id, b.id], action="EARN"),
        headers={**caller.headers, "X-Request-ID": "expiry-1"},
    )
    entries = response.json()["response"]
    assert entries[0]["errors"][0]["code"] == 9102  # its enrolment expired: not enrolled
    assert entries[1]["result"]["issualId"] == str(live)
    assert world.status_of(t.enrolments, stale_enrolment) == "EXPIRED"
    assert world.status_of(t.earns, stale_earn) == "EXPIRED"
    assert world.status_of(t.enrolments, live) == "ACTIVE"
    expired = world.audit(request_id="expiry-1", action="EXPIRE")
    assert sorted((e.entity_type, e.entity_id, e.old_status, e.new_status) for e in expired) == [
        ("EARN", stale_earn, "ACTIVE", "EXPIRED"),
        ("ENROLMENT", stale_enrolment, "ACTIVE", "EXPIRED"),
    ]

    # Re-enrolling after expiry creates a fresh enrolment; the expired one is not replaced.
    again = client.post(URL, json=bulk_body(program, promotion, [a.id]), headers=caller.headers)
    new_id = int(again.json()["response"][0]["result"]["issualId"])
    assert world.status_of(t.enrolments, new_id) == "ACTIVE"
    assert world.status_of(t.enrolments, stale_enrolment) == "EXPIRED"


def test_dry_run_answers_exactly_and_changes_nothing(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, enrolments_per_customer=2)
    a, b = world.customers(org, program, 2)
    old = world.enrolment(org, promotion.id, a.id, expires_at=utcnow() + timedelta(days=1))
    stale = world.enrolment(org, promotion.id, b.id, expires_at=utcnow() - timedelta(days=1))
    before = (world.rows(t.enrolments), world.rows(t.earns), world.audit())
    body = bulk_body(program, promotion, [a.id, b.id])
    dry = client.post(URL + "?dryRun=true", json=body, headers=caller.headers)
    assert dry.status_code == 200
    assert dry.headers["x-dry-run"] == "true"
    assert (world.rows(t.enrolments), world.rows(t.earns), world.audit()) == before
    assert world.status_of(t.enrolments, stale) == "ACTIVE"  # not even expiry is kept

    real = client.post(URL, json=body, headers=caller.headers)
    # The same answer, except that the ids a dry run shows are provisional (a PostgreSQL
    # sequence does not roll back, so the real run's ids may be higher).
    assert _without_ids(real.json()) == _without_ids(dry.json())
    assert all(e["result"]["issualId"].isdigit() for e in dry.json()["response"])
    assert world.status_of(t.enrolments, old) == "REPLACED"


def test_idempotency_key_replays_without_enrolling_twice(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, enrolments_per_customer=-1)
    (c,) = world.customers(org, program)
    body = bulk_body(program, promotion, [c.id])
    headers = {**caller.headers, "Idempotency-Key": "enrol-once"}
    first = client.post(URL, json=body, headers=headers)
    second = client.post(URL, json=body, headers=headers)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert len(world.rows(t.enrolments)) == 1
    (event,) = world.audit(action="ENROL")
    assert event.idempotency_key == "enrol-once"


def _without_ids(body: dict[str, Any]) -> dict[str, Any]:
    for entry in body["response"]:
        entry.get("result", {}).pop("issualId", None)
        entry.get("result", {}).pop("earnedId", None)
    return body
