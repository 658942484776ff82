"""Helpers for tests that only make sense on PostgreSQL (row locks, several processes)."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.conftest import BACKENDS

# Parametrize the conftest's backend fixture with its PostgreSQL param only (it keeps its
# "unreachable → skip" mark, and CI=true still turns unreachable into a failure).
pg_only = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)


def wait_until_blocked(url: str, timeout: float = 10.0) -> None:
    """Wait until some session of this PostgreSQL database waits on a lock."""
    deadline = time.monotonic() + timeout
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
