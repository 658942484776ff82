"""Throttling: failed attempts per credential name, counted in the database for every process.

Two counters per name, so nobody can lock a credential out for its owner:

- per (name, client address): ``auth_failure_limit`` failures from one address close the name
  to that address only;
- per name, from every address: the much higher ``auth_failure_name_limit`` stops distributed
  guessing; it closes the name to everyone except callers whose secret was verified right
  recently (they are never throttled, see ``passwords``).

An attempt is counted *before* its secret is checked, in one write transaction that also reads
the counts, so a burst of concurrent guesses cannot all be checked before the first failure is
written: once the limit is reached, the rest are refused (429) unchecked. A right secret takes
its count back. Failures are counted in fixed windows; the current and the previous window both
count, so a burst cannot straddle a window boundary to get twice the limit.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cachetools import TTLCache
from sqlalchemy import Connection

from promoledger.domain.errors import Throttled
from promoledger.settings import Settings
from promoledger.store import credentials as store
from promoledger.store.uow import UnitOfWork

# Pair counters share the auth_failures table with name counters; their key starts with a
# control character, which no credential name may contain (see principals.valid_name).
_PAIR_MARK = "\x1f"
FAILURE_KEY_LENGTH = store.FAILURE_NAME_LENGTH  # longer (attacker-chosen) names: their prefix


def pair_prefix(name: str) -> str:
    """Every (name, address) counter of ``name`` starts with this."""
    return f"{_PAIR_MARK}{hashlib.sha256(name.encode()).hexdigest()[:24]}{_PAIR_MARK}"


def pair_key(name: str, client: str | None) -> str:
    """The counter key of one name from one client address (fits auth_failures.name)."""
    return f"{pair_prefix(name)}{(client or '-')[:64]}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt counted before its check: where, so a right secret can take it back."""

    name: str
    client: str | None
    window: datetime
    # "client" or "name" when this attempt used the last try of that counter: if it fails,
    # the name is closed (to this address, or to everyone) — a lockout, logged and audited.
    locks_out: str | None


class Throttle:
    """Per-process view of the shared failure counters (the counters live in the database)."""

    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self._uow = uow
        self._limit = settings.auth_failure_limit
        self._ceiling = settings.auth_failure_name_limit
        self._span = timedelta(seconds=settings.auth_failure_window_seconds)
        self._pruned_window: datetime | None = None
        self._lock = threading.Lock()
        self._unknown: TTLCache[tuple[str, datetime], int] = TTLCache(
            maxsize=100_000, ttl=2 * settings.auth_failure_window_seconds
        )

    def window_start(self) -> datetime:
        """The start of the current counting window."""
        span = int(self._span.total_seconds())
        now = int(datetime.now(UTC).timestamp())
        return datetime.fromtimestamp(now - now % span, UTC)

    def counted_from(self, window: datetime) -> datetime:
        """Failures at or after this instant count (the previous window and this one)."""
        return window - self._span

    def refuse_if_over(
        self, *, name: str, client: str | None, name_failures: int, pair_failures: int
    ) -> None:
        """429 (without a write) when a counter read with the credential is already full."""
        window = self.window_start()
        if pair_failures >= self._limit:
            raise Throttled(retry_after=self._retry_after(pair_key(name, client), window))
        if name_failures >= self._ceiling:
            raise Throttled(retry_after=self._retry_after(name, window, ceiling=True))

    def count_attempt(self, name: str, client: str | None) -> Attempt:
        """Count an attempt before its check, or 429 (counting nothing) when it is one too many."""
        window = self.window_start()
        since = self.counted_from(window)
        pair = pair_key(name, client)
        with self._uow.write() as conn:
            if self._pruned_window != window:
                store.prune_failures(conn, before=since)
                self._pruned_window = window
            now = store.add_failures(conn, [pair, name], window)
            pair_now, name_now = now[pair], now[name[:FAILURE_KEY_LENGTH]]
            totals = store.failures_of(conn, [pair, name], since)
            pair_total, name_total = totals[pair], totals[name[:FAILURE_KEY_LENGTH]]
            # Raising rolls the transaction back: a refused attempt is not counted (hence -1).
            if pair_total > self._limit:
                raise Throttled(retry_after=self._seconds_left(window, pair_now - 1, self._limit))
            if name_total > self._ceiling:
                raise Throttled(retry_after=self._seconds_left(window, name_now - 1, self._ceiling))
        locks_out = (
            "client"
            if pair_total == self._limit
            else "name"
            if name_total == self._ceiling
            else None
        )
        return Attempt(name=name, client=client, window=window, locks_out=locks_out)

    def count_unknown(self, name: str, client: str | None) -> tuple[str, int] | None:
        """A name that is no credential: counted like one (so 429 tells nobody which names
        exist), but in this process's memory, so a flood of made-up names costs no write.

        Returns (scope, retry_after) when this attempt filled a counter — "client" for the
        name from this address, "address" for made-up names from this address — else None.
        """
        window = self.window_start()
        key = (pair_key(name, client), window)
        stranger = (f"{_PAIR_MARK}{client}", window)
        with self._lock:
            counted = self._unknown.get(key, 0) + 1
            if counted > self._limit:
                raise Throttled(retry_after=self._seconds_left(window, counted - 1, self._limit))
            self._unknown[key] = counted
            strangers = self._unknown.get(stranger, 0) + 1
            self._unknown[stranger] = strangers
            previous = self._unknown.get((stranger[0], window - self._span), 0)
        if counted == self._limit:
            return "client", self._seconds_left(window, counted, self._limit)
        if strangers + previous == self._ceiling:
            return "address", self._seconds_left(window, strangers, self._ceiling)
        return None

    def refuse_if_flooding(self, client: str | None) -> None:
        """429 at once, before any database work, for an address that sent more made-up names
        than ``auth_failure_name_limit`` in this window and the previous one (this process).
        Only asked for secrets this process has not verified right, so a legitimate caller
        behind the same address keeps working."""
        window = self.window_start()
        with self._lock:
            current = self._unknown.get((f"{_PAIR_MARK}{client}", window), 0)
            previous = self._unknown.get((f"{_PAIR_MARK}{client}", window - self._span), 0)
        if current + previous >= self._ceiling:
            raise Throttled(retry_after=self._seconds_left(window, current, self._ceiling))

    def forgive(self, attempt: Attempt) -> None:
        """The attempt's secret was right: it is no failure."""
        keys = [pair_key(attempt.name, attempt.client), attempt.name]
        with self._uow.write() as conn:
            store.forgive_failures(conn, keys, attempt.window)

    def retry_after(self, attempt: Attempt) -> int:
        """Seconds until the counter this attempt filled lets the name be tried again."""
        limit = self._limit if attempt.locks_out == "client" else self._ceiling
        key = pair_key(attempt.name, attempt.client) if attempt.locks_out == "client" else None
        with self._uow.read() as conn:
            current = store.failures_since(conn, key or attempt.name, attempt.window)
        return self._seconds_left(attempt.window, current, limit)

    @staticmethod
    def clear(conn: Connection, name: str) -> int:
        """Forget every failure counted against ``name``, from any address (an operator unlock)."""
        return store.clear_failures(conn, [name], [pair_prefix(name)])

    def _retry_after(self, key: str, window: datetime, *, ceiling: bool = False) -> int:
        with self._uow.read() as conn:
            current = store.failures_since(conn, key, window)
        return self._seconds_left(window, current, self._ceiling if ceiling else self._limit)

    def _seconds_left(self, window: datetime, current: int, limit: int) -> int:
        # The current window keeps counting (as the previous one) through the next window.
        end = window + self._span * (2 if current >= limit else 1)
        return max(math.ceil((end - datetime.now(UTC)).total_seconds()), 1)
