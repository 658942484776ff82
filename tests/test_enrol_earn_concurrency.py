"""Concurrency and cost: limits hold under concurrent requests; a batch is a few statements."""

from __future__ import annotations

import threading

from sqlalchemy import event

from promoledger.domain.bulk import ENROL_AND_EARN_ACTIONS, parse_bulk_request
from promoledger.domain.context import Context
from promoledger.runtime import Runtime
from promoledger.services import enrol_earn
from promoledger.store import tables as t
from tests.support.factories import World, bulk_body
from tests.support.waiting import HANG_SECONDS

WORKERS = 4


def test_concurrent_earns_respect_the_limit(world: World, runtime: Runtime) -> None:
    org = world.org()
    program = world.program(org)
    promotion = world.promotion(org, program, earns_per_customer=1)
    customers = world.customers(org, program, 3)
    for c in customers:
        world.enrolment(org, promotion.id, c.id)
    request = parse_bulk_request(
        bulk_body(program, promotion, [c.id for c in customers], action="EARN"),
        actions=ENROL_AND_EARN_ACTIONS,
        batch_limit=100,
    )
    start = threading.Barrier(WORKERS)
    earned: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=HANG_SECONDS)
            result = enrol_earn.enrol_and_earn(
                runtime.uow, Context(org_id=org, actor_kind="OPERATOR"), request=request
            )
            earned.extend(o.earn_id for o in result.outcomes if o.earn_id is not None)
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HANG_SECONDS)
        assert not thread.is_alive()
    assert failures == []
    rows = world.rows(t.earns)
    assert sorted(earned) == [r.id for r in rows]
    assert sorted(r.customer_id for r in rows) == sorted(c.id for c in customers)


def test_a_full_batch_costs_the_same_statements_as_one_customer(
    world: World, runtime: Runtime
) -> None:
    org = world.org()
    program = world.program(org)
    promotion = world.promotion(org, program, enrolments_per_customer=-1, earns_per_customer=-1)
    customers = world.customers(org, program, 100)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    def run(values: list[int], action: str) -> int:
        request = parse_bulk_request(
            bulk_body(program, promotion, values, action=action),
            actions=ENROL_AND_EARN_ACTIONS,
            batch_limit=100,
        )
        statements.clear()
        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            enrol_earn.enrol_and_earn(
                runtime.uow, Context(org_id=org, actor_kind="OPERATOR"), request=request
            )
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        return len(statements)

    one = run([customers[0].id], "ENROL")
    # 1 re-enrolment + 99 enrolments: only the replacement UPDATE is added, whatever the size.
    assert run([c.id for c in customers], "ENROL") == one + 1
    assert run([c.id for c in customers], "EARN") <= one
    assert len(world.rows(t.earns)) == 100
