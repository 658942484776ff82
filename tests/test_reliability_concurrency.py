"""Many threads enrolling, earning and revoking the same customers at once, on both databases.

Afterwards the database alone must show: every acknowledged change present, every earn and
enrolment revoked at most once, audit events equal to the state changes, limits never exceeded.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from sqlalchemy import insert, update

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support import invariants as inv
from tests.support.factories import Caller, Customer, World, bulk_body
from tests.support.waiting import HANG_SECONDS

THREADS = 6
REQUESTS_PER_THREAD = 12


@dataclass
class Workload:
    """Two promotions, one set of customers, and a random mix of every bulk write."""

    program: int
    enrol_promo: Any  # ENROL_AND_ISSUE: 3 enrolments, 2 earns per customer
    direct_promo: Any  # DIRECT_ISSUE: 3 earns per customer
    people: list[Customer]
    ack: inv.Acknowledged
    lock: threading.Lock
    earned: list[int]

    def body(self, promo: Any, action: str | None, rng: random.Random) -> dict[str, Any]:
        chosen = rng.sample(self.people, rng.randint(1, len(self.people)))
        body = bulk_body(self.program, promo, [c.id for c in chosen], action=action)
        if action == "REVOKE_EARN" and rng.random() < 0.5:
            with self.lock:
                known = list(self.earned)
            # Name earns explicitly (some of them another customer's: that entry fails 8903).
            for item in body["customers"]:
                item["earnIds"] = rng.sample(known, min(len(known), rng.randint(1, 2)))
        return body

    def next_request(self, rng: random.Random) -> tuple[str, dict[str, Any]]:
        roll = rng.random()
        if roll < 0.25:
            return inv.ENROL_PATH, self.body(self.enrol_promo, "ENROL", rng)
        if roll < 0.45:
            return inv.ENROL_PATH, self.body(self.enrol_promo, "EARN", rng)
        if roll < 0.6:
            return inv.DIRECT_PATH, self.body(self.direct_promo, None, rng)
        if roll < 0.75:
            return inv.REVOKE_PATH, self.body(self.enrol_promo, "REVOKE_EARN", rng)
        if roll < 0.85:
            return inv.REVOKE_PATH, self.body(self.enrol_promo, "REVOKE_ENROL", rng)
        return inv.REVOKE_DIRECT_PATH, self.body(self.direct_promo, "REVOKE_EARN", rng)

    def record(self, path: str, body: dict[str, Any], answer: dict[str, Any]) -> None:
        with self.lock:
            self.ack.add(path, body, answer)
            self.earned.extend(
                int(e["result"]["earnedId"])
                for e in answer["response"]
                if "result" in e and "earnedId" in e["result"]
            )


def make_workload(world: World, customers: int = 6) -> tuple[Caller, Workload]:
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    enrol_promo = world.promotion(org, program, enrolments_per_customer=3, earns_per_customer=2)
    direct_promo = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=3)
    people = world.customers(org, program, customers)
    workload = Workload(
        program, enrol_promo, direct_promo, people, inv.Acknowledged(), threading.Lock(), []
    )
    return till, workload


def hammer(
    post: Callable[[str, dict[str, Any]], httpx2.Response],
    workload: Workload,
    *,
    threads: int = THREADS,
    per_thread: int = REQUESTS_PER_THREAD,
) -> list[int]:
    """Run ``threads`` x ``per_thread`` random requests; every one must answer 200."""
    start = threading.Barrier(threads)

    def run(seed: int) -> list[int]:
        rng = random.Random(seed)
        statuses = []
        start.wait(timeout=HANG_SECONDS)
        for _ in range(per_thread):
            path, body = workload.next_request(rng)
            response = post(path, body)
            statuses.append(response.status_code)
            assert response.status_code == 200, (path, body, response.text)
            workload.record(path, body, response.json())
        return statuses

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(run, range(threads)))
    return [s for statuses in results for s in statuses]


def test_concurrent_mixed_writes_keep_every_invariant(world: World, database_url: str) -> None:
    till, workload = make_workload(world)

    def post(path: str, body: dict[str, Any]) -> httpx2.Response:
        return world.client.post(path, json=body, headers=till.headers)

    statuses = hammer(post, workload)

    assert len(statuses) == THREADS * REQUESTS_PER_THREAD
    counts = inv.check(database_url, workload.ack)
    # The workload really wrote (and revoked) things: the invariants were not checked on air.
    assert workload.ack.enrolments
    assert workload.ack.earns
    assert workload.ack.revoked_earns
    assert counts["ENROLMENT"] >= len(workload.ack.enrolments)
    assert counts["EARN"] == len(workload.ack.earns)


def test_the_same_earns_revoked_by_every_thread_are_revoked_exactly_once(
    world: World, database_url: str
) -> None:
    till, workload = make_workload(world, customers=5)
    promo = workload.enrol_promo
    enrol = workload.body(promo, "ENROL", random.Random(0))
    enrol["customers"] = [{"identifierValue": str(c.id)} for c in workload.people]
    for action in ("ENROL", "EARN", "EARN"):
        enrol["bulkAction"] = action
        answer = world.client.post(inv.ENROL_PATH, json=enrol, headers=till.headers)
        assert answer.status_code == 200
        workload.record(inv.ENROL_PATH, dict(enrol), answer.json())
    earned = sorted(workload.earned)
    assert len(earned) == 10  # two earns each

    # Every thread revokes every customer's earns: half by listing the ids, half by "all".
    bodies = []
    for i in range(8):
        body = workload.body(promo, "REVOKE_EARN", random.Random(i))
        body["customers"] = [{"identifierValue": str(c.id)} for c in workload.people]
        if i % 2:
            for item, person in zip(body["customers"], workload.people, strict=True):
                item["earnIds"] = [e for e in earned if _owner(world, e) == person.id]
        bodies.append(body)
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(
            pool.map(
                lambda b: world.client.post(inv.REVOKE_PATH, json=b, headers=till.headers), bodies
            )
        )
    assert [a.status_code for a in answers] == [200] * len(bodies)
    for body, answer in zip(bodies, answers, strict=True):
        workload.ack.add(inv.REVOKE_PATH, body, answer.json())
    assert sorted(workload.ack.revoked_earns) == earned
    assert set(workload.ack.revoked_earns.values()) == {1}
    # Every losing entry says why: 8903 (listed ids gone) or 2305 (nothing left to revoke).
    losing = {
        err["code"] for a in answers for entry in a.json()["response"] for err in entry["errors"]
    }
    assert losing
    assert losing <= {8903, 2305}
    inv.check(database_url, workload.ack)


def _owner(world: World, earn_id: int) -> int:
    return int(world.rows(t.earns, id=earn_id)[0].customer_id)


def test_the_invariant_checker_catches_each_violation(world: World, database_url: str) -> None:
    """The checks above can fail: each kind of corruption they guard against is detected."""
    till, workload = make_workload(world, customers=2)
    body = workload.body(workload.direct_promo, None, random.Random(1))
    body["customers"] = [{"identifierValue": str(c.id)} for c in workload.people]
    answer = world.client.post(inv.DIRECT_PATH, json=body, headers=till.headers)
    assert answer.status_code == 200
    workload.record(inv.DIRECT_PATH, body, answer.json())
    inv.check(database_url, workload.ack)
    earn = world.rows(t.earns)[0]

    lost = inv.Acknowledged(earns={earn.id + 1000})
    with pytest.raises(AssertionError, match="acknowledged earns missing"):
        inv.check(database_url, lost)
    revoked_twice = inv.Acknowledged(revoked_earns=Counter({earn.id: 2}))
    with pytest.raises(AssertionError, match="reported revoked by two requests"):
        inv.check(database_url, revoked_twice)
    with world.uow.write() as conn:  # a change without its audit event
        conn.execute(update(t.earns).where(t.earns.c.id == earn.id).values(status="REVOKED"))
    with pytest.raises(AssertionError):
        inv.check(database_url)
    with world.uow.write() as conn:  # ... and with two: revoked twice
        conn.execute(update(t.earns).where(t.earns.c.id == earn.id).values(status="ACTIVE"))
        for old, new in (("ACTIVE", "REVOKED"), ("REVOKED", "REVOKED")):
            conn.execute(
                insert(t.audit_events).values(
                    occurred_at=utcnow(),
                    actor_kind="TEST",
                    action="REVOKE_EARN",
                    entity_type="EARN",
                    entity_id=earn.id,
                    old_status=old,
                    new_status=new,
                )
            )
        conn.execute(update(t.earns).where(t.earns.c.id == earn.id).values(status="REVOKED"))
    with pytest.raises(AssertionError, match="revoked more than once"):
        inv.check(database_url)
