"""Helpers for the bulk-job tests: a promotion with customers and earns, files, and running."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from promoledger.jobs.worker import JobRunner
from promoledger.runtime import Runtime
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import Caller, Customer, World
from tests.support.waiting import HANG_SECONDS


@dataclass
class Campaign:
    caller: Caller
    program_id: int
    promotion: Any
    customers: list[Customer]
    earns: dict[int, list[int]]  # customer id → earn ids, ascending

    def params(self, action: str, **extra: Any) -> dict[str, Any]:
        return {
            "action": action,
            "programId": self.program_id,
            "promotionId": self.promotion.id,
            "identifierName": "id",
            **extra,
        }


def campaign(
    world: World, n: int, *, earns_each: int = 2, type: str = "ENROL_AND_ISSUE"
) -> Campaign:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, type=type, earns_per_customer=-1)
    customers = world.customers(org, program, n)
    earns: dict[int, list[int]] = {}
    for c in customers:
        enrolment = world.enrolment(org, promotion.id, c.id) if type == "ENROL_AND_ISSUE" else None
        earns[c.id] = [
            world.earn(org, promotion.id, c.id, enrolment_id=enrolment) for _ in range(earns_each)
        ]
    return Campaign(caller, program, promotion, customers, earns)


def csv_file(rows: list[dict[str, str]], columns: tuple[str, ...] = ("identifierValue",)) -> bytes:
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def run_all(runtime: Runtime, *, lease: float = 30.0) -> None:
    """Run every queued job to its end, in this thread."""
    runner = JobRunner(runtime.uow, lease_seconds=lease)
    while runner.run_next() is not None:
        pass


def seed(world: World, n: int, *, earns_each: int = 2) -> Campaign:
    """``campaign`` at scale: customers, enrolments and earns inserted set-wise."""

    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program, earns_per_customer=-1)
    now = utcnow()
    with world.uow.write() as conn:
        conn.execute(
            insert(t.customers),
            [{"org_id": org, "external_id": f"x{i}", "created_at": now} for i in range(n)],
        )
        ids = list(
            conn.execute(
                select(t.customers.c.id)
                .where(t.customers.c.org_id == org)
                .order_by(t.customers.c.id)
            ).scalars()
        )
        conn.execute(
            insert(t.program_members),
            [{"program_id": program, "customer_id": i, "joined_at": now} for i in ids],
        )
        ledger = {
            "org_id": org,
            "promotion_id": promotion.id,
            "status": "ACTIVE",
            "created_at": now,
        }
        conn.execute(insert(t.enrolments), [{**ledger, "customer_id": i} for i in ids])
        enrolment_of = dict(
            conn.execute(
                select(t.enrolments.c.customer_id, t.enrolments.c.id).where(
                    t.enrolments.c.promotion_id == promotion.id
                )
            ).all()
        )
        conn.execute(
            insert(t.earns),
            [
                {**ledger, "customer_id": i, "enrolment_id": enrolment_of[i]}
                for i in ids
                for _ in range(earns_each)
            ],
        )
        earns: dict[int, list[int]] = {i: [] for i in ids}
        for cid, eid in conn.execute(
            select(t.earns.c.customer_id, t.earns.c.id)
            .where(t.earns.c.promotion_id == promotion.id)
            .order_by(t.earns.c.id)
        ):
            earns[cid].append(eid)
    customers = [Customer(i, "", "", f"x{k}") for k, i in enumerate(ids)]
    return Campaign(caller, program, promotion, customers, earns)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds (HANG_SECONDS only turns a hang into a failure)."""
    deadline = time.monotonic() + HANG_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")
