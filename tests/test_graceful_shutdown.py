"""Ctrl-C twice while a request runs: the request finishes, its client gets its real answer and
its Idempotency-Key is settled, never left RUNNING (a retry would get 409 until it went stale)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import psycopg
import pytest
from sqlalchemy import select

from promoledger.store import tables as t
from tests.support.db import pg_only, wait_until_blocked
from tests.support.factories import World
from tests.support.revoke import REVOKE, entry, make_shop
from tests.support.servers import Server

pytestmark = pytest.mark.slow
GENEROUS = 60.0


def _wait_for_log(server: Server, text: str) -> None:
    deadline = time.monotonic() + GENEROUS
    while text not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)


@pg_only
def test_a_second_ctrl_c_lets_the_running_request_finish(
    world: World, database_url: str, tmp_path: Path
) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = orjson.dumps(shop.body("REVOKE_EARN", [entry(c)]))
    server = Server(database_url).start(tmp_path)
    try:
        with psycopg.connect(database_url) as blocker, ThreadPoolExecutor(1) as pool:
            blocker.execute("SELECT id FROM earns WHERE id = %s FOR UPDATE", (earn,))
            with server.client() as client:
                pending = pool.submit(
                    client.post,
                    REVOKE,
                    content=body,
                    headers={
                        **shop.till.headers,
                        "Idempotency-Key": "k-ctrl-c",
                        "Content-Type": "application/json",
                    },
                )
                wait_until_blocked(database_url)
                assert server.process is not None
                os.killpg(server.process.pid, signal.SIGINT)
                _wait_for_log(server, "Shutting down")
                os.killpg(server.process.pid, signal.SIGINT)
                _wait_for_log(server, "still running will finish first")
                blocker.rollback()  # the request can go on now
                answer = pending.result(timeout=GENEROUS)
        assert answer.status_code == 200, answer.text
        assert answer.json()["response"][0]["errors"] == []
        assert server.process.wait(timeout=GENEROUS) == 0
    finally:
        server.stop()
    with world.uow.read() as conn:
        states = conn.execute(select(t.idempotency_keys.c.state)).scalars().all()
    assert states == ["DONE"]
    assert world.status_of(t.earns, earn) != "ACTIVE"
