"""Helpers for the bulk-job tests: a promotion with customers and earns, files, and running."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promoledger.jobs.worker import JobRunner
from promoledger.runtime import Runtime
from tests.support.factories import Caller, Customer, World


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
