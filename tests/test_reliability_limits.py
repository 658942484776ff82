"""Resource limits, as a client meets them: a held lock past the SQLite busy timeout or the
PostgreSQL statement timeout, and an exhausted connection pool, each answer 503 with
Retry-After and commit nothing; the retry, once the resource is free, succeeds once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from promoledger.app import create_app
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from tests import invariants as inv
from tests.conftest import BACKENDS
from tests.factories import Caller, World, bulk_body
from tests.pg import pg_only

sqlite_only = pytest.mark.parametrize("database_url", [BACKENDS[0]], indirect=True)


@contextmanager
def tuned(database_url: str, **knobs: Any) -> Iterator[World]:
    """A World on an app built with these settings."""
    settings = Settings(database_url=database_url, **knobs)
    runtime = Runtime.build(settings)
    try:
        with TestClient(
            create_app(settings, runtime=runtime), raise_server_exceptions=False
        ) as client:
            yield World(runtime=runtime, client=client)
    finally:
        runtime.engine.dispose()


def _setup(world: World) -> tuple[Caller, dict[str, Any]]:
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    promo = world.promotion(org, program)
    people = world.customers(org, program, 3)
    # Warm the verified-credential cache so the request below reaches its write.
    assert world.client.get("/readyz").status_code == 200
    body = bulk_body(program, promo, [c.id for c in people], action="ENROL")
    return till, body


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["errors"][0]["code"] == 9503


@sqlite_only
def test_sqlite_write_lock_held_past_the_busy_timeout_is_503(database_url: str) -> None:
    with tuned(database_url, sqlite_busy_timeout_ms=100) as world:
        till, body = _setup(world)
        headers = {**till.headers, "Idempotency-Key": "busy"}
        before = inv.table_counts(database_url)
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            _assert_unavailable(world.client.post(inv.ENROL_PATH, json=body, headers=headers))
            assert inv.table_counts(database_url) == before
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        retry = world.client.post(inv.ENROL_PATH, json=body, headers=headers)
        assert retry.status_code == 200
        assert "Idempotent-Replayed" not in retry.headers
        assert retry.json()["failureCount"] == 0
        inv.check(database_url)


@pg_only
def test_postgresql_statement_timeout_on_a_held_row_lock_is_503(database_url: str) -> None:
    with tuned(database_url, db_statement_timeout_ms=300) as world:
        till, body = _setup(world)
        before = inv.table_counts(database_url)
        holder = psycopg.connect(database_url)
        try:
            holder.execute("SELECT id FROM customers FOR UPDATE")  # a long writer elsewhere
            _assert_unavailable(world.client.post(inv.ENROL_PATH, json=body, headers=till.headers))
            assert inv.table_counts(database_url) == before
        finally:
            holder.rollback()
            holder.close()
        retry = world.client.post(inv.ENROL_PATH, json=body, headers=till.headers)
        assert retry.status_code == 200
        assert retry.json()["failureCount"] == 0
        inv.check(database_url)


def test_an_exhausted_pool_is_503_and_commits_nothing(database_url: str) -> None:
    with tuned(database_url, db_pool_size=1, db_pool_timeout=0.2) as world:
        till, body = _setup(world)
        headers = {**till.headers, "Idempotency-Key": "pool"}
        before = inv.table_counts(database_url)
        with world.runtime.engine.connect():  # the only pooled connection is taken
            _assert_unavailable(world.client.post(inv.ENROL_PATH, json=body, headers=headers))
            _assert_unavailable(world.client.get("/readyz"))
        assert inv.table_counts(database_url) == before
        retry = world.client.post(inv.ENROL_PATH, json=body, headers=headers)
        assert retry.status_code == 200
        assert retry.json()["failureCount"] == 0
        replay = world.client.post(inv.ENROL_PATH, json=body, headers=headers)
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert len(world.audit(action="ENROL")) == 3
        inv.check(database_url)
