"""Idempotency-Key on the revoke POSTs (contract 3.3): replay, 422, 409, scope, retention."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import orjson
import psycopg
import pytest
from sqlalchemy import update

from promoledger.domain.bulk import REVOKE_ACTIONS, parse_bulk_request
from promoledger.domain.context import Context
from promoledger.domain.errors import IdempotencyInFlight
from promoledger.services import idempotency
from promoledger.services import revoke as revoke_service
from promoledger.store import idempotency as key_store
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.db import pg_only, wait_until_blocked
from tests.support.factories import World
from tests.support.invariants import snapshot
from tests.support.revoke import (
    REVOKE,
    REVOKE_DIRECT,
    entry,
    make_shop,
)
from tests.support.waiting import HANG_SECONDS

IN_FLIGHT = {
    "errors": [
        {
            "status": False,
            "code": 9432,
            "message": "A request with this Idempotency-Key is still being processed",
        }
    ]
}
MISMATCH = {
    "errors": [
        {
            "status": False,
            "code": 9431,
            "message": "Idempotency-Key was already used with a different request body",
        }
    ]
}


def test_a_repeat_replays_the_stored_answer_and_changes_nothing(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "k-1"}

    first = shop.post(body, headers={**key, "X-Request-ID": "first"})
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert first.json()["response"][0]["result"]["revokedEarnIds"] == [earn]
    [event] = world.audit(action="REVOKE_EARN")
    assert (event.idempotency_key, event.request_id) == ("k-1", "first")
    after_first = snapshot(world.url)

    again = shop.post(body, headers={**key, "X-Request-ID": "second"})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-request-id"] == "second"
    assert again.content == first.content
    assert snapshot(world.url) == after_first

    [row] = world.rows(t.idempotency_keys, key="k-1")
    assert (row.state, row.response_status, row.credential_id) == (
        "DONE",
        200,
        shop.till.credential_id,
    )
    assert row.expires_at - utcnow() >= timedelta(hours=23, minutes=59)


def test_the_same_key_with_another_body_or_endpoint_is_422(world: World) -> None:
    shop = make_shop(world)
    a, b = shop.customers(2)
    ea, eb = shop.earn(a), shop.earn(b)
    key = {"Idempotency-Key": "k-2"}
    assert shop.post(shop.body("REVOKE_EARN", [entry(a)]), headers=key).status_code == 200
    before = snapshot(world.url)

    other_body = shop.post(shop.body("REVOKE_EARN", [entry(b)]), headers=key)
    assert other_body.status_code == 422
    assert other_body.json() == MISMATCH
    other_path = shop.post(shop.body("REVOKE_EARN", [entry(a)]), headers=key, path=REVOKE_DIRECT)
    assert other_path.status_code == 422
    assert snapshot(world.url) == before
    assert world.status_of(t.earns, ea) == "REVOKED"
    assert world.status_of(t.earns, eb) == "ACTIVE"


def test_keys_are_scoped_per_credential(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    shop.earn(c)
    other_till = world.till(shop.org, access="customer:write")
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "shared-key"}
    assert shop.post(body, headers=key).status_code == 200

    theirs = shop.post(body, headers=key, caller=other_till)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["response"][0]["errors"][0]["code"] == 2305  # it really ran
    assert len(world.rows(t.idempotency_keys, key="shared-key")) == 2


def test_a_request_level_rejection_is_replayed_too(world: World) -> None:
    shop = make_shop(world, active=False)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "k-400"}
    first = shop.post(body, headers=key)
    assert first.status_code == 400
    assert first.json()["response"][0]["errors"][0]["code"] == 8892

    with world.uow.write() as conn:  # the operator activates the promotion meanwhile
        conn.execute(update(t.promotions).values(active=True))
    again = shop.post(body, headers=key)
    assert (again.status_code, again.content) == (400, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert world.status_of(t.earns, earn) == "ACTIVE"
    fresh = shop.post(body, headers={"Idempotency-Key": "k-400-retry"})
    assert fresh.json()["response"][0]["result"]["revokedEarnIds"] == [earn]


def test_a_claimed_key_is_in_flight_409(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    raw = orjson.dumps(shop.body("REVOKE_EARN", [entry(c)]))
    claim = idempotency.begin(
        world.uow,
        credential_id=shop.till.credential_id,
        key="k-busy",
        fingerprint=idempotency.request_fingerprint("POST", REVOKE, "", raw),
        ttl_hours=24,
    )
    assert isinstance(claim, idempotency.Claim)

    response = world.client.post(
        REVOKE,
        content=raw,
        headers={
            **shop.till.headers,
            "Idempotency-Key": "k-busy",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 409
    assert response.json() == IN_FLIGHT
    assert world.status_of(t.earns, earn) == "ACTIVE"


def test_an_abandoned_claim_is_taken_over(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    long_ago = utcnow() - timedelta(minutes=5)
    with world.uow.write() as conn:
        assert key_store.claim(
            conn,
            credential_id=shop.till.credential_id,
            key="k-crashed",
            request_hash="whatever the crashed request sent",
            now=long_ago,
            expires_at=long_ago + timedelta(hours=24),
        )
    response = shop.post(
        shop.body("REVOKE_EARN", [entry(c)]), headers={"Idempotency-Key": "k-crashed"}
    )
    assert response.json()["response"][0]["result"]["revokedEarnIds"] == [earn]
    [row] = world.rows(t.idempotency_keys, key="k-crashed")
    assert row.state == "DONE"


def test_a_request_that_lost_its_claim_rolls_its_change_back(world: World) -> None:
    """If a request outlives the stale window and its key is taken over, storing its answer at
    commit fails, and its change rolls back with it."""
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    claim = idempotency.begin(
        world.uow,
        credential_id=shop.till.credential_id,
        key="k-lost",
        fingerprint="a",
        ttl_hours=24,
    )
    assert isinstance(claim, idempotency.Claim)
    with world.uow.write() as conn:  # someone else takes the key over
        assert key_store.retake(
            conn,
            credential_id=shop.till.credential_id,
            key="k-lost",
            request_hash="a",
            stale_before=utcnow() + timedelta(hours=1),
            now=utcnow(),
            expires_at=utcnow() + timedelta(hours=24),
        )
    ctx = Context(
        org_id=shop.org,
        actor_kind="TILL",
        actor_id=shop.till.credential_id,
        idempotency_key="k-lost",
    )
    seal = idempotency.Seal(claim, lambda result: (200, b"{}"))
    request = parse_bulk_request(
        shop.body("REVOKE_EARN", [entry(c)]),
        actions=REVOKE_ACTIONS,
        batch_limit=100,
        with_earn_ids=True,
    )
    with pytest.raises(IdempotencyInFlight):
        revoke_service.revoke(world.uow.with_commit_hook(seal), ctx, request=request)
    assert seal.stored is None
    assert world.status_of(t.earns, earn) == "ACTIVE"
    assert world.audit(action="REVOKE_EARN") == []


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_bad_key_is_422(world: World, key: str) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    response = shop.post(shop.body("REVOKE_EARN", [entry(c)]), headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == 9422
    assert world.status_of(t.earns, earn) == "ACTIVE"


@pg_only
def test_a_repeat_while_the_first_runs_is_409_then_replays(world: World, database_url: str) -> None:
    """A real in-flight request: the first is blocked on its customer row lock."""
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "k-live"}

    with psycopg.connect(database_url) as rival:
        rival.execute("SELECT id FROM customers WHERE id = %s FOR UPDATE", (c.id,))
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(shop.post, body, headers=key)
            wait_until_blocked(database_url)
            busy = shop.post(body, headers=key)
            mismatch = shop.post(shop.body("REVOKE_ENROL", [entry(c)]), headers=key)
            rival.commit()
            done = first.result(timeout=HANG_SECONDS)

    assert (busy.status_code, busy.json()) == (409, IN_FLIGHT)
    assert (mismatch.status_code, mismatch.json()) == (422, MISMATCH)
    assert done.status_code == 200
    assert done.json()["response"][0]["result"]["revokedEarnIds"] == [earn]
    replay = shop.post(body, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == done.content
    assert len(world.audit(action="REVOKE_EARN")) == 1


def test_concurrent_repeats_of_one_key_execute_once(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earns = [shop.earn(c) for _ in range(3)]
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "k-race"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: shop.post(body, headers=key), range(6)))

    done = [r for r in responses if r.status_code == 200]
    assert {r.status_code for r in responses} <= {200, 409}
    assert all(r.json() == IN_FLIGHT for r in responses if r.status_code == 409)
    assert len({r.content for r in done}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in done) == 1
    assert done[0].json()["response"][0]["result"]["revokedEarnIds"] == earns
    assert len(world.audit(action="REVOKE_EARN")) == 3
