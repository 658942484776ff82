"""A revoke job joined to undo and events: undone by its jobId (a dry-run or non-revoke job
has nothing to undo, a foreign job is not found), its ledger events carry its id, and its end
commits one job.completed event."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.jobs import Campaign, campaign, csv_file, run_all
from tests.support.waiting import HANG_SECONDS

UNDO = "/admin/v1/reinstatements"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No background workers: each test runs its jobs itself.
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        job_workers=0,
        job_chunk_rows=3,
    )


def run_job(client: TestClient, runtime: Runtime, c: Campaign, action: str, **params: Any) -> str:
    rows = [{"identifierValue": str(customer.id)} for customer in c.customers]
    response = client.post(
        "/admin/v1/jobs",
        params=c.params(action, **params),
        content=csv_file(rows),
        headers={**c.caller.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    run_all(runtime)
    job_id: str = response.json()["id"]
    assert client.get(f"/admin/v1/jobs/{job_id}", headers=c.caller.headers).json()["status"] == (
        "SUCCEEDED"
    )
    return job_id


def earn_statuses(world: World, c: Campaign) -> set[str]:
    return {world.status_of(t.earns, eid) for ids in c.earns.values() for eid in ids}


def test_undoing_a_revoke_job_puts_back_every_earn_it_revoked(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = campaign(world, 7)
    job_id = run_job(client, runtime, c, "REVOKE_EARN")
    assert earn_statuses(world, c) == {"REVOKED"}

    response = client.post(UNDO, json={"jobId": job_id}, headers=c.caller.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"reinstated": {"enrolments": 0, "earns": 14}, "skipped": []}
    assert earn_statuses(world, c) == {"ACTIVE"}
    assert len(world.audit(action="REINSTATE_EARN")) == 14
    again = client.post(UNDO, json={"jobId": job_id}, headers=c.caller.headers).json()
    assert again["reinstated"] == {"enrolments": 0, "earns": 0}
    assert {s["reason"] for s in again["skipped"]} == {"ALREADY_ACTIVE"}


def test_a_dry_run_or_non_revoke_job_has_nothing_to_undo(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = campaign(world, 2)
    dry = run_job(client, runtime, c, "REVOKE_EARN", dryRun="true")
    earn = run_job(client, runtime, c, "EARN")

    for job_id in (dry, earn):
        response = client.post(UNDO, json={"jobId": job_id}, headers=c.caller.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "jobId"
    assert world.audit(action="REINSTATE_EARN") == []


def test_another_orgs_job_is_not_found(world: World, client: TestClient, runtime: Runtime) -> None:
    c = campaign(world, 2)
    job_id = run_job(client, runtime, c, "REVOKE_EARN")
    stranger = world.till(world.org("stranger"), access="customer:write")

    response = client.post(UNDO, json={"jobId": job_id}, headers=stranger.headers)

    assert response.status_code == 404, response.text
    assert earn_statuses(world, c) == {"REVOKED"}


def events(client: TestClient, c: Campaign, type: str) -> list[Any]:
    response = client.get("/admin/v1/events", params={"type": type}, headers=c.caller.headers)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()["events"]
    return found


def test_a_job_tags_its_ledger_events_and_commits_job_completed_at_its_end(
    world: World, client: TestClient, runtime: Runtime
) -> None:
    c = campaign(world, 4)
    job_id = run_job(client, runtime, c, "REVOKE_EARN")
    dry = run_job(client, runtime, c, "REVOKE_EARN", dryRun="true")

    revoked = events(client, c, "earn.revoked")
    assert sorted(e["data"]["customerId"] for e in revoked) == sorted(x.id for x in c.customers)
    assert {e["data"]["jobId"] for e in revoked} == {job_id}
    assert {e["requestId"] for e in revoked} == {job_id}
    completed = events(client, c, "job.completed")
    assert [(e["data"]["jobId"], e["data"]["dryRun"]) for e in completed] == [
        (job_id, False),
        (dry, True),
    ]
    first = completed[0]["data"]
    assert (first["status"], first["total"], first["succeeded"], first["failed"]) == (
        "SUCCEEDED",
        4,
        4,
        0,
    )
    assert first["promotionId"] == c.promotion.id
