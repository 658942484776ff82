"""The reinstatement's pure rules (domain/reinstate.py), and the chunk-by-chunk entry points a
bulk job uses (services/reinstate.py), including the retry when the ledger moves underneath."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from promoledger.domain.context import Context
from promoledger.domain.errors import DatabaseUnavailable
from promoledger.domain.ledger import CustomerLedger, LedgerRecord
from promoledger.domain.promotions import Promotion
from promoledger.domain.reinstate import (
    Reason,
    Reinstatement,
    RevokedItem,
    Skip,
    chunks,
    decide,
)
from promoledger.domain.vocabulary import PromotionType, Status
from promoledger.services import reinstate as service
from promoledger.store import reinstate as store
from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.revoke import entry, make_shop
from tests.test_reinstatements import enrolled_with_earns, revoke

NOW = datetime(2030, 1, 1, tzinfo=UTC)
R = "revoke-1"


def _promotion(type: PromotionType = PromotionType.ENROL_AND_ISSUE, **limits: int) -> Promotion:
    return Promotion(
        id=7,
        org_id=1,
        program_id=1,
        identifier="p",
        name="p",
        type=type,
        active=True,
        start_date=None,
        end_date=None,
        enrolments_per_customer=limits.get("enrolments", 1),
        earns_per_customer=limits.get("earns", 1),
        enrolment_expiry=None,
        enrolment_expiry_days=None,
        earn_expiry=None,
        earn_expiry_days=None,
    )


def _rec(rid: int, status: Status = Status.REVOKED, **kw: Any) -> LedgerRecord:
    return LedgerRecord(rid, kw.pop("customer_id", 1), status, ended_request_id=R, **kw)


def test_status_and_expiry_reasons() -> None:
    earns = [
        _rec(1, Status.ACTIVE),
        _rec(2, Status.EXPIRED),
        _rec(3),
        _rec(4, expires_at=NOW),
        _rec(5, expires_at=NOW + timedelta(seconds=1)),
    ]
    earns[2].ended_request_id = "another"  # revoked again, by another request
    decision = decide(
        request_id=R,
        promotion=_promotion(PromotionType.DIRECT_ISSUE, earns=-1),
        enrolments=[_rec(9, Status.REPLACED)],
        earns=earns,
        ledgers={},
        now=NOW,
    )
    assert decision.earns == {5: 1}
    assert decision.skipped == [
        Skip("ENROLMENT", 9, 1, Reason.ALREADY_ACTIVE),
        Skip("EARN", 1, 1, Reason.ALREADY_ACTIVE),
        Skip("EARN", 2, 1, Reason.EXPIRED),
        Skip("EARN", 3, 1, Reason.REVOKED_AGAIN),
        Skip("EARN", 4, 1, Reason.EXPIRED),
    ]


def test_earns_follow_the_enrolments_put_back_and_count_against_the_limit() -> None:
    ledger = CustomerLedger(
        enrolments=[LedgerRecord(10, 1, Status.REVOKED), LedgerRecord(11, 1, Status.EXPIRED)],
        earns=[LedgerRecord(20, 1, Status.EXPIRED)],
    )
    decision = decide(
        request_id=R,
        promotion=_promotion(enrolments=2, earns=3),
        enrolments=[_rec(10)],
        earns=[
            _rec(21, enrolment_id=10),
            _rec(22, enrolment_id=11),
            _rec(23, enrolment_id=None),
            _rec(24, enrolment_id=10),
        ],
        ledgers={1: ledger},
        now=NOW,
    )
    # Limits: enrolment 11 (EXPIRED) uses a slot, 10 takes the second; earn 20 (EXPIRED)
    # counts, so two of the three earns that may go back do.
    assert decision.enrolments == {10: 1}
    assert decision.earns == {21: 1, 23: 1}
    assert decision.skipped == [
        Skip("EARN", 22, 1, Reason.NOT_ENROLLED),
        Skip("EARN", 24, 1, Reason.LIMIT),
    ]


def test_an_earn_without_its_enrolment_needs_one_unless_direct_issue() -> None:
    lone = [_rec(30, enrolment_id=None)]
    for type, reinstated in (
        (PromotionType.ENROL_AND_ISSUE, {}),
        (PromotionType.DIRECT_ISSUE, {30: 1}),
    ):
        decision = decide(
            request_id=R,
            promotion=_promotion(type),
            enrolments=[],
            earns=lone,
            ledgers={},
            now=NOW,
        )
        assert decision.earns == reinstated


def test_chunks_keep_a_customers_items_together_enrolments_first() -> None:
    items = [
        RevokedItem(2, "EARN", 5, 7),
        RevokedItem(1, "EARN", 3, 7),
        RevokedItem(1, "ENROLMENT", 4, 7),
        RevokedItem(2, "EARN", 6, 7),
        RevokedItem(3, "EARN", 1, 7),
    ]
    cut = chunks(items, 2)
    assert [[(i.customer_id, i.entity_id) for i in c] for c in cut] == [
        [(1, 4), (1, 3)],
        [(2, 5), (2, 6)],
        [(3, 1)],
    ]
    assert chunks([], 2) == []
    assert chunks(items, 1000) == [sorted(items, key=lambda i: i.sort_key)]


def test_merged_adds_up_chunks() -> None:
    a = Reinstatement(1, 2, [Skip("EARN", 1, 1, Reason.LIMIT)])
    b = Reinstatement(0, 3, [Skip("EARN", 2, 2, Reason.EXPIRED)])
    assert a.merged(b) == Reinstatement(1, 5, [*a.skipped, *b.skipped])


def test_a_job_reinstates_chunk_by_chunk(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    people = shop.customers(3)
    enrolled_with_earns(shop, people, 2)
    rid = revoke(shop, "REVOKE_EARN", [entry(c) for c in people])
    ctx = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="job-chunks")

    items = service.revoked_items(world.uow, org_id=shop.org, request_id=rid)
    assert len(items) == 6
    assert service.revoked_items(world.uow, org_id=shop.org + 1, request_id=rid) == []
    total = Reinstatement()
    for chunk in chunks(items, 2):
        total = total.merged(
            world.uow.apply(
                lambda conn, chunk=chunk: service.reinstate_chunk(
                    conn, ctx, request_id=rid, items=chunk, now=datetime.now(UTC)
                )
            )
        )
    assert (total.enrolments, total.earns, total.skipped) == (0, 6, [])
    assert {r.status for r in world.rows(t.earns)} == {"ACTIVE"}


def test_a_ledger_that_moves_underneath_is_decided_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop(world, earns_per_customer=3)
    [c] = shop.customers(1)
    enrolled_with_earns(shop, [c], 1)
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    real = store.reinstate
    calls = {"n": 0}

    def first_returns_nothing(conn: Any, table: Any, ids: Any, *, request_id: str) -> set[int]:
        # Only calls that put something back count (the enrolments' call has no ids here).
        if ids:
            calls["n"] += 1
            if calls["n"] == 1:
                return set()  # as if a concurrent writer had taken every row
        return real(conn, table, ids, request_id=request_id)

    monkeypatch.setattr(store, "reinstate", first_returns_nothing)
    ctx = Context(org_id=shop.org, actor_kind="SYSTEM")
    result = service.reinstate(world.uow, ctx, request_id=rid)
    assert (result.earns, result.skipped) == (1, [])
    assert calls["n"] == 2  # the first attempt was rolled back and decided again
    assert len(world.audit(action="REINSTATE_EARN")) == 1

    # A ledger that never stops moving: 503, nothing committed.
    revoke(shop, "REVOKE_EARN", [entry(c)])
    again = service.revoked_items(world.uow, org_id=shop.org, request_id=rid)
    assert again  # the first revoke's events remain
    monkeypatch.setattr(store, "reinstate", lambda *a, **k: {-1})
    later = world.audit(action="REVOKE_EARN")[-1].request_id
    with pytest.raises(DatabaseUnavailable):
        service.reinstate(world.uow, ctx, request_id=later)
    assert len(world.audit(action="REINSTATE_EARN")) == 1


def test_what_a_request_revoked_is_read_through_its_index(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("audit_events")}
    assert indexes["ix_audit_events_org_request_revokes"] == ["org_id", "request_id"]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {store.REVOKED_BY.sqlite}", (1, "r")
            ).all()
        else:
            # Usable at all (the partial index's condition is implied by the query's): with
            # sequential scans priced out, PostgreSQL picks it whatever its statistics say.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {store.REVOKED_BY.postgresql}", (1, "r")).all()
    plan = " | ".join(str(r[-1]) if engine.dialect.name == "sqlite" else str(r[0]) for r in rows)
    assert "ix_audit_events_org_request_revokes" in plan, plan
