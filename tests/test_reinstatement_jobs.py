"""A large undo runs as a REINSTATE job: POST /admin/v1/reinstatements answers 202 with the job
when the revoke revoked more than PROMOLEDGER_REINSTATE_INLINE_MAX items (shrunk to 10 here),
and the job reinstates them chunk by chunk, exactly once, resumable after a worker dies."""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from promoledger.domain.context import Context
from promoledger.domain.errors import Invalid
from promoledger.jobs.model import Job
from promoledger.jobs.worker import JobRunner
from promoledger.runtime import Runtime
from promoledger.services import undo as undo_service
from promoledger.settings import Settings
from promoledger.store import reinstate as reinstate_store
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.app import serving
from tests.support.factories import World, bulk_body
from tests.support.jobs import Campaign, csv_file, run_all, seed, wait_for
from tests.support.waiting import HANG_SECONDS

UNDO = "/admin/v1/reinstatements"
REVOKE = "/v2/promotion/bulk/revokeEnrolAndEarn"
INLINE_MAX = 10


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No background workers: each test runs its jobs itself.
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        job_workers=0,
        job_chunk_rows=4,
        reinstate_inline_max=INLINE_MAX,
    )


def revoke_earns(client: TestClient, c: Campaign, rid: str, n: int | None = None) -> None:
    """REVOKE_EARN of every earn of the first ``n`` customers, under X-Request-ID ``rid``."""
    ids = [x.id for x in c.customers[:n]]
    body = bulk_body(c.program_id, c.promotion, ids, action="REVOKE_EARN", source=None)
    response = client.post(REVOKE, json=body, headers={**c.caller.headers, "X-Request-ID": rid})
    assert response.status_code == 200, response.text
    assert response.json()["failureCount"] == 0, response.text


def undo(client: TestClient, c: Campaign, body: dict[str, str], **kw: Any) -> Any:
    return client.post(UNDO, json=body, headers={**c.caller.headers, **kw.pop("headers", {})}, **kw)


def job_of(client: TestClient, c: Campaign, job_id: str) -> dict[str, Any]:
    response = client.get(f"/admin/v1/jobs/{job_id}", headers=c.caller.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def report(client: TestClient, c: Campaign, job_id: str, **params: str) -> list[dict[str, str]]:
    response = client.get(
        f"/admin/v1/jobs/{job_id}/results", params=params, headers=c.caller.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def ndjson_report(client: TestClient, c: Campaign, job_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/admin/v1/jobs/{job_id}/results",
        headers={**c.caller.headers, "Accept": "application/x-ndjson"},
    )
    return [orjson.loads(line) for line in response.content.splitlines()]


def earn_items(c: Campaign, n: int | None = None) -> list[tuple[int, int]]:
    """(customer id, earn id) of the first ``n`` customers' earns, in decision order."""
    return sorted((x.id, e) for x in c.customers[:n] for e in c.earns[x.id])


def earn_statuses(world: World, c: Campaign) -> dict[int, str]:
    return {r.id: r.status for r in world.rows(t.earns, promotion_id=c.promotion.id)}


def test_a_large_undo_answers_202_and_its_job_reinstates_everything(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = seed(world, 7)  # 14 earns: over the inline maximum
    revoke_earns(client, c, "big-revoke")
    items = earn_items(c)
    lapsed = items[5][1]
    with world.uow.write() as conn:  # one earn expires while revoked: it is skipped
        conn.execute(
            update(t.earns)
            .where(t.earns.c.id == lapsed)
            .values(expires_at=utcnow() - timedelta(days=1))
        )

    response = undo(client, c, {"requestId": "big-revoke"}, headers={"X-Request-ID": "undo-big"})

    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/admin/v1/jobs/{job['id']}"
    assert job == job_of(client, c, job["id"])
    assert (job["action"], job["status"], job["total"], job["dryRun"]) == (
        "REINSTATE", "QUEUED", 14, False,
    )  # fmt: skip
    assert (job["programId"], job["promotionId"]) == (c.program_id, c.promotion.id)
    assert set(earn_statuses(world, c).values()) == {"REVOKED"}  # nothing yet: the job does it

    run_all(runtime)

    done = job_of(client, c, job["id"])
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == (
        "SUCCEEDED", 14, 13, 1,
    )  # fmt: skip
    assert earn_statuses(world, c) == {
        e: ("REVOKED" if e == lapsed else "ACTIVE") for _, e in items
    }
    events = world.audit(action="REINSTATE_EARN")
    assert sorted(e.entity_id for e in events) == sorted(e for _, e in items if e != lapsed)
    for event in events:
        # The job's own request id; detail names the revoke it undid; the submitter is the actor.
        assert event.request_id == job["id"]
        assert orjson.loads(event.detail) == {"reinstates": "big-revoke"}
        assert (event.actor_kind, event.actor_id) == ("TILL", c.caller.credential_id)
        assert (event.old_status, event.new_status) == ("REVOKED", "ACTIVE")

    rows = report(client, c, job["id"])
    assert rows == [
        {
            "line": str(line),
            "entityType": "EARN",
            "entityId": str(eid),
            "customerId": str(cid),
            "outcome": "EXPIRED" if eid == lapsed else "REINSTATED",
        }
        for line, (cid, eid) in enumerate(items, 1)
    ]
    assert report(client, c, job["id"], status="FAILED") == [rows[5]]
    assert len(report(client, c, job["id"], status="SUCCESS")) == 13
    entries = ndjson_report(client, c, job["id"])
    assert entries[0] == {
        "line": 1,
        "entityType": "EARN",
        "entityId": items[0][1],
        "customerId": items[0][0],
        "outcome": "REINSTATED",
        "errors": [],
    }
    assert entries[5]["outcome"] == "EXPIRED"
    assert entries[5]["errors"][0]["code"] == "EXPIRED"


def test_a_second_undo_after_the_job_reinstates_nothing(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = seed(world, 6)
    revoke_earns(client, c, "twice")
    first = undo(client, c, {"requestId": "twice"}).json()
    run_all(runtime)
    assert job_of(client, c, first["id"])["succeeded"] == 12
    audited = len(world.audit())

    second = undo(client, c, {"requestId": "twice"})
    assert second.status_code == 202, second.text
    assert second.json()["id"] != first["id"]
    run_all(runtime)

    done = job_of(client, c, second.json()["id"])
    assert (done["status"], done["succeeded"], done["failed"]) == ("SUCCEEDED", 0, 12)
    assert {r["outcome"] for r in report(client, c, done["id"])} == {"ALREADY_ACTIVE"}
    assert len(world.audit()) == audited  # no event: nothing changed
    assert set(earn_statuses(world, c).values()) == {"ACTIVE"}


def test_a_dry_run_job_reports_everything_and_changes_nothing(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = seed(world, 6)
    revoke_earns(client, c, "dry")

    response = undo(client, c, {"requestId": "dry"}, params={"dryRun": "true"})

    assert response.status_code == 202, response.text
    assert response.headers["x-dry-run"] == "true"
    job = response.json()
    assert (job["action"], job["dryRun"], job["total"]) == ("REINSTATE", True, 12)
    run_all(runtime)
    done = job_of(client, c, job["id"])
    assert (done["status"], done["succeeded"], done["failed"]) == ("SUCCEEDED", 12, 0)
    assert {r["outcome"] for r in report(client, c, job["id"])} == {"REINSTATED"}
    assert set(earn_statuses(world, c).values()) == {"REVOKED"}
    assert world.audit(action="REINSTATE_EARN") == []

    # The real undo after it does all of it.
    real = undo(client, c, {"requestId": "dry"}).json()
    run_all(runtime)
    assert job_of(client, c, real["id"])["succeeded"] == 12
    assert set(earn_statuses(world, c).values()) == {"ACTIVE"}


def test_up_to_the_inline_maximum_the_undo_answers_200_inline(
    world: World, client: TestClient
) -> None:
    c = seed(world, 6)
    revoke_earns(client, c, "exactly-max", n=5)  # 10 earns: not over the maximum

    response = undo(client, c, {"requestId": "exactly-max"})

    assert response.status_code == 200, response.text
    assert response.json() == {"reinstated": {"enrolments": 0, "earns": 10}, "skipped": []}
    assert "location" not in response.headers
    assert client.get("/admin/v1/jobs", headers=c.caller.headers).json()["jobs"] == []
    assert sorted(e.entity_id for e in world.audit(action="REINSTATE_EARN")) == sorted(
        e for _, e in earn_items(c, 5)
    )


def test_a_revoke_job_is_undone_by_a_reinstate_job_that_cannot_itself_be_undone(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = seed(world, 6)
    submitted = client.post(
        "/admin/v1/jobs",
        params=c.params("REVOKE_EARN"),
        content=csv_file([{"identifierValue": str(x.id)} for x in c.customers]),
        headers={**c.caller.headers, "Content-Type": "text/csv"},
    )
    assert submitted.status_code == 202, submitted.text
    run_all(runtime)
    revoke_job = submitted.json()["id"]

    response = undo(client, c, {"jobId": revoke_job})

    assert response.status_code == 202, response.text
    reinstate_job = response.json()["id"]
    run_all(runtime)
    assert job_of(client, c, reinstate_job)["succeeded"] == 12
    assert set(earn_statuses(world, c).values()) == {"ACTIVE"}
    events = world.audit(action="REINSTATE_EARN")
    assert {(e.request_id, orjson.loads(e.detail)["reinstates"]) for e in events} == {
        (reinstate_job, revoke_job)
    }

    again = undo(client, c, {"jobId": reinstate_job})
    assert again.status_code == 422, again.text
    assert again.json()["errors"][0]["field"] == "jobId"
    # Its id is no revoke request either; and a file cannot be submitted as a REINSTATE job.
    assert undo(client, c, {"requestId": reinstate_job}).status_code == 404
    refused = client.post(
        "/admin/v1/jobs",
        params=c.params("REINSTATE"),
        content=csv_file([{"identifierValue": "1"}]),
        headers={**c.caller.headers, "Content-Type": "text/csv"},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["code"] == 9001


def test_an_idempotent_retry_replays_the_job_and_queues_no_other(
    world: World, client: TestClient
) -> None:
    c = seed(world, 6)
    revoke_earns(client, c, "keyed")
    headers = {"Idempotency-Key": "undo-keyed"}

    first = undo(client, c, {"requestId": "keyed"}, headers=headers)
    again = undo(client, c, {"requestId": "keyed"}, headers=headers)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    listed = client.get("/admin/v1/jobs", headers=c.caller.headers).json()["jobs"]
    assert [j["id"] for j in listed] == [first.json()["id"]]


class Died(Exception):
    pass


def test_a_job_whose_worker_died_resumes_without_reinstating_twice(
    world: World, client: TestClient
) -> None:
    c = seed(world, 7)
    revoke_earns(client, c, "resumed")
    job = undo(client, c, {"requestId": "resumed"}).json()
    seen: list[Job] = []

    def die_after_two_chunks(progress: Job) -> None:
        seen.append(progress)
        if len(seen) == 2:
            raise Died

    first = JobRunner(world.uow, lease_seconds=HANG_SECONDS)
    with pytest.raises(Died):
        first.run_next(progress=die_after_two_chunks)
    assert seen[-1].processed == 8  # two chunks of two whole customers each
    assert len(world.audit(action="REINSTATE_EARN")) == 8
    second = JobRunner(world.uow, lease_seconds=HANG_SECONDS)
    assert second.run_next() is None  # the dead worker's lease still runs
    with world.uow.write() as conn:  # the lease runs out
        conn.execute(update(t.jobs).values(lease_until=seen[-1].created_at))
    done = second.run_next()

    assert done is not None
    assert (done.status.value, done.processed, done.succeeded) == ("SUCCEEDED", 14, 14)
    items = earn_items(c)
    assert [int(r["line"]) for r in report(client, c, job["id"])] == list(range(1, 15))
    assert [int(r["entityId"]) for r in report(client, c, job["id"])] == [e for _, e in items]
    events = Counter(e.entity_id for e in world.audit(action="REINSTATE_EARN"))
    assert events == Counter(e for _, e in items)  # each once: none twice, none missing
    assert set(earn_statuses(world, c).values()) == {"ACTIVE"}


def test_two_jobs_undoing_one_revoke_at_once_reinstate_each_item_once(
    world: World, client: TestClient
) -> None:
    c = seed(world, 8)
    revoke_earns(client, c, "raced")
    jobs = [undo(client, c, {"requestId": "raced"}).json()["id"] for _ in range(2)]
    runners = [JobRunner(world.uow, lease_seconds=HANG_SECONDS) for _ in jobs]
    barrier = threading.Barrier(len(runners))
    finished: list[Job | None] = []

    def work(runner: JobRunner) -> None:
        barrier.wait()
        finished.append(runner.run_next())

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_SECONDS)

    shown = [job_of(client, c, j) for j in jobs]
    assert [s["status"] for s in shown] == ["SUCCEEDED", "SUCCEEDED"]
    assert sum(s["succeeded"] for s in shown) == 16  # between them, every item once
    assert sum(s["failed"] for s in shown) == 16  # the other job found it ALREADY_ACTIVE
    events = Counter(e.entity_id for e in world.audit(action="REINSTATE_EARN"))
    assert events == Counter(e for _, e in earn_items(c))
    assert set(earn_statuses(world, c).values()) == {"ACTIVE"}


def test_a_chunk_whose_ledger_moved_is_run_again(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = seed(world, 6)
    revoke_earns(client, c, "moved")
    job = undo(client, c, {"requestId": "moved"}).json()
    real = reinstate_store.reinstate
    calls = {"n": 0}

    def first_returns_nothing(conn: Any, table: Any, ids: Any, *, request_id: str) -> set[int]:
        calls["n"] += bool(ids)
        if calls["n"] == 1 and ids:
            return set()  # as if a concurrent writer had taken every row of the chunk
        return real(conn, table, ids, request_id=request_id)

    monkeypatch.setattr(reinstate_store, "reinstate", first_returns_nothing)
    done = JobRunner(world.uow, lease_seconds=HANG_SECONDS).run_next()

    assert done is not None
    assert calls["n"] > 3  # the first chunk's earns were written twice: decided again
    assert (done.status.value, done.succeeded, done.failed) == ("SUCCEEDED", 12, 0)
    events = Counter(e.entity_id for e in world.audit(action="REINSTATE_EARN"))
    assert events == Counter(e for _, e in earn_items(c))
    assert [int(r["line"]) for r in report(client, c, job["id"])] == list(range(1, 13))


def test_the_service_wants_exactly_one_target(world: World) -> None:
    ctx = Context.operator(world.org())
    for target in ({}, {"request_id": "r", "job_id": "job_1"}):
        with pytest.raises(Invalid):
            undo_service.undo(world.uow, ctx, chunk_items=4, **target)


def test_enrolments_and_their_earns_go_back_together_chunk_by_chunk(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = seed(world, 4)  # per customer: an enrolment and two earns under it
    revoke_earns(client, c, "both")
    ids = [x.id for x in c.customers]
    body = bulk_body(c.program_id, c.promotion, ids, action="REVOKE_ENROL", source=None)
    # The same X-Request-ID on a second revoke: one undo puts back both.
    revoked = client.post(REVOKE, json=body, headers={**c.caller.headers, "X-Request-ID": "both"})
    assert revoked.json()["failureCount"] == 0, revoked.text

    job = undo(client, c, {"requestId": "both"}).json()
    assert job["total"] == 12
    run_all(runtime)

    done = job_of(client, c, job["id"])
    assert (done["status"], done["succeeded"], done["failed"]) == ("SUCCEEDED", 12, 0)
    rows = report(client, c, job["id"])
    # Per customer, the enrolment first: its earns are decided after it, in the same chunk
    # (chunks of about 4 items never split a customer's 3).
    assert [(int(r["customerId"]), r["entityType"]) for r in rows] == [
        (cid, kind) for cid in sorted(ids) for kind in ("ENROLMENT", "EARN", "EARN")
    ]
    with world.uow.read() as conn:
        sizes = [
            n for (n,) in conn.execute(select(t.job_chunks.c.rows).order_by(t.job_chunks.c.seq))
        ]
    assert sizes == [6, 6]  # two chunks of two whole customers each
    assert {r.status for r in world.rows(t.enrolments, promotion_id=c.promotion.id)} == {"ACTIVE"}
    assert set(earn_statuses(world, c).values()) == {"ACTIVE"}
    assert len(world.audit(action="REINSTATE_ENROL")) == 4


def test_the_server_runs_reinstate_jobs_in_the_background(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        job_workers=1,
        job_chunk_rows=4,
        reinstate_inline_max=INLINE_MAX,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
    )
    with serving(settings) as served:
        c = seed(served, 6)
        revoke_earns(served.client, c, "served")
        job = undo(served.client, c, {"requestId": "served"}).json()
        wait_for(
            lambda: job_of(served.client, c, job["id"])["status"] == "SUCCEEDED",
            "the server's worker finishes the REINSTATE job",
        )
        assert set(earn_statuses(served, c).values()) == {"ACTIVE"}
        metrics = served.client.get("/metrics").text
        assert 'promoledger_job_rows_total{action="REINSTATE",outcome="succeeded"} 12.0' in metrics
