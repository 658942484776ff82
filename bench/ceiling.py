"""The ceiling: each bulk phase's database work in plain SQL, single-threaded, on the driver.

For every batch of customers (the same random batches the HTTP phases send), one transaction:
find the program's members, read what the rule needs, write the change with one statement, and
append one audit row per changed record — what any implementation of the phase must do, with
no HTTP, no JSON, no authentication and no per-customer rules in Python. A phase's HTTP figure
divided by its ceiling is the share of the database's own speed the server reaches.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

AUDIT = (
    "INSERT INTO audit_events (occurred_at, org_id, actor_kind, actor_id, action, entity_type, "
    "entity_id, customer_id, promotion_id, old_status, new_status, request_id) "
    "VALUES (?, ?, 'TILL', 1, ?, ?, ?, ?, ?, ?, ?, 'ceiling')"
)


class Db:
    """One driver connection with SQLite's and PostgreSQL's differences folded in."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            # A long busy timeout: after a large job the server's last WAL checkpoint can still
            # hold the database for a while (the default 5 s gave "database is locked").
            self.conn: Any = sqlite3.connect(
                url.split("///", 1)[1], isolation_level=None, timeout=600
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            # No checkpoint inside the clock (run() checkpoints once the phase is timed): the
            # ceiling is the statements' own cost, so the bar is, if anything, set high.
            self.conn.execute("PRAGMA wal_autocheckpoint=0")
        else:
            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))

    def sql(self, text: str) -> str:
        if self.sqlite:
            return text.replace("IN_LIST", "IN (SELECT value FROM json_each(?))")
        return text.replace("IN_LIST", "= ANY(?)").replace("?", "%s")

    def ids(self, values: Sequence[int]) -> Any:
        return orjson.dumps(list(values)).decode() if self.sqlite else list(values)

    def now(self) -> Any:
        now = datetime.now(UTC)
        return now.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else now

    def begin(self) -> None:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(self.sql(text), params)
        return list(cur.fetchall()) if cur.description is not None else []

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.cursor().executemany(self.sql(text), rows)

    def close(self) -> None:
        self.conn.close()


def _members(db: Db, org: int, program: int, batch: Sequence[int]) -> list[int]:
    lock = "" if db.sqlite else " FOR UPDATE OF c"
    found = db.rows(
        "SELECT c.id, c.org_id FROM customers c JOIN program_members m ON m.customer_id = c.id "
        f"AND m.program_id = ? WHERE c.id IN_LIST ORDER BY c.id{lock}",
        (program, db.ids(batch)),
    )
    return [cid for cid, o in found if o == org]


def _audit(db: Db, org: int, promo: int, action: str, entity: str, rows: Any, old: Any) -> None:
    now = db.now()
    db.many(
        AUDIT,
        [(now, org, action, entity, rid, cid, promo, old, new) for rid, cid, new in rows],
    )


def enrol(db: Db, org: int, program: int, promo: int, batch: Sequence[int]) -> None:
    members = _members(db, org, program, batch)
    used = {
        cid
        for (cid,) in db.rows(
            "SELECT customer_id FROM enrolments WHERE promotion_id = ? AND customer_id IN_LIST",
            (promo, db.ids(members)),
        )
    }
    fresh = [c for c in members if c not in used]
    now = db.now()
    made = db.rows(
        "INSERT INTO enrolments (org_id, promotion_id, customer_id, status, created_at) "
        + (
            "SELECT ?, ?, value, 'ACTIVE', ? FROM json_each(?)"
            if db.sqlite
            else "SELECT ?, ?, u, 'ACTIVE', ? FROM unnest(?::bigint[]) AS u"
        )
        + " RETURNING id, customer_id",
        (org, promo, now, db.ids(fresh)),
    )
    _audit(db, org, promo, "ENROL", "ENROLMENT", [(r, c, "ACTIVE") for r, c in made], None)


def earn(db: Db, org: int, program: int, promo: int, batch: Sequence[int]) -> None:
    members = _members(db, org, program, batch)
    enrolled = dict(
        db.rows(
            "SELECT customer_id, id FROM enrolments WHERE promotion_id = ? "
            "AND customer_id IN_LIST AND status = 'ACTIVE'",
            (promo, db.ids(members)),
        )
    )
    earned: dict[int, int] = {}
    for (cid,) in db.rows(
        "SELECT customer_id FROM earns WHERE promotion_id = ? AND customer_id IN_LIST",
        (promo, db.ids(members)),
    ):
        earned[cid] = earned.get(cid, 0) + 1
    pairs = [(c, enrolled[c]) for c in members if c in enrolled and earned.get(c, 0) < 2]
    now = db.now()
    made = db.rows(
        "INSERT INTO earns (org_id, promotion_id, customer_id, enrolment_id, status, created_at) "
        + (
            "SELECT ?, ?, value ->> 0, value ->> 1, 'ACTIVE', ? FROM json_each(?)"
            if db.sqlite
            else "SELECT ?, ?, c, e, 'ACTIVE', ? FROM unnest(?::bigint[], ?::bigint[]) AS u(c, e)"
        )
        + " RETURNING id, customer_id",
        (org, promo, now, orjson.dumps(pairs).decode())
        if db.sqlite
        else (org, promo, now, [c for c, _ in pairs], [e for _, e in pairs]),
    )
    _audit(db, org, promo, "EARN", "EARN", [(r, c, "ACTIVE") for r, c in made], None)


def _revoke(db: Db, table: str, org: int, promo: int, customers: Sequence[int]) -> Any:
    now = db.now()
    return db.rows(
        f"UPDATE {table} SET status = 'REVOKED', ended_at = ?, ended_by = 'TILL:1', "
        "ended_request_id = 'ceiling' WHERE promotion_id = ? AND customer_id IN_LIST "
        "AND status = 'ACTIVE' RETURNING id, customer_id",
        (now, promo, db.ids(customers)),
    )


def revoke_earn(db: Db, org: int, program: int, promo: int, batch: Sequence[int]) -> None:
    revoked = _revoke(db, "earns", org, promo, _members(db, org, program, batch))
    rows = [(r, c, "REVOKED") for r, c in revoked]
    _audit(db, org, promo, "REVOKE_EARN", "EARN", rows, "ACTIVE")


def revoke_enrol(db: Db, org: int, program: int, promo: int, batch: Sequence[int]) -> None:
    members = _members(db, org, program, batch)
    busy = {
        cid
        for (cid,) in db.rows(
            "SELECT customer_id FROM earns WHERE promotion_id = ? AND customer_id IN_LIST "
            "AND status = 'ACTIVE'",
            (promo, db.ids(members)),
        )
    }
    revoked = _revoke(db, "enrolments", org, promo, [c for c in members if c not in busy])
    rows = [(r, c, "REVOKED") for r, c in revoked]
    _audit(db, org, promo, "REVOKE_ENROL", "ENROLMENT", rows, "ACTIVE")


Work = Callable[[Db, int, int, int, Sequence[int]], None]
PHASES: dict[str, Work] = {
    "ENROL": enrol,
    "EARN": earn,
    "REVOKE_EARN": revoke_earn,
    "REVOKE_ENROL": revoke_enrol,
}


def run(
    url: str, work: Work, org: int, program: int, promo: int, batches: Sequence[Sequence[int]]
) -> tuple[float, list[float]]:
    """Seconds for all batches and each batch's milliseconds, one transaction per batch."""
    db = Db(url)
    latencies: list[float] = []
    try:
        started = time.perf_counter()
        for batch in batches:
            began = time.perf_counter()
            db.begin()
            work(db, org, program, promo, batch)
            db.commit()
            latencies.append((time.perf_counter() - began) * 1000)
        seconds = time.perf_counter() - started
        if db.sqlite:
            db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return seconds, latencies
    finally:
        db.close()
