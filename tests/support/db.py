"""The databases tests run on: SQLite always, PostgreSQL when reachable (required with CI=true),
plus helpers for reading a database straight, outside any app.
"""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy import Engine, create_engine

from tests.support.waiting import HANG_SECONDS

PG_ADMIN_URL = os.environ.get(
    "PROMOLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=10):
            return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


PG_PROBLEM = _pg_reachable()
if IN_CI and PG_PROBLEM:
    raise pytest.UsageError(
        f"CI=true but PostgreSQL is unreachable at {PG_ADMIN_URL}: {PG_PROBLEM}"
    )

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            PG_PROBLEM is not None, reason=f"PostgreSQL unreachable: {PG_PROBLEM}"
        ),
    ),
]

# Parametrize the conftest's backend fixture with one of its params (the PostgreSQL one keeps
# its "unreachable → skip" mark, and CI=true still turns unreachable into a failure).
sqlite_only = pytest.mark.parametrize("database_url", [BACKENDS[0]], indirect=True)
pg_only = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)


def engine_for(url: str) -> Engine:
    """A plain engine on ``url`` (no app settings), for reading the database straight."""
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def wait_until_blocked(url: str) -> None:
    """Wait until some session of this PostgreSQL database waits on a lock."""
    deadline = time.monotonic() + HANG_SECONDS
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no request blocked on the lock held by the test")
