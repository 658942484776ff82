"""The outbox and the event feed: every ledger change commits its events with it, one per
customer, type and request, and GET /admin/v1/events reads them back in id (= commit) order."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event

from promoledger.domain import events as rules
from promoledger.domain.context import Anonymous, Context
from promoledger.domain.errors import Invalid
from promoledger.services import events as event_service
from promoledger.store import audit, outbox
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.db import pg_only, wait_until_blocked
from tests.support.factories import World, bulk_body
from tests.support.revoke import entry, make_shop
from tests.support.waiting import HANG_SECONDS

ENROL_URL = "/v2/promotion/bulk/enrolAndEarn"


def feed(world: World, caller: Any, **params: Any) -> Any:
    response = world.client.get("/admin/v1/events", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_enrol_and_earn_commit_one_event_per_customer(world: World, client: TestClient) -> None:
    shop = make_shop(world)
    reader = world.till(shop.org, access="config:read")
    people = shop.customers(2)
    ids = [c.id for c in people]
    enrolled = client.post(
        ENROL_URL,
        json=bulk_body(shop.program, shop.promo, ids),
        headers={**shop.till.headers, "X-Request-ID": "req-e1"},
    )
    assert enrolled.status_code == 200, enrolled.text
    earned = client.post(
        ENROL_URL,
        json=bulk_body(shop.program, shop.promo, ids, action="EARN"),
        headers={**shop.till.headers, "X-Request-ID": "req-e2"},
    )
    assert earned.status_code == 200, earned.text
    enrolments = world.rows(t.enrolments, promotion_id=shop.promotion_id)
    earns = world.rows(t.earns, promotion_id=shop.promotion_id)

    body = feed(world, reader)
    got = body["events"]
    assert [(e["type"], e["requestId"], e["data"]["customerId"]) for e in got] == [
        ("enrolment.created", "req-e1", ids[0]),
        ("enrolment.created", "req-e1", ids[1]),
        ("earn.created", "req-e2", ids[0]),
        ("earn.created", "req-e2", ids[1]),
    ]
    assert got[0]["data"] == {
        "customerId": ids[0],
        "programId": shop.program,
        "promotionId": shop.promotion_id,
        "promoIdentifier": shop.promo.identifier,
        "enrolmentId": enrolments[0].id,
    }
    assert got[2]["data"]["earnIds"] == [earns[0].id]
    assert all(e["orgId"] == shop.org and e["createdAt"].endswith("Z") for e in got)
    assert [e["id"] for e in got] == sorted(e["id"] for e in got)
    assert body["lastId"] == got[-1]["id"]


def test_two_earns_of_one_customer_revoked_make_one_event(world: World) -> None:
    shop = make_shop(world, earns_per_customer=5)
    reader = world.till(shop.org, access="config:read")
    a, b = shop.customers(2)
    enrolment_a, enrolment_b = shop.enrol(a), shop.enrol(b)
    earns_a = [shop.earn(a, enrolment_a) for _ in range(2)]
    earn_b = shop.earn(b, enrolment_b)

    response = shop.post(
        shop.body("REVOKE_EARN", [entry(a, earns_a), entry(b, [earn_b])]),
        headers={"X-Request-ID": "req-r1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["failureCount"] == 0
    got = feed(world, reader)["events"]
    assert [(e["type"], e["data"]["customerId"], e["data"]["earnIds"]) for e in got] == [
        ("earn.revoked", a.id, sorted(earns_a)),
        ("earn.revoked", b.id, [earn_b]),
    ]
    # One multi-row insert: exactly two rows, both stamped with the request.
    assert [r.request_id for r in world.rows(t.events)] == ["req-r1", "req-r1"]


def test_revoke_enrol_reports_the_enrolment(world: World) -> None:
    shop = make_shop(world)
    reader = world.till(shop.org, access="config:read")
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c)])).status_code == 200
    [event] = feed(world, reader, type="enrolment.revoked")["events"]
    assert event["data"]["enrolmentId"] == enrolment
    assert event["data"]["customerId"] == c.id


def test_failed_dry_run_and_rejected_requests_commit_no_event(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    shop.enrol(c)
    dry = shop.post(shop.body("REVOKE_ENROL", [entry(c)]), params={"dryRun": "true"})
    assert dry.status_code == 200
    assert dry.json()["failureCount"] == 0
    rejected = shop.post(shop.body("REVOKE_ENROL", [entry(c)]) | {"type": "NOPE"})
    assert rejected.status_code == 400
    assert world.rows(t.events) == []
    # The dry run's pending events did not leak into the next real transaction either.
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c)])).status_code == 200
    assert [r.type for r in world.rows(t.events)] == ["enrolment.revoked"]


def _record_change(conn: Connection, ctx: Context, customer: int, promotion: int) -> None:
    change = audit.Change("EARN", "EARN", 10_000 + customer, customer, promotion, None, "ACTIVE")
    audit.record(conn, ctx, [change])


def test_a_rolled_back_transaction_leaves_no_event(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    ctx = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="boom")

    def work(conn: Connection) -> None:
        _record_change(conn, ctx, c.id, shop.promotion_id)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        world.uow.apply(work)
    assert world.rows(t.events) == []
    world.uow.apply(lambda conn: None)
    assert world.rows(t.events) == []


def test_job_completed_commits_with_the_job(world: World) -> None:
    shop = make_shop(world)
    reader = world.till(shop.org, access="config:read")
    ctx = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="job-7")
    world.uow.apply(
        lambda conn: event_service.job_completed(
            conn, ctx, job_id=7, promotion_id=shop.promotion_id, data={"succeeded": 3}
        )
    )
    [event] = feed(world, reader, type="job.completed")["events"]
    assert event["requestId"] == "job-7"
    assert event["data"] == {
        "customerId": None,
        "programId": shop.program,
        "promotionId": shop.promotion_id,
        "promoIdentifier": shop.promo.identifier,
        "jobId": 7,
        "succeeded": 3,
    }


def test_ids_follow_commit_order_not_start_order(world: World) -> None:
    """A transaction that started first but commits last gets the larger id."""
    shop = make_shop(world)
    a, b = shop.customers(2)
    recorded, release = threading.Event(), threading.Event()
    slow = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="slow")
    fast = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="fast")

    def slow_work(conn: Connection) -> None:
        _record_change(conn, slow, a.id, shop.promotion_id)
        recorded.set()
        assert release.wait(HANG_SECONDS)

    thread = threading.Thread(target=world.uow.apply, args=(slow_work,))
    thread.start()
    assert recorded.wait(HANG_SECONDS)
    if world.uow.dialect == "sqlite":
        # SQLite writers are serialised: the second one waits for the first to commit anyway.
        release.set()
        thread.join(HANG_SECONDS)
        world.uow.apply(lambda conn: _record_change(conn, fast, b.id, shop.promotion_id))
    else:
        world.uow.apply(lambda conn: _record_change(conn, fast, b.id, shop.promotion_id))
        release.set()
        thread.join(HANG_SECONDS)
    assert not thread.is_alive()
    order = [r.request_id for r in sorted(world.rows(t.events), key=lambda r: r.id)]
    expected = ["slow", "fast"] if world.uow.dialect == "sqlite" else ["fast", "slow"]
    assert order == expected


def test_the_feed_pages_filters_and_stays_in_its_org(world: World) -> None:
    shop = make_shop(world)
    other = make_shop(world)
    reader = world.till(shop.org, access="config:read")
    people = shop.customers(3)
    for c in people:
        shop.enrol(c)
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c) for c in people])).status_code == 200
    [stranger] = other.customers()
    other.enrol(stranger)
    assert other.post(other.body("REVOKE_ENROL", [entry(stranger)])).status_code == 200

    first = feed(world, reader, limit=2)
    assert [e["data"]["customerId"] for e in first["events"]] == [c.id for c in people[:2]]
    rest = feed(world, reader, after=first["lastId"])
    assert [e["data"]["customerId"] for e in rest["events"]] == [people[2].id]
    assert feed(world, reader, after=rest["lastId"]) == {"events": [], "lastId": rest["lastId"]}
    assert feed(world, reader, type="earn.revoked,earn.created")["events"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"after": -1}, "after"),
        ({"type": "earn.nope"}, "type"),
    ],
)
def test_bad_feed_parameters_are_422(world: World, params: dict[str, Any], field: str) -> None:
    shop = make_shop(world)
    reader = world.till(shop.org, access="config:read")
    response = world.client.get("/admin/v1/events", params=params, headers=reader.headers)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["code"] == 9422
    assert error["field"] == field


def test_the_feed_needs_config_read(world: World) -> None:
    shop = make_shop(world)
    assert world.client.get("/admin/v1/events").status_code == 401
    response = world.client.get("/admin/v1/events", headers=shop.till.headers)  # customer only
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("action", "entity", "expected"),
    [
        ("ENROL", "ENROLMENT", "enrolment.created"),
        ("DIRECT_ENROL", "ENROLMENT", "enrolment.created"),
        ("REPLACE", "ENROLMENT", "enrolment.replaced"),
        ("REVOKE_ENROL", "ENROLMENT", "enrolment.revoked"),
        ("REVOKE_ENROL", "EARN", "earn.revoked"),
        ("REVOKE_EARN", "EARN", "earn.revoked"),
        ("EXPIRE", "ENROLMENT", "enrolment.expired"),
        ("EXPIRE", "EARN", "earn.expired"),
        ("REINSTATE_ENROL", "ENROLMENT", "enrolment.reinstated"),
        ("REINSTATE_EARN", "EARN", "earn.reinstated"),
        ("EARN", "EARN", "earn.created"),
        ("PROGRAM_CREATED", "PROGRAM", None),
        ("WEBHOOK_CREATED", "WEBHOOK", None),
    ],
)
def test_audit_actions_map_to_event_types(action: str, entity: str, expected: str | None) -> None:
    assert rules.event_type(action, entity) == expected
    pending: dict[Any, rules.PendingEvent] = {}
    rules.from_changes(
        [audit.Change(action, entity, 5, 7, 9), audit.Change(action, entity, 6, 7, 9)], pending
    )
    assert [(e.type, e.customer_id, e.promotion_id, e.ids) for e in pending.values()] == (
        [(expected, 7, 9, [5, 6])] if expected else []
    )


def test_several_enrolments_of_one_customer_are_listed() -> None:
    event = rules.PendingEvent("enrolment.revoked", 7, 9, [5, 6])
    assert event.data() == {"enrolmentId": 5, "enrolmentIds": [5, 6]}


def test_an_expiry_seen_by_a_request_is_an_event_of_that_request(world: World) -> None:
    shop = make_shop(world, earns_per_customer=2)
    reader = world.till(shop.org, access="config:read")
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    expired = shop.earn(c, enrolment, expires_at=utcnow() - timedelta(days=1))
    live = shop.earn(c, enrolment)
    response = shop.post(
        shop.body("REVOKE_EARN", [entry(c, [live])]), headers={"X-Request-ID": "req-x"}
    )
    assert response.status_code == 200, response.text
    got = feed(world, reader)["events"]
    assert [(e["type"], e["requestId"], e["data"]["earnIds"]) for e in got] == [
        ("earn.expired", "req-x", [expired]),
        ("earn.revoked", "req-x", [live]),
    ]


def test_the_service_checks_its_own_bounds(world: World) -> None:
    with pytest.raises(Invalid):
        event_service.list_events(world.uow, org_id=1, limit=0)
    with pytest.raises(Invalid):
        event_service.list_events(world.uow, org_id=1, after=-1)
    with pytest.raises(ValueError, match="needs an org"):
        event_service.job_completed(None, Anonymous(), job_id=1)  # type: ignore[arg-type]


@pg_only
def test_ids_are_drawn_under_the_commit_order_lock(world: World, database_url: str) -> None:
    """While another session holds the outbox lock, a change cannot draw its event ids (and so
    cannot commit): ids are handed out one committing transaction at a time."""
    shop = make_shop(world)
    [c] = shop.customers()
    ctx = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="waits")
    done = threading.Event()

    def change() -> None:
        world.uow.apply(lambda conn: _record_change(conn, ctx, c.id, shop.promotion_id))
        done.set()

    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (outbox.ADVISORY_KEY,))
        thread = threading.Thread(target=change)
        thread.start()
        wait_until_blocked(database_url)
        assert not done.is_set()
        assert world.rows(t.events) == []
        holder.rollback()  # releases the lock
        thread.join(HANG_SECONDS)
    assert done.is_set()
    assert [r.request_id for r in world.rows(t.events)] == ["waits"]


def test_a_100_customer_revoke_adds_one_insert(world: World) -> None:
    shop = make_shop(world)
    people = shop.customers(100)
    for c in people:
        shop.enrol(c)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    event.listen(world.runtime.engine, "before_cursor_execute", seen)
    try:
        response = shop.post(shop.body("REVOKE_ENROL", [entry(c) for c in people]))
    finally:
        event.remove(world.runtime.engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    assert response.json()["failureCount"] == 0
    inserts = [s for s in statements if s.startswith("INSERT INTO events")]
    assert len(inserts) == 1
    assert not any("advisory" in s and not s.startswith("INSERT") for s in statements)
    assert len(world.rows(t.events)) == 100


def test_a_jobs_changes_carry_its_id(world: World) -> None:
    shop = make_shop(world)
    reader = world.till(shop.org, access="config:read")
    a, b = shop.customers(2)
    ctx = Context(org_id=shop.org, actor_kind="SYSTEM", request_id="job_9")

    def chunk(conn: Connection) -> None:
        event_service.tag_job(conn, job_id="job_9")
        _record_change(conn, ctx, a.id, shop.promotion_id)

    world.uow.apply(chunk)
    world.uow.apply(lambda conn: _record_change(conn, ctx, b.id, shop.promotion_id))
    got = feed(world, reader)["events"]
    assert [(e["data"]["customerId"], e["data"].get("jobId")) for e in got] == [
        (a.id, "job_9"),
        (b.id, None),  # the tag lasted one transaction
    ]
