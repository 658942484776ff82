"""A database failure mid-request: 503 with Retry-After, nothing committed, the key released.

No mocks: SQLite's write lock is held by another connection while the app's busy timeout is
short; on PostgreSQL another transaction locks audit_events while the app runs with a short
lock_timeout, so the request fails *after* its UPDATE of the ledger, before its audit insert.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine

from promoledger.runtime import Runtime
from promoledger.services.auth import Authenticator
from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.store.engine import build_engine, normalize_url
from promoledger.store.uow import UnitOfWork
from tests.support.factories import World
from tests.support.invariants import snapshot
from tests.support.revoke import entry, make_shop

UNAVAILABLE = {
    "errors": [
        {
            "status": False,
            "code": 9503,
            "message": "Service temporarily unavailable; nothing was changed. Retry later.",
        }
    ]
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, db_pool_size=5, sqlite_busy_timeout_ms=150)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    if settings.database_url.startswith("sqlite"):
        engine = build_engine(settings)
    else:
        engine = create_engine(
            normalize_url(settings.database_url),
            pool_size=5,
            max_overflow=0,
            connect_args={"options": "-c lock_timeout=300"},
        )
    uow = UnitOfWork(engine)
    rt = Runtime(settings=settings, engine=engine, uow=uow, auth=Authenticator(uow, settings))
    yield rt
    engine.dispose()


def test_a_database_failure_is_503_and_commits_nothing(
    world: World, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "k-outage"}
    assert shop.post(body, params={"dryRun": "true"}).status_code == 200  # credential verified
    before = snapshot(world.url)

    if database_url.startswith("sqlite"):
        rival = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        rival.execute("BEGIN IMMEDIATE")
        try:
            response = shop.post(body, headers=key)
        finally:
            rival.execute("ROLLBACK")
            rival.close()
    else:
        with psycopg.connect(database_url) as rival:
            rival.execute("LOCK TABLE audit_events IN SHARE MODE")
            response = shop.post(body, headers=key)
            rival.rollback()

    assert response.status_code == 503
    # SQLite fails taking the write lock; PostgreSQL fails at the audit insert, after the UPDATE.
    reason = "database is locked" if database_url.startswith("sqlite") else "lock timeout"
    assert reason in caplog.text
    assert response.headers["retry-after"] == "1"
    assert response.json() == UNAVAILABLE
    assert snapshot(world.url) == before  # no revoke, no audit event, no idempotency key
    assert world.status_of(t.earns, earn) == "ACTIVE"

    retry = shop.post(body, headers=key)
    assert retry.status_code == 200
    assert "idempotent-replayed" not in retry.headers
    assert retry.json()["response"][0]["result"]["revokedEarnIds"] == [earn]
    assert world.status_of(t.earns, earn) == "REVOKED"
    assert len(world.audit(action="REVOKE_EARN")) == 1
