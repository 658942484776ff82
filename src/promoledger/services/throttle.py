"""Throttling: failed attempts per credential name, counted in the database for every process.

Failures are counted in fixed windows; the current and the previous window both count, so a
burst cannot straddle a window boundary to get twice the limit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from promoledger.domain.errors import Throttled
from promoledger.settings import Settings
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork


class Throttle:
    """Per-process view of the shared failure counters (the counters live in the database)."""

    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self._uow = uow
        self._limit = settings.auth_failure_limit
        self._span = timedelta(seconds=settings.auth_failure_window_seconds)
        self._pruned_window: datetime | None = None

    def window_start(self) -> datetime:
        """The start of the current counting window."""
        span = int(self._span.total_seconds())
        now = int(datetime.now(UTC).timestamp())
        return datetime.fromtimestamp(now - now % span, UTC)

    def counted_from(self, window: datetime) -> datetime:
        """Failures at or after this instant count (the previous window and this one)."""
        return window - self._span

    def refuse_if_over(self, failures: int, name: str, window: datetime) -> None:
        """429 once ``failures`` reached the limit, with the seconds until they drop below it."""
        if failures >= self._limit:
            raise Throttled(retry_after=self._retry_after(name, window))

    def count(self, conn: Connection, name: str, window: datetime) -> None:
        """Count one failure against ``name`` in the caller's write transaction."""
        if self._pruned_window != window:
            store.prune_failures(conn, before=window - self._span)
            self._pruned_window = window
        store.add_failure(conn, name, window)

    def _retry_after(self, name: str, window: datetime) -> int:
        with self._uow.read() as conn:
            current = store.failures_since(conn, name, window)
        # The current window keeps counting (as the previous one) through the next window.
        end = window + self._span * (2 if current >= self._limit else 1)
        return max(math.ceil((end - datetime.now(UTC)).total_seconds()), 1)
