"""Console jobs: upload (the file as the raw body, CSRF in a header), progress, results, cancel,
undo; access, CSRF refusal and bad files (the API's codes on the page, nothing written)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from promoledger.console.jobs import Progress, eta_text, size_text
from promoledger.jobs.model import Job, JobSpec, JobStatus
from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.app import serving
from tests.support.console import csrf_of, page_csrf, sign_in
from tests.support.factories import Caller, World
from tests.support.jobs import Campaign, campaign, csv_file, run_all
from tests.support.waiting import HANG_SECONDS


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No background workers: each test runs its jobs itself, so it knows when they ran.
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        credential_cache_seconds=HANG_SECONDS,
        job_workers=0,
        job_chunk_rows=2,
        job_max_bytes=4096,
    )


def _console(world: World, c: Campaign, access: str = "customer:write,config:read") -> Caller:
    till = world.till(c.caller.org_id, access=access)
    assert sign_in(world.client, till).status_code == 303
    return till


def upload(
    client: TestClient,
    c: Campaign,
    body: bytes,
    *,
    action: str = "REVOKE_EARN",
    content_type: str = "text/csv",
    csrf: str | None = None,
    **extra: str,
) -> Any:
    token = csrf if csrf is not None else page_csrf(client, "/console/jobs")
    params = {"promotion": f"{c.program_id}:{c.promotion.id}", "action": action,
              "identifierName": "id", **extra}  # fmt: skip
    return client.post(
        "/console/jobs/upload",
        params=params,
        content=body,
        headers={"Content-Type": content_type, "X-CSRF-Token": token},
    )


def job_count(world: World) -> int:
    with world.uow.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.jobs)).scalar_one())


def test_upload_runs_shows_progress_and_results_then_undo_reinstates(
    client: TestClient, world: World
) -> None:
    c = campaign(world, 3)
    till = _console(world, c)
    page = client.get("/console/jobs")
    assert page.status_code == 200
    assert "data-upload" in page.text
    assert "No jobs yet" in page.text
    rows = [{"identifierValue": str(p.id)} for p in c.customers] + [{"identifierValue": "999999"}]
    answer = upload(client, c, csv_file(rows))
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    assert answer.json()["location"] == answer.headers["location"] == f"/console/jobs/{job_id}"
    [job] = world.rows(t.jobs)
    assert (job.status, job.total, job.actor_id) == ("QUEUED", 4, till.credential_id)

    queued = client.get(f"/console/jobs/{job_id}")
    assert queued.status_code == 200
    assert f'data-progress="/console/jobs/{job_id}/progress"' in queued.text
    assert "Cancel job" in queued.text
    assert "Undo this job" not in queued.text
    assert client.get(f"/console/jobs/{job_id}/progress").json() == {
        "status": "QUEUED", "processed": 0, "total": 4, "succeeded": 0, "failed": 0,
        "percent": 0, "rate": "—", "eta": "—", "finished": False,
    }  # fmt: skip
    assert job_id in client.get("/console/jobs").text

    run_all(world.runtime)
    progress = client.get(f"/console/jobs/{job_id}/progress").json()
    assert progress["status"] == "SUCCEEDED"
    assert (progress["processed"], progress["percent"], progress["finished"]) == (4, 100, True)
    assert (progress["succeeded"], progress["failed"]) == (3, 1)
    assert progress["rate"] != "—"
    done = client.get(f"/console/jobs/{job_id}")
    assert "data-progress" not in done.text
    assert "Cancel job" not in done.text
    assert "Undo this job" in done.text
    assert world.rows(t.earns, status="ACTIVE") == []

    results = client.get(f"/console/jobs/{job_id}/results.csv")
    assert results.status_code == 200
    assert results.headers["content-type"].startswith("text/csv")
    assert f'filename="{job_id}-results.csv"' in results.headers["content-disposition"]
    report = list(csv.DictReader(io.StringIO(results.text)))
    assert [(r["line"], r["identifierValue"], r["status"]) for r in report] == [
        ("1", str(c.customers[0].id), "SUCCESS"),
        ("2", str(c.customers[1].id), "SUCCESS"),
        ("3", str(c.customers[2].id), "SUCCESS"),
        ("4", "999999", "FAILED"),
    ]
    first = c.customers[0].id
    assert report[0]["revokedEarnIds"] == ";".join(str(e) for e in c.earns[first])
    assert report[3]["code"] == "8015"
    failed = client.get(f"/console/jobs/{job_id}/results.csv?status=FAILED")
    assert [r["line"] for r in csv.DictReader(io.StringIO(failed.text))] == ["4"]

    undo = client.post("/console/undo", data={"csrf": csrf_of(done.text), "jobId": job_id,
                                              "idempotencyKey": _undo_key(done.text)})  # fmt: skip
    assert undo.status_code == 200, undo.text
    assert "Reinstated 0 enrolments and 6 earns; 0 skipped." in undo.text
    assert len(world.rows(t.earns, status="ACTIVE")) == 6
    assert len(world.audit(action="REINSTATE_EARN")) == 6


def _undo_key(html: str) -> str:
    match = re.search(r'name="idempotencyKey" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def test_cancel_a_queued_job_and_a_finished_one_is_refused(
    client: TestClient, world: World
) -> None:
    c = campaign(world, 2)
    _console(world, c)
    job_id = upload(client, c, csv_file([{"identifierValue": str(c.customers[0].id)}])).json()["id"]
    csrf = page_csrf(client, f"/console/jobs/{job_id}")
    cancelled = client.post(
        f"/console/jobs/{job_id}/cancel", data={"csrf": csrf}, follow_redirects=False
    )
    assert (cancelled.status_code, cancelled.headers["location"]) == (
        303,
        f"/console/jobs/{job_id}",
    )
    [job] = world.rows(t.jobs)
    assert job.status == "CANCELLED"
    page = client.get(f"/console/jobs/{job_id}")
    assert "CANCELLED" in page.text
    assert "Cancel job" not in page.text
    again = client.post(f"/console/jobs/{job_id}/cancel", data={"csrf": csrf})
    assert again.status_code == 409
    assert "already finished" in again.text
    run_all(world.runtime)
    assert len(world.rows(t.earns, status="ACTIVE")) == 4  # a cancelled job applied nothing


@pytest.mark.parametrize(
    ("body", "content_type", "params", "status", "code"),
    [
        (b"mobile\n1\n", "text/csv", {}, 400, "9460"),  # no identifierValue column
        (b"identifierValue\n1\n", "application/pdf", {}, 400, "9462"),  # not CSV nor NDJSON
        (b"identifierValue\n\xff\xfe\n", "text/csv", {}, 400, "9461"),  # not UTF-8
        (b"identifierValue\n", "text/csv", {}, 400, "11013"),  # no rows
        (b"identifierValue\n1\n", "text/csv", {"action": "DANCE"}, 400, "9001"),
        (b"identifierValue\n" + b"1\n" * 3000, "text/csv", {}, 413, ""),  # over job_max_bytes
    ],
)
def test_a_bad_upload_shows_the_api_code_and_writes_nothing(
    client: TestClient,
    world: World,
    body: bytes,
    content_type: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    c = campaign(world, 1)
    _console(world, c)
    answer = upload(client, c, body, content_type=content_type, **params)
    assert answer.status_code == status, answer.text
    assert "Upload refused" in answer.text
    assert f"{code}: " in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert job_count(world) == 0


def test_access_read_only_sees_jobs_but_cannot_upload_cancel_or_undo(
    client: TestClient, world: World
) -> None:
    c = campaign(world, 1)
    writer = world.till(c.caller.org_id, access="customer:write,config:read")
    sign_in(client, writer)
    job_id = upload(client, c, csv_file([{"identifierValue": str(c.customers[0].id)}])).json()["id"]
    client.cookies.clear()
    _console(world, c, access="customer:read,config:read")
    page = client.get("/console/jobs")
    assert page.status_code == 200
    assert job_id in page.text
    assert "data-upload" not in page.text
    assert client.get(f"/console/jobs/{job_id}").status_code == 200
    assert client.get(f"/console/jobs/{job_id}/results.csv").status_code == 200
    csrf = csrf_of(page.text)
    denied = [
        upload(client, c, b"identifierValue\n1\n", csrf=csrf),
        client.post(f"/console/jobs/{job_id}/cancel", data={"csrf": csrf}),
        client.post("/console/undo", data={"csrf": csrf, "jobId": job_id, "idempotencyKey": "k"}),
    ]
    assert [d.status_code for d in denied] == [403, 403, 403]
    assert all("Access denied" in d.text for d in denied)
    assert job_count(world) == 1
    assert world.rows(t.jobs)[0].status == "QUEUED"
    assert "/console/jobs/upload" in world.audit(action="ACCESS_DENIED")[0].detail
    # Without CONFIG READ there is no console at all; without a session, the sign-in form.
    client.cookies.clear()
    assert client.get("/console/jobs").status_code == 401
    no_config = world.till(c.caller.org_id, access="customer:write,config:none")
    assert sign_in(client, no_config).status_code == 403


def test_forged_csrf_is_refused_and_nothing_is_written(client: TestClient, world: World) -> None:
    c = campaign(world, 1)
    _console(world, c)
    file = csv_file([{"identifierValue": str(c.customers[0].id)}])
    forged = upload(client, c, file, csrf="forged")
    assert forged.status_code == 403
    assert "Form refused" in forged.text
    missing = client.post("/console/jobs/upload", params={"action": "REVOKE_EARN"}, content=file,
                          headers={"Content-Type": "text/csv"})  # fmt: skip
    assert missing.status_code == 403
    assert job_count(world) == 0
    job_id = upload(client, c, file).json()["id"]
    assert client.post(f"/console/jobs/{job_id}/cancel", data={"csrf": "x"}).status_code == 403
    assert world.rows(t.jobs)[0].status == "QUEUED"
    run_all(world.runtime)
    undo = client.post("/console/undo", data={"csrf": "x", "jobId": job_id, "idempotencyKey": "k"})
    assert undo.status_code == 403
    assert world.audit(action="REINSTATE_EARN") == []


def test_unknown_foreign_and_non_revoke_jobs(client: TestClient, world: World) -> None:
    c = campaign(world, 1)
    other = campaign(world, 1)
    _console(world, c)
    for missing in ("job_999999", "nonsense"):
        assert client.get(f"/console/jobs/{missing}").status_code == 404
        assert client.get(f"/console/jobs/{missing}/progress").status_code == 404
        assert client.get(f"/console/jobs/{missing}/results.csv").status_code == 404
    # Another org's job behaves exactly like a missing one.
    foreign = world.till(other.caller.org_id, access="customer:write,config:read")
    client.cookies.clear()
    sign_in(client, foreign)
    foreign_id = upload(client, other, b"identifierValue\n1\n").json()["id"]
    client.cookies.clear()
    _console(world, c)
    assert client.get(f"/console/jobs/{foreign_id}").status_code == 404
    # A dry-run job shows no undo, and undoing it by id is refused with the API's code.
    dry = upload(client, c, csv_file([{"identifierValue": str(c.customers[0].id)}]),
                 dryRun="true").json()["id"]  # fmt: skip
    run_all(world.runtime)
    page = client.get(f"/console/jobs/{dry}")
    assert "dry run" in page.text
    assert "Undo this job" not in page.text
    refused = client.post("/console/undo", data={"csrf": csrf_of(page.text), "jobId": dry,
                                                 "idempotencyKey": "dry-undo"})  # fmt: skip
    assert refused.status_code == 422
    assert "Undo refused" in refused.text
    assert "9422" in refused.text
    assert client.get(f"/console/jobs/{dry}/results.csv?status=BOGUS").status_code == 422
    assert len(world.rows(t.earns, status="ACTIVE")) == 4


def test_progress_of_a_running_job_shows_rate_and_eta() -> None:
    now = utcnow()
    spec = JobSpec("REVOKE_EARN", 1, 2, True, None, "id", False)
    job = Job(id=1, org_id=1, spec=spec, status=JobStatus.RUNNING, total=10_000, chunks=20,
              next_chunk=5, processed=2_500, succeeded=2_400, failed=100, cancel_requested=False,
              actor_kind="TILL", actor_id=1, created_at=now - timedelta(seconds=60),
              started_at=now - timedelta(seconds=50), finished_at=None, error=None)  # fmt: skip
    running = Progress.of(job, now).wire()
    assert (running["percent"], running["rate"], running["eta"]) == (25, "50.0", "2 min 30 s")
    assert running["finished"] is False
    done = Progress.of(
        replace(job, status=JobStatus.SUCCEEDED, processed=10_000, finished_at=now), now
    ).wire()
    assert (done["percent"], done["rate"], done["eta"], done["finished"]) == (
        100,
        "200.0",
        "—",
        True,
    )
    assert Progress.of(replace(job, total=0, processed=0), now).wire()["percent"] == 0
    assert [eta_text(s) for s in (None, 9, 61, 7322)] == ["—", "9 s", "1 min 1 s", "2 h 2 min"]
    assert [size_text(n) for n in (2 << 30, 4096, 3 << 20, 100)] == [
        "2 GiB", "4 KiB", "3 MiB", "100 bytes"
    ]  # fmt: skip


def test_an_ndjson_file_larger_than_the_api_body_limit_is_accepted(
    database_url: str, settings: Settings
) -> None:
    """The upload is exempt from the API's body limit (its own is the job limit), like the
    API's job submit: a file over ``max_body_bytes`` is streamed in, not refused."""
    big = settings.model_copy(update={"max_body_bytes": 1024, "job_max_bytes": 1 << 20})
    with serving(big) as served:
        c = campaign(served, 1)
        _console(served, c)
        line = orjson.dumps({"identifierValue": str(c.customers[0].id), "source": "INSTORE"})
        body = (line + b"\n") * 200
        assert len(body) > 1024
        answer = upload(served.client, c, body, content_type="application/x-ndjson")
        assert answer.status_code == 202, answer.text
        [job] = served.rows(t.jobs)
        assert job.total == 200
        # Any other console form still has the API's limit.
        csrf = page_csrf(served.client, "/console/revoke")
        too_big = served.client.post(
            "/console/revoke/preview", data={"csrf": csrf, "identifiers": "1\n" * 1000}
        )
        assert too_big.status_code == 413
