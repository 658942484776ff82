"""What a system of record must hold after any mix of concurrent requests, crashes and retries,
checked from the database alone (plus what the server acknowledged).

- Every acknowledged change is present: an id a 200 response reported created exists; an id it
  reported revoked is REVOKED.
- Audit events equal state changes: every enrolment and earn has an audit chain that starts
  with its creation, links old → new status event by event, and ends at the row's status; no
  event names a row that does not exist; a row ended by a request carries that request's id.
- Exactly once: no earn or enrolment has more than one REVOKE event.
- Limits: no customer holds more non-revoked records than the promotion allows.
- Integrity: foreign keys resolve (SQLite also passes ``PRAGMA integrity_check``).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from promoledger.store import tables as t
from tests.support.db import engine_for

ENROL_PATH = "/v2/promotion/bulk/enrolAndEarn"
DIRECT_PATH = "/v2/promotion/bulk/directEarn"
REVOKE_PATH = "/v2/promotion/bulk/revokeEnrolAndEarn"
REVOKE_DIRECT_PATH = "/v2/promotion/bulk/revokeDirectEarn"
_ENTITY_TABLE = {"ENROLMENT": t.enrolments, "EARN": t.earns}
_CREATE = {"ENROL", "DIRECT_ENROL", "EARN"}  # DIRECT_ENROL: a direct issue's dummy enrolment


@dataclass
class Acknowledged:
    """Everything the server answered 200 for, by kind of change."""

    enrolments: set[int] = field(default_factory=set)
    earns: set[int] = field(default_factory=set)
    revoked_enrolments: set[int] = field(default_factory=set)
    revoked_earns: Counter[int] = field(default_factory=Counter)
    requests: int = 0

    def add(self, path: str, body: dict[str, Any], answer: dict[str, Any]) -> None:
        """Record a 200 answer to ``body`` posted to ``path``."""
        self.requests += 1
        action = body.get("bulkAction", "EARN")
        for entry in answer["response"]:
            result = entry.get("result")
            if not result:
                continue
            if path == ENROL_PATH and action == "ENROL" and "issualId" in result:
                self.enrolments.add(int(result["issualId"]))
            if path in (ENROL_PATH, DIRECT_PATH) and "earnedId" in result:
                self.earns.add(int(result["earnedId"]))
            if "revokedIssualId" in result:
                self.revoked_enrolments.add(int(result["revokedIssualId"]))
            self.revoked_earns.update(int(i) for i in result.get("revokedEarnIds", []))


def check(url: str, ack: Acknowledged | None = None) -> dict[str, int]:
    """Assert every invariant; return row counts (for the report and for further asserts)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            _integrity(conn)
            rows = {name: _rows_by_id(conn, table) for name, table in _ENTITY_TABLE.items()}
            events = conn.execute(
                select(t.audit_events)
                .where(t.audit_events.c.entity_type.in_(list(_ENTITY_TABLE)))
                .order_by(t.audit_events.c.id)
            ).all()
            limits = {
                int(p.id): (int(p.enrolments_per_customer), int(p.earns_per_customer))
                for p in conn.execute(select(t.promotions))
            }
    finally:
        engine.dispose()
    _audit_equals_state(rows, events)
    _exactly_once(events)
    _limits(rows, limits)
    if ack is not None:
        _acknowledged_present(rows, ack)
    return {name: len(by_id) for name, by_id in rows.items()} | {"events": len(events)}


def _rows_by_id(conn: Connection, table: Any) -> dict[int, Any]:
    return {int(r.id): r for r in conn.execute(select(table))}


def _integrity(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    # On both: the references the schema declares resolve (PostgreSQL enforces them; this
    # proves nothing was written around them), and statuses are from the vocabulary.
    orphans = conn.execute(
        text(
            "SELECT count(*) FROM earns e LEFT JOIN enrolments n ON n.id = e.enrolment_id "
            "WHERE e.enrolment_id IS NOT NULL AND n.id IS NULL"
        )
    ).scalar()
    assert orphans == 0
    for table in (t.enrolments, t.earns):
        bad = conn.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.status.not_in(["ACTIVE", "REVOKED", "REPLACED", "EXPIRED"]))
        ).scalar()
        assert bad == 0


def _audit_equals_state(rows: dict[str, dict[int, Any]], events: Iterable[Any]) -> None:
    chains: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for event in events:
        chains[(event.entity_type, int(event.entity_id))].append(event)
    for (kind, entity_id), chain in chains.items():
        row = rows[kind].get(entity_id)
        assert row is not None, f"audit names {kind} {entity_id}, which does not exist"
        first = chain[0]
        assert first.action in _CREATE, (kind, entity_id, first)
        assert first.old_status is None, (kind, entity_id, first)
        for before, after in itertools.pairwise(chain):
            assert after.old_status == before.new_status, (kind, entity_id, before, after)
            assert after.action not in _CREATE, (kind, entity_id, after)
        last = chain[-1]
        assert last.new_status == row.status, (kind, entity_id, last.new_status, row.status)
        if len(chain) > 1 and last.action != "EXPIRE":
            assert row.ended_request_id == last.request_id, (kind, entity_id)
    for kind, by_id in rows.items():
        missing = [i for i in by_id if (kind, i) not in chains]
        assert missing == [], f"{kind} rows without a creation event: {missing[:10]}"


def _exactly_once(events: Iterable[Any]) -> None:
    revokes = Counter(
        (e.entity_type, int(e.entity_id))
        for e in events
        if e.action in ("REVOKE_EARN", "REVOKE_ENROL")
    )
    twice = [k for k, n in revokes.items() if n > 1]
    assert twice == [], f"revoked more than once: {twice[:10]}"


def _limits(rows: dict[str, dict[int, Any]], limits: dict[int, tuple[int, int]]) -> None:
    for position, kind in enumerate(("ENROLMENT", "EARN")):
        held = Counter(
            (int(r.promotion_id), int(r.customer_id))
            for r in rows[kind].values()
            if r.status != "REVOKED"
        )
        for (promotion_id, customer_id), n in held.items():
            limit = limits[promotion_id][position]
            assert limit == -1 or n <= limit, (kind, promotion_id, customer_id, n, limit)


def _acknowledged_present(rows: dict[str, dict[int, Any]], ack: Acknowledged) -> None:
    lost = [i for i in ack.enrolments if i not in rows["ENROLMENT"]]
    assert lost == [], f"acknowledged enrolments missing: {lost[:10]}"
    lost = [i for i in ack.earns if i not in rows["EARN"]]
    assert lost == [], f"acknowledged earns missing: {lost[:10]}"
    for i in ack.revoked_enrolments:
        assert rows["ENROLMENT"][i].status == "REVOKED", i
    twice = [i for i, n in ack.revoked_earns.items() if n > 1]
    assert twice == [], f"earns reported revoked by two requests: {twice[:10]}"
    for i in ack.revoked_earns:
        assert rows["EARN"][i].status == "REVOKED", i


def table_counts(url: str, *tables: Table) -> dict[str, int]:
    """Rows in each of ``tables`` (default: every table): a request that changes nothing leaves
    these equal."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in tables or t.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """Everything a request could change, to compare before and after: the rows in every table,
    and the ledger rows themselves (a status change leaves the counts equal)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            ledger = {
                f"{table.name} rows": [tuple(r) for r in conn.execute(select(table).order_by("id"))]
                for table in (t.enrolments, t.earns)
            }
    finally:
        engine.dispose()
    return table_counts(url) | ledger


def events_per_request(url: str) -> Counter[str]:
    """How many ledger audit events each request id wrote."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return Counter(
                {
                    str(r.request_id): int(r.n)
                    for r in conn.execute(
                        select(t.audit_events.c.request_id, func.count().label("n"))
                        .where(t.audit_events.c.entity_type.in_(list(_ENTITY_TABLE)))
                        .group_by(t.audit_events.c.request_id)
                    )
                }
            )
    finally:
        engine.dispose()
