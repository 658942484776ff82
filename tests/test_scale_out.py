"""Scale-out: several ``promoledger serve`` processes on one database behave as one server.

What the processes share goes through the database: the token signing key (``signing_keys``),
the throttling counters (``auth_failures``), idempotency keys, and of course the ledger.
"""

from __future__ import annotations

import base64
import itertools
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from promoledger.store import tables as t
from tests.support import invariants as inv
from tests.support.db import pg_only
from tests.support.factories import World
from tests.support.servers import Server, running
from tests.support.waiting import HANG_SECONDS
from tests.test_reliability_concurrency import hammer, make_workload

pytestmark = pytest.mark.slow


def _round_robin(servers: list[Server], headers: dict[str, str]) -> Any:
    clients = [s.client() for s in servers]
    turn = itertools.count()
    lock = threading.Lock()

    def post(path: str, body: dict[str, Any]) -> httpx2.Response:
        with lock:
            client = clients[next(turn) % len(clients)]
        return client.post(path, json=body, headers=headers)

    return post, clients


def test_two_processes_on_one_database_keep_every_invariant(
    world: World, database_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL (row locks) and on SQLite (one file, one writer at a time, WAL)."""
    till, workload = make_workload(world)
    with running(database_url, tmp_path, count=2) as servers:
        post, clients = _round_robin(servers, till.headers)
        try:
            statuses = hammer(post, workload, threads=6, per_thread=10)
        finally:
            for client in clients:
                client.close()
    assert statuses == [200] * 60
    counts = inv.check(database_url, workload.ack)
    assert workload.ack.earns
    assert workload.ack.revoked_earns
    assert counts["EARN"] == len(workload.ack.earns)


@pg_only
def test_a_token_from_one_process_is_accepted_by_another(
    world: World, database_url: str, tmp_path: Path
) -> None:
    org = world.org()
    client = world.oauth_client(org, access="customer:read")
    customer = world.customers(org, world.program(org), 1)[0]
    with running(database_url, tmp_path, count=2) as (a, b):
        issued = a.post(
            "/v3/oauth/token/generate", json={"key": client.name, "secret": client.secret}
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["data"]["accessToken"]
        params = {"identifierName": "id", "identifierValue": str(customer.id)}
        for server in (b, a):
            answer = server.get(
                "/v2/customers/lookup/promotionData",
                params=params,
                headers={"X-CAP-API-OAUTH-TOKEN": token},
            )
            assert answer.status_code == 200, answer.text
        # A tampered token is refused by both.
        forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        for server in (a, b):
            refused = server.get(
                "/v2/customers/lookup/promotionData",
                params=params,
                headers={"X-CAP-API-OAUTH-TOKEN": forged},
            )
            assert refused.status_code == 401
    assert len(world.rows(t.signing_keys)) == 1  # both processes use the one stored key


@pg_only
def test_throttling_counts_failures_across_processes(
    world: World, database_url: str, tmp_path: Path
) -> None:
    org = world.org()
    till = world.till(org)
    wrong = {**till.headers}
    wrong["Authorization"] = (
        "Basic " + base64.b64encode(f"{till.name}:{'0' * 32}".encode()).decode()
    )
    url = "/v2/customers/lookup/promotionData?identifierName=id&identifierValue=1"
    with running(database_url, tmp_path, count=2, PROMOLEDGER_AUTH_FAILURE_LIMIT="4") as (a, b):
        statuses = [s.get(url, headers=wrong).status_code for s in (a, b, a, b)]
        assert statuses == [401] * 4
        for server in (a, b):
            # The limit is reached across the two processes: both now refuse even the right
            # password, with Retry-After.
            throttled = server.get(url, headers=till.headers)
            assert throttled.status_code == 429
            assert int(throttled.headers["Retry-After"]) >= 1


@pg_only
def test_serve_with_two_workers_shares_one_database(
    world: World, database_url: str, tmp_path: Path
) -> None:
    till, workload = make_workload(world)
    with running(database_url, tmp_path, workers=2) as (server,):
        # /readyz answered through one worker; wait for the supervisor and both workers.
        deadline = time.monotonic() + HANG_SECONDS
        while len(group := _process_group(server)) < 3:
            assert time.monotonic() < deadline, group
            time.sleep(0.05)
        post, clients = _round_robin([server, server], till.headers)
        try:
            statuses = hammer(post, workload, threads=4, per_thread=8)
        finally:
            for client in clients:
                client.close()
    assert statuses == [200] * 32
    inv.check(database_url, workload.ack)


def _process_group(server: Server) -> list[int]:
    assert server.process is not None
    pgid = os.getpgid(server.process.pid)
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    members.append(int(entry.name))
            except ProcessLookupError:
                continue
    return members
