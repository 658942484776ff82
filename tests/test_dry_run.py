"""?dryRun=true: the exact response the request would produce, nothing committed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World
from tests.support.invariants import snapshot
from tests.support.revoke import entry, make_shop

DRY = {"dryRun": "true"}


@pytest.mark.parametrize("path", ["revokeEnrolAndEarn", "revokeDirectEarn"])
def test_a_dry_run_answers_exactly_what_the_real_request_then_does(world: World, path: str) -> None:
    shop = make_shop(world)
    a, b = shop.customers(2)
    ea1, ea2 = shop.earn(a), shop.earn(a)
    due = shop.earn(b, expires_at=utcnow() - timedelta(minutes=1))  # expiry is a change too
    shop.earn(b)
    body = shop.body(
        "REVOKE_EARN", [entry(a, [ea2]), entry(b), entry(b), {"identifierValue": "999999999"}]
    )
    url = f"/v2/promotion/bulk/{path}"
    before = snapshot(world.url)

    dry = shop.post(body, path=url, params=DRY)
    assert dry.status_code == 200
    assert dry.headers["x-dry-run"] == "true"
    assert dry.json()["response"][0]["result"]["revokedEarnIds"] == [ea2]
    assert snapshot(world.url) == before
    assert world.status_of(t.earns, due) == "ACTIVE"

    real = shop.post(body, path=url)
    assert real.status_code == 200
    assert "x-dry-run" not in real.headers
    assert real.content == dry.content
    assert world.status_of(t.earns, ea2) == "REVOKED"
    assert world.status_of(t.earns, ea1) == "ACTIVE"
    assert world.status_of(t.earns, due) == "EXPIRED"


def test_a_dry_run_of_revoke_enrol(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    body = shop.body("REVOKE_ENROL", [entry(c)])
    before = snapshot(world.url)
    dry = shop.post(body, params={"dryRun": "TRUE"})
    assert dry.json()["response"][0]["result"]["revokedIssualId"] == enrolment
    assert snapshot(world.url) == before
    real = shop.post(body, params={"dryRun": "false"})
    assert real.content == dry.content
    assert world.status_of(t.enrolments, enrolment) == "REVOKED"


def test_a_dry_run_of_a_rejected_request_is_the_same_rejection(world: World) -> None:
    shop = make_shop(world, type="DIRECT_ISSUE")
    [c] = shop.customers()
    body = shop.body("REVOKE_ENROL", [entry(c)])
    before = snapshot(world.url)
    dry = shop.post(body, params=DRY)
    real = shop.post(body)
    assert (dry.status_code, real.status_code) == (400, 400)
    assert dry.headers["x-dry-run"] == "true"
    assert dry.content == real.content
    assert snapshot(world.url) == before


def test_a_dry_run_ignores_the_idempotency_key(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "k-dry"}

    dry = shop.post(body, headers=key, params=DRY)
    assert world.rows(t.idempotency_keys) == []
    real = shop.post(body, headers=key)
    assert "idempotent-replayed" not in real.headers
    assert real.content == dry.content
    assert world.status_of(t.earns, earn) == "REVOKED"

    after = snapshot(world.url)
    dry_again = shop.post(body, headers=key, params=DRY)
    assert "idempotent-replayed" not in dry_again.headers
    assert dry_again.json()["response"][0]["errors"][0]["code"] == 2305  # simulated, not replayed
    assert snapshot(world.url) == after
    assert shop.post(body, headers=key).headers["idempotent-replayed"] == "true"
