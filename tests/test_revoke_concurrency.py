"""Exactly once: the same earn revoked by concurrent requests is reported revoked exactly once.

Threads against one app on both databases; on PostgreSQL also a writer that slips in between
a request's read and its UPDATE (the RETURNING arbiter path), and two real `promoledger serve`
processes sharing the database.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from promoledger.store import tables as t
from tests.support.db import pg_only, wait_until_blocked
from tests.support.factories import Customer, World
from tests.support.revoke import (
    EARNS_INVALID,
    NO_ACTIVE,
    REVOKE,
    Shop,
    entry,
    failed,
    make_shop,
)
from tests.support.servers import Server, running
from tests.support.waiting import HANG_SECONDS


def _setup(
    world: World, customers: int, earns_each: int
) -> tuple[Shop, list[Customer], dict[int, list[int]]]:
    shop = make_shop(world)
    people = shop.customers(customers)
    earns = {c.id: [shop.earn(c) for _ in range(earns_each)] for c in people}
    return shop, people, earns


def _requests(
    shop: Shop, people: list[Customer], earns: dict[int, list[int]], n: int
) -> list[dict[str, Any]]:
    """n batches; batch i names earn i % k of every customer, customers in a shuffled order."""
    rng = random.Random(7)
    bodies = []
    for i in range(n):
        order = people[:]
        rng.shuffle(order)
        bodies.append(
            shop.body(
                "REVOKE_EARN",
                [entry(c, [earns[c.id][i % len(earns[c.id])]]) for c in order],
            )
        )
    return bodies


def _check_exactly_once(
    world: World, bodies: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> None:
    reported: Counter[int] = Counter()
    named: Counter[int] = Counter()
    invalid: Counter[int] = Counter()
    for body, answer in zip(bodies, answers, strict=True):
        assert answer["totalCount"] == len(body["customers"])
        for asked, got in zip(body["customers"], answer["response"], strict=True):
            [earn_id] = asked["earnIds"]
            named[earn_id] += 1
            if "result" in got:
                assert got["result"]["entityId"] == int(asked["identifierValue"])
                assert got["result"]["revokedEarnIds"] == [earn_id]
                reported[earn_id] += 1
            else:
                assert got == failed(*EARNS_INVALID)
                invalid[earn_id] += 1
    for earn_id, times in named.items():
        assert reported[earn_id] == 1, earn_id
        assert invalid[earn_id] == times - 1, earn_id
        assert world.status_of(t.earns, earn_id) == "REVOKED"
    events = world.audit(action="REVOKE_EARN")
    assert sorted(e.entity_id for e in events) == sorted(named)


def _parallel(calls: list[Callable[[], Any]], workers: int) -> list[Any]:
    """Run every call on its own thread, all released at once."""
    assert workers == len(calls)
    barrier = threading.Barrier(workers)

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=HANG_SECONDS)
        return call()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, calls))


def test_concurrent_requests_revoke_each_earn_exactly_once(world: World) -> None:
    shop, people, earns = _setup(world, customers=3, earns_each=2)
    bodies = _requests(shop, people, earns, n=8)

    def call(body: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            response = shop.post(body)
            assert response.status_code == 200, response.text
            return dict(response.json())

        return go

    answers = _parallel([call(b) for b in bodies], workers=8)
    _check_exactly_once(world, bodies, answers)


def test_concurrent_revoke_enrol_succeeds_once(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    body = shop.body("REVOKE_ENROL", [entry(c)])
    answers = _parallel([lambda: shop.post(body).json() for _ in range(6)], workers=6)
    results = [a["response"][0] for a in answers]
    assert sum("result" in r for r in results) == 1
    assert sum(r == failed(*NO_ACTIVE) for r in results) == 5
    assert len(world.audit(action="REVOKE_ENROL")) == 1
    assert world.status_of(t.enrolments, enrolment) == "REVOKED"


# --- PostgreSQL: a writer between our read and our UPDATE ---------------------------------


@pg_only
@pytest.mark.parametrize("named", [True, False])
def test_returning_is_the_arbiter(
    world: World, database_url: str, named: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Another transaction revokes e1 (no customer lock) after our read, before our UPDATE."""
    caplog.set_level(logging.INFO, logger="promoledger")
    shop = make_shop(world)
    [c] = shop.customers()
    e1, e2 = shop.earn(c), shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c, [e1, e2] if named else None)])

    with psycopg.connect(database_url) as rival:
        rival.execute(
            "UPDATE earns SET status = 'REVOKED', ended_by = 'rival' WHERE id = %s", (e1,)
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(shop.post, body)
            wait_until_blocked(database_url)
            rival.commit()
            response = pending.result(timeout=HANG_SECONDS)

    assert response.status_code == 200
    if named:
        assert response.json()["response"] == [failed(*EARNS_INVALID)]
        assert world.status_of(t.earns, e2) == "ACTIVE"
        assert world.audit(action="REVOKE_EARN") == []
    else:
        assert response.json()["response"][0]["result"]["revokedEarnIds"] == [e2]
        assert [e.entity_id for e in world.audit(action="REVOKE_EARN")] == [e2]
    [row] = world.rows(t.earns, id=e1)
    assert row.ended_by == "rival"
    assert "ledger changed underneath" in caplog.text


# --- PostgreSQL: two real server processes --------------------------------------------------


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    with running(database_url, tmp_path, count=2) as servers:
        yield servers


@pytest.mark.slow
@pg_only
def test_two_server_processes_revoke_each_earn_exactly_once(
    world: World, two_servers: list[Server]
) -> None:
    shop, people, earns = _setup(world, customers=3, earns_each=2)
    bodies = _requests(shop, people, earns, n=10)
    servers = itertools.cycle(two_servers)

    def call(server: Server, body: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            response = server.post(REVOKE, json=body, headers=shop.till.headers)
            assert response.status_code == 200, response.text
            return dict(response.json())

        return go

    answers = _parallel([call(next(servers), b) for b in bodies], workers=10)
    _check_exactly_once(world, bodies, answers)
