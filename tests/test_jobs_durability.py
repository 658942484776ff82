"""Bulk jobs survive their workers: leases, takeovers, racing workers, cancel, failure."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from promoledger.domain.context import Context
from promoledger.jobs.model import Job
from promoledger.jobs.worker import JobRunner
from promoledger.services import jobs as service
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.app import serving
from tests.support.db import engine_for, pg_only, wait_until_blocked
from tests.support.factories import World, bulk_body
from tests.support.jobs import Campaign, csv_file, seed, wait_for
from tests.support.waiting import HANG_SECONDS


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        job_workers=0,
        job_chunk_rows=10,
    )


def submit(client: TestClient, c: Campaign, rows: list[dict[str, str]]) -> Any:
    response = client.post(
        "/admin/v1/jobs",
        params=c.params("REVOKE_EARN"),
        content=csv_file(rows),
        headers={**c.caller.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    return response.json()


def results(client: TestClient, c: Campaign, job_id: str) -> list[Any]:
    response = client.get(
        f"/admin/v1/jobs/{job_id}/results",
        headers={**c.caller.headers, "Accept": "application/x-ndjson"},
    )
    return [orjson.loads(x) for x in response.content.splitlines()]


def shuffled_rows(c: Campaign) -> list[dict[str, str]]:
    rows = [{"identifierValue": str(x.id)} for x in c.customers]
    random.Random(7).shuffle(rows)
    return rows


def assert_applied_exactly_once(
    world: World, client: TestClient, c: Campaign, job_id: str, rows: list[dict[str, str]]
) -> None:
    entries = results(client, c, job_id)
    assert [e["line"] for e in entries] == list(range(1, len(rows) + 1))
    for row, entry in zip(rows, entries, strict=True):
        cid = int(row["identifierValue"])
        assert entry["errors"] == [], entry
        assert entry["result"]["revokedEarnIds"] == c.earns[cid]
    every = [e for ids in c.earns.values() for e in ids]
    assert {r.status for r in world.rows(t.earns, promotion_id=c.promotion.id)} == {"REVOKED"}
    events = Counter(e.entity_id for e in world.audit(action="REVOKE_EARN"))
    assert events == Counter(every)  # one event per earn: none twice, none missing


class Died(Exception):
    pass


def test_a_job_whose_worker_died_is_resumed_from_its_last_chunk(
    world: World, client: TestClient
) -> None:
    c = seed(world, 35)
    rows = shuffled_rows(c)
    job = submit(client, c, rows)
    seen: list[Job] = []

    def die_after_two_chunks(progress: Job) -> None:
        seen.append(progress)
        if len(seen) == 2:
            raise Died

    first = JobRunner(world.uow, lease_seconds=HANG_SECONDS)
    with pytest.raises(Died):
        first.run_next(progress=die_after_two_chunks)
    assert seen[-1].processed == 20
    # While the dead worker's lease runs, nobody takes the job.
    second = JobRunner(world.uow, lease_seconds=HANG_SECONDS)
    assert second.run_next() is None
    with world.uow.write() as conn:  # the lease runs out
        conn.execute(update(t.jobs).values(lease_until=seen[-1].created_at))
    done = second.run_next()
    assert done is not None
    assert (done.status.value, done.processed) == ("SUCCEEDED", 35)
    assert_applied_exactly_once(world, client, c, job["id"], rows)


def test_racing_workers_with_lapsing_leases_apply_each_chunk_once(
    world: World, client: TestClient
) -> None:
    c = seed(world, 60)
    rows = shuffled_rows(c)
    job = submit(client, c, rows)
    # A lease far shorter than a chunk: the workers keep taking the job from each other.
    runners = [JobRunner(world.uow, lease_seconds=0.001) for _ in range(3)]
    barrier = threading.Barrier(len(runners))

    def work(runner: JobRunner) -> None:
        barrier.wait()
        for _ in range(1000):
            shown = client.get(f"/admin/v1/jobs/{job['id']}", headers=c.caller.headers).json()
            if shown["status"] == "SUCCEEDED":
                return
            runner.run_next()

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_SECONDS)
    shown = client.get(f"/admin/v1/jobs/{job['id']}", headers=c.caller.headers).json()
    assert (shown["status"], shown["processed"], shown["succeeded"]) == ("SUCCEEDED", 60, 60)
    assert_applied_exactly_once(world, client, c, job["id"], rows)


def test_cancel_stops_a_running_job_at_the_next_chunk(world: World, client: TestClient) -> None:
    c = seed(world, 30)
    rows = shuffled_rows(c)
    job = submit(client, c, rows)

    def cancel_after_first(progress: Job) -> None:
        if progress.processed == 10 and progress.status.value == "RUNNING":
            # While it runs: the rows so far, the progress and an ETA.
            assert [e["line"] for e in results(client, c, job["id"])] == list(range(1, 11))
            shown = client.get(f"/admin/v1/jobs/{job['id']}", headers=c.caller.headers).json()
            assert (shown["status"], shown["processed"]) == ("RUNNING", 10)
            assert shown["etaSeconds"] is not None
            assert shown["startedAt"] is not None
            answer = client.post(f"/admin/v1/jobs/{job['id']}/cancel", headers=c.caller.headers)
            assert answer.json()["status"] == "RUNNING"
            assert answer.json()["cancelRequested"] is True

    done = JobRunner(world.uow, lease_seconds=HANG_SECONDS).run_next(progress=cancel_after_first)
    assert done is not None
    assert (done.status.value, done.processed) == ("CANCELLED", 10)
    assert len(results(client, c, job["id"])) == 10
    assert len(world.rows(t.earns, status="REVOKED")) == 20  # the committed chunk stays


def test_a_promotion_deactivated_mid_job_fails_it_with_the_reason(
    world: World, client: TestClient
) -> None:
    c = seed(world, 25)
    submit(client, c, shuffled_rows(c))

    def deactivate(progress: Job) -> None:
        with world.uow.write() as conn:
            conn.execute(
                update(t.promotions).where(t.promotions.c.id == c.promotion.id).values(active=False)
            )

    done = JobRunner(world.uow, lease_seconds=HANG_SECONDS).run_next(progress=deactivate)
    assert done is not None
    assert done.status.value == "FAILED"
    assert done.error is not None
    assert done.error.startswith("8892")
    assert done.processed == 10
    assert len(world.rows(t.earns, status="REVOKED")) == 20


def test_the_server_runs_jobs_in_the_background(database_url: str, world: World) -> None:
    settings = Settings(
        database_url=database_url,
        job_workers=1,
        job_chunk_rows=10,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
    )
    with serving(settings) as served:
        c = seed(served, 15)
        rows = shuffled_rows(c)
        job = submit(served.client, c, rows)
        wait_for(
            lambda: (
                served.client.get(f"/admin/v1/jobs/{job['id']}", headers=c.caller.headers).json()[
                    "status"
                ]
                == "SUCCEEDED"
            ),
            "the server's worker finishes the job",
        )
        assert_applied_exactly_once(served, served.client, c, job["id"], rows)
        metrics = served.client.get("/metrics").text
        assert (
            'promoledger_job_rows_total{action="REVOKE_EARN",outcome="succeeded"} 15.0' in metrics
        )


@pg_only
def test_a_chunk_locks_all_its_customers_in_id_order_first(world: World) -> None:
    """A chunk locks every customer it names, in id order, before its first batch, as one bulk
    request does: a request locking customers in id order never deadlocks with it. (Batch by
    batch, the chunk would hold its first batch's customers while waiting for its second's.)"""
    c = seed(world, 200)
    ordered = sorted(x.id for x in c.customers)
    first_batch, second_batch = ordered[100:], ordered[:100]  # a higher-id batch comes first
    low, high = second_batch[50], first_batch[50]
    body = csv_file([{"identifierValue": str(i)} for i in first_batch + second_batch])
    job = service.submit(
        world.uow,
        Context.operator(c.caller.org_id),
        request=service.JobRequest(
            "REVOKE_EARN", str(c.program_id), str(c.promotion.id), None, "id"
        ),
        content_type="text/csv",
        body=[body],
        max_bytes=10**6,
        chunk_rows=200,  # one chunk, two batches
    )
    straight = engine_for(world.url)
    with straight.connect() as other:
        other.execute(text("SELECT id FROM customers WHERE id = :i FOR UPDATE"), {"i": low})
        runner = threading.Thread(
            target=JobRunner(world.uow, lease_seconds=HANG_SECONDS).run_next, args=(job.id,)
        )
        runner.start()
        wait_until_blocked(world.url)  # the chunk waits for `low`, holding only lower ids
        # NOWAIT: free now, or an error at once (batch by batch, the chunk would hold it).
        other.execute(text("SELECT id FROM customers WHERE id = :i FOR UPDATE NOWAIT"), {"i": high})
        other.commit()
    straight.dispose()
    runner.join(HANG_SECONDS)
    with world.uow.read() as conn:
        finished = conn.execute(select(t.jobs.c.status, t.jobs.c.succeeded)).one()
    assert tuple(finished) == ("SUCCEEDED", 200)


@pg_only
def test_bulk_requests_on_the_same_customers_run_alongside_a_job(
    world: World, client: TestClient
) -> None:
    """A chunk locks all its customers in id order before its first batch, as one bulk request
    does, so requests touching the same customers wait for it rather than deadlock with it."""
    c = seed(world, 400)
    rows = shuffled_rows(c)
    job = submit(client, c, rows)
    other = world.promotion(c.caller.org_id, c.program_id, enrolments_per_customer=-1)
    answers: list[int] = []
    done = threading.Event()

    def traffic() -> None:
        order = [str(x.id) for x in c.customers]
        random.Random(3).shuffle(order)
        for start in range(0, len(order), 100):
            body = bulk_body(c.program_id, other, order[start : start + 100], source=None)
            answers.append(
                client.post(
                    "/v2/promotion/bulk/enrolAndEarn", json=body, headers=c.caller.headers
                ).status_code
            )
        done.set()

    sender = threading.Thread(target=traffic)
    sender.start()
    runner = JobRunner(world.uow, lease_seconds=HANG_SECONDS)
    finished = runner.run_next()
    sender.join(HANG_SECONDS)
    assert done.is_set()
    assert answers == [200] * 4
    assert finished is not None
    assert (finished.status.value, finished.succeeded) == ("SUCCEEDED", 400)
    assert_applied_exactly_once(world, client, c, job["id"], rows)
    assert len(world.rows(t.enrolments, promotion_id=other.id)) == 400


def test_a_worker_stopping_hands_its_job_over_at_once(world: World, client: TestClient) -> None:
    c = seed(world, 25)
    rows = shuffled_rows(c)
    job = submit(client, c, rows)
    first = JobRunner(world.uow, lease_seconds=HANG_SECONDS)
    # Server shutdown: the worker finishes the chunk in flight, then gives the lease up.
    left = first.run_next(progress=lambda _: first.stopping.set())
    assert left is not None
    assert (left.status.value, left.processed) == ("RUNNING", 10)
    done = JobRunner(world.uow, lease_seconds=HANG_SECONDS).run_next()  # no lease to wait out
    assert done is not None
    assert (done.status.value, done.processed) == ("SUCCEEDED", 25)
    assert_applied_exactly_once(world, client, c, job["id"], rows)
