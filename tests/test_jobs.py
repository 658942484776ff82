"""Bulk jobs over HTTP: submit checks, the run, the report, cancel, dry run (contract 7)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from promoledger.domain.errors import Invalid, NotFound
from promoledger.services import jobs as jobs_service
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import World, bulk_body
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
        job_workers=0,
        job_chunk_rows=7,
        job_max_bytes=4096,
    )


def submit(
    client: TestClient,
    c: Campaign,
    body: bytes,
    action: str = "REVOKE_EARN",
    *,
    content_type: str = "text/csv",
    **params: Any,
) -> Any:
    return client.post(
        "/admin/v1/jobs",
        params=c.params(action, **params),
        content=body,
        headers={**c.caller.headers, "Content-Type": content_type},
    )


def ndjson_results(client: TestClient, c: Campaign, job_id: str, **params: Any) -> list[Any]:
    response = client.get(
        f"/admin/v1/jobs/{job_id}/results",
        params=params,
        headers={**c.caller.headers, "Accept": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


def job_count(world: World) -> int:
    with world.uow.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.jobs)).scalar_one())


def test_a_revoke_job_answers_every_row_as_the_bulk_api_would(
    world: World, client: TestClient
) -> None:
    c = campaign(world, 6)
    a, b, d = c.customers[0], c.customers[1], c.customers[2]
    rows = [
        {"identifierValue": str(a.id)},  # all of a's earns
        {"identifierValue": str(a.id)},  # again: nothing left → 2305
        {"identifierValue": str(b.id), "earnIds": str(c.earns[b.id][0])},
        {"identifierValue": str(b.id), "earnIds": f"{c.earns[b.id][0]};{c.earns[b.id][1]}"},  # 8903
        {"identifierValue": "999999"},  # 8015
        {"identifierValue": "abc"},  # 8896
        {"identifierValue": "", "source": "INSTORE"},  # 11013
        {"identifierValue": str(d.id), "source": "nowhere"},  # 8003
        {"identifierValue": str(d.id), "earnIds": f"{c.earns[d.id][1]} {c.earns[d.id][0]}"},
    ]
    body = csv_file(rows, ("identifierValue", "source", "earnIds"))
    response = submit(client, c, body)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/admin/v1/jobs/{job['id']}"
    assert job["id"].startswith("job_")
    assert (job["status"], job["total"], job["processed"]) == ("QUEUED", 9, 0)

    run_all(world.runtime)

    shown = client.get(f"/admin/v1/jobs/{job['id']}", headers=c.caller.headers).json()
    assert (shown["status"], shown["processed"], shown["succeeded"], shown["failed"]) == (
        "SUCCEEDED",
        9,
        3,
        6,
    )
    assert shown["finishedAt"] is not None
    assert shown["etaSeconds"] is None
    entries = ndjson_results(client, c, job["id"])
    assert [e["line"] for e in entries] == list(range(1, 10))
    codes = [e["errors"][0]["code"] if e["errors"] else 0 for e in entries]
    assert codes == [0, 2305, 0, 8903, 8015, 8896, 11013, 8003, 0]
    assert entries[0]["result"]["revokedEarnIds"] == c.earns[a.id]
    assert entries[0]["result"] == {
        "entityType": "CUSTOMER",
        "entityId": a.id,
        "promotionId": c.promotion.id,
        "programId": c.program_id,
        "revokedEarnIds": c.earns[a.id],
    }
    assert entries[8]["result"]["revokedEarnIds"] == sorted(c.earns[d.id])
    # The ledger and the audit name the job.
    revoked = world.rows(t.earns, status="REVOKED")
    assert sorted(r.id for r in revoked) == sorted(
        c.earns[a.id] + [c.earns[b.id][0]] + c.earns[d.id]
    )
    assert {r.ended_request_id for r in revoked} == {job["id"]}
    assert {e.request_id for e in world.audit(action="REVOKE_EARN")} == {job["id"]}

    csv = client.get(f"/admin/v1/jobs/{job['id']}/results", headers=c.caller.headers)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert (
        lines[0]
        == "line,identifierValue,status,code,message,entityId,issualId,earnedId,revokedEarnIds"
    )
    assert lines[1] == f"1,{a.id},SUCCESS,,,{a.id},,,{c.earns[a.id][0]};{c.earns[a.id][1]}"
    assert lines[2].startswith(f"2,{a.id},FAILED,2305,")
    failed = ndjson_results(client, c, job["id"], status="FAILED")
    assert [e["line"] for e in failed] == [2, 4, 5, 6, 7, 8]


def test_outcomes_equal_the_bulk_api_sent_100_rows_at_a_time(
    world: World, client: TestClient
) -> None:
    # Two identical promotions: the job runs on one, the bulk API (100 rows a request) on the
    # other; a customer named on both sides of a 100-row boundary sees its first row's effect.
    c = campaign(world, 60, earns_each=1)
    twin = world.promotion(c.caller.org_id, c.program_id, earns_per_customer=-1)
    twin_earn = {}
    for cust in c.customers:
        enrolment = world.enrolment(c.caller.org_id, twin.id, cust.id)
        twin_earn[cust.id] = world.earn(c.caller.org_id, twin.id, cust.id, enrolment_id=enrolment)
    ids = [str(x.id) for x in c.customers]
    rows = [{"identifierValue": ids[i % 60]} for i in range(230)]  # each named 3-4 times
    job = submit(client, c, csv_file(rows)).json()
    run_all(world.runtime)
    got = ndjson_results(client, c, job["id"])

    expected = []
    for start in range(0, 230, 100):
        body = bulk_body(
            c.program_id,
            twin,
            [r["identifierValue"] for r in rows[start : start + 100]],
            action="REVOKE_EARN",
            source=None,
        )
        answer = client.post(
            "/v2/promotion/bulk/revokeEnrolAndEarn", json=body, headers=c.caller.headers
        )
        assert answer.status_code == 200
        expected += answer.json()["response"]
    back = {v: k for k, v in twin_earn.items()}
    mine = {k: v[0] for k, v in c.earns.items()}

    def same(entry: dict[str, Any]) -> Any:
        if "result" not in entry:
            return entry
        result = dict(entry["result"])
        result.pop("promotionId")
        result["revokedEarnIds"] = [back.get(x, x) for x in result["revokedEarnIds"]]
        return {**entry, "result": result}

    def mine_norm(entry: dict[str, Any]) -> Any:
        e = dict(entry)
        e.pop("line")
        if "result" in e:
            result = dict(e["result"])
            result.pop("promotionId")
            owner = {v: k for k, v in mine.items()}
            result["revokedEarnIds"] = [owner[x] for x in result["revokedEarnIds"]]
            e["result"] = result
        return e

    assert [mine_norm(e) for e in got] == [same(e) for e in expected]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"action": "REVOKE_EVERYTHING"}, 9001),
        ({"action": None}, 9001),
        ({"programId": None}, 8881),
        ({"promotionId": None}, 8881),
        ({"programId": 999999}, 1101),
        ({"promotionId": 999999}, 8874),
        ({"identifierName": "nickname"}, 8013),
    ],
)
def test_request_level_problems_are_refused_at_submit(
    world: World, client: TestClient, params: dict[str, Any], code: int
) -> None:
    c = campaign(world, 1)
    query = {k: v for k, v in {**c.params("REVOKE_EARN"), **params}.items() if v is not None}
    response = client.post(
        "/admin/v1/jobs",
        params=query,
        content=b"identifierValue\n1\n",
        headers={**c.caller.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == code
    assert job_count(world) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"mobile,source\n1,INSTORE\n", "text/csv", 400, 9460),
        (b"identifierValue\n\xff\xfe\n", "text/csv", 400, 9461),
        (b"identifierValue\n", "text/csv", 400, 11013),
        (b"", "application/x-ndjson", 400, 11013),
        (b"identifierValue\n1\n", "application/json", 400, 9462),
        (b"identifierValue\n" + b"1\n" * 3000, "text/csv", 413, 9413),
    ],
)
def test_bad_files_are_refused_and_leave_nothing(
    world: World, client: TestClient, body: bytes, content_type: str, status: int, code: int
) -> None:
    c = campaign(world, 1)
    response = submit(client, c, body, content_type=content_type)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["code"] == code
    assert job_count(world) == 0
    with world.uow.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.job_chunks)).scalar_one() == 0


def test_a_file_over_the_limit_streamed_without_a_length_gets_413(
    world: World, client: TestClient
) -> None:
    c = campaign(world, 1)

    def pieces() -> Any:
        yield b"identifierValue\n"
        for _ in range(300):
            yield b"1\n" * 10

    response = client.post(
        "/admin/v1/jobs",
        params=c.params("REVOKE_EARN"),
        content=pieces(),
        headers={**c.caller.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 413
    assert job_count(world) == 0


def test_promotion_rules_of_the_bulk_api_apply_at_submit(world: World, client: TestClient) -> None:
    c = campaign(world, 1, type="DIRECT_ISSUE")
    enrol = submit(client, c, b"identifierValue\n1\n", "REVOKE_ISSUAL")
    assert enrol.status_code == 400
    assert enrol.json()["errors"][0]["code"] == 8902
    inactive = world.promotion(c.caller.org_id, c.program_id, active=False)
    off = submit(client, c, b"identifierValue\n1\n", promotionId=inactive.id)
    assert off.status_code == 400
    assert off.json()["errors"][0]["code"] == 8892
    assert job_count(world) == 0


def test_access_needs_customer_write(world: World, client: TestClient) -> None:
    c = campaign(world, 1)
    reader = world.till(c.caller.org_id, access="customer:read,config:write")
    response = client.post(
        "/admin/v1/jobs",
        params=c.params("REVOKE_EARN"),
        content=b"identifierValue\n1\n",
        headers={**reader.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 403
    assert client.post("/admin/v1/jobs", params=c.params("REVOKE_EARN")).status_code == 401


def test_ndjson_enrol_and_earn_jobs(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    people = world.customers(org, program, 3)
    c = Campaign(caller, program, promotion, people, {})
    lines = [orjson.dumps({"identifierValue": p.mobile, "source": "INSTORE"}) for p in people]
    body = b"\n".join(lines) + b"\n\nnot json\n"
    job = submit(
        client, c, body, "ENROL", content_type="application/x-ndjson", identifierName="mobile"
    ).json()
    assert job["total"] == 4
    run_all(world.runtime)
    entries = ndjson_results(client, c, job["id"])
    assert [bool(e["errors"]) for e in entries] == [False, False, False, True]
    assert entries[3]["errors"][0]["code"] == 11013
    assert len(world.rows(t.enrolments, promotion_id=promotion.id, status="ACTIVE")) == 3
    earn = submit(
        client,
        c,
        b"\n".join(lines),
        "EARN",
        content_type="application/x-ndjson",
        identifierName="mobile",
    ).json()
    run_all(world.runtime)
    earned = ndjson_results(client, c, earn["id"])
    assert all("earnedId" in e["result"] for e in earned)
    assert len(world.rows(t.earns, promotion_id=promotion.id)) == 3


def test_direct_earn_job_names_the_promotion(world: World, client: TestClient) -> None:
    c = campaign(world, 2, earns_each=0, type="DIRECT_ISSUE")
    body = csv_file([{"identifierValue": str(x.id)} for x in c.customers])
    job = submit(client, c, body, "DIRECT_EARN", promoIdentifier=c.promotion.identifier).json()
    run_all(world.runtime)
    entries = ndjson_results(client, c, job["id"])
    assert [e["result"]["promotionName"] for e in entries] == [c.promotion.name] * 2
    assert entries[0]["result"]["promoIdentifier"] == c.promotion.identifier
    assert len(world.rows(t.earns, promotion_id=c.promotion.id)) == 2


def test_dry_run_decides_every_row_and_changes_nothing(world: World, client: TestClient) -> None:
    c = campaign(world, 3)
    body = csv_file(
        [{"identifierValue": str(x.id)} for x in c.customers] + [{"identifierValue": "999999"}]
    )
    job = submit(client, c, body, dryRun="true").json()
    assert job["dryRun"] is True
    run_all(world.runtime)
    entries = ndjson_results(client, c, job["id"])
    assert [e["result"]["revokedEarnIds"] for e in entries[:3]] == [
        c.earns[x.id] for x in c.customers
    ]
    assert entries[3]["errors"][0]["code"] == 8015
    assert world.rows(t.earns, status="REVOKED") == []
    assert world.audit(action="REVOKE_EARN") == []
    shown = client.get(f"/admin/v1/jobs/{job['id']}", headers=c.caller.headers).json()
    assert (shown["status"], shown["succeeded"], shown["failed"]) == ("SUCCEEDED", 3, 1)


def test_list_is_newest_first_and_paginated_per_org(world: World, client: TestClient) -> None:
    c = campaign(world, 1)
    made = [submit(client, c, b"identifierValue\n1\n").json()["id"] for _ in range(3)]
    other = campaign(world, 1)
    submit(client, other, b"identifierValue\n1\n")
    first = client.get("/admin/v1/jobs", params={"limit": 2}, headers=c.caller.headers).json()
    assert [j["id"] for j in first["jobs"]] == made[::-1][:2]
    rest = client.get(
        "/admin/v1/jobs",
        params={"limit": 2, "cursor": first["nextCursor"]},
        headers=c.caller.headers,
    ).json()
    assert [j["id"] for j in rest["jobs"]] == made[:1]
    assert rest["nextCursor"] is None
    foreign = client.get(f"/admin/v1/jobs/{made[0]}", headers=other.caller.headers)
    assert foreign.status_code == 404
    assert client.get("/admin/v1/jobs/nonsense", headers=c.caller.headers).status_code == 404
    bad = client.get("/admin/v1/jobs", params={"cursor": "!!"}, headers=c.caller.headers)
    assert bad.status_code == 422


def test_cancel_a_queued_job_and_not_a_finished_one(world: World, client: TestClient) -> None:
    c = campaign(world, 1)
    job = submit(client, c, csv_file([{"identifierValue": str(c.customers[0].id)}])).json()
    cancelled = client.post(f"/admin/v1/jobs/{job['id']}/cancel", headers=c.caller.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    run_all(world.runtime)
    assert world.rows(t.earns, status="REVOKED") == []
    again = client.post(f"/admin/v1/jobs/{job['id']}/cancel", headers=c.caller.headers)
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == 9470
    bad = client.get(
        f"/admin/v1/jobs/{job['id']}/results", params={"status": "MEH"}, headers=c.caller.headers
    )
    assert bad.status_code == 422


def test_a_revoke_jobs_request_id_for_undo(world: World, client: TestClient) -> None:
    c = campaign(world, 1)
    one = csv_file([{"identifierValue": str(c.customers[0].id)}])
    revoke = submit(client, c, one).json()["id"]
    dry = submit(client, c, one, dryRun="true").json()["id"]
    enrol = submit(client, c, one, "ENROL").json()["id"]
    uow, org = world.uow, c.caller.org_id
    assert jobs_service.revoke_request_id(uow, org_id=org, job_id=revoke) == revoke
    for not_undoable in (dry, enrol):
        with pytest.raises(Invalid):
            jobs_service.revoke_request_id(uow, org_id=org, job_id=not_undoable)
    with pytest.raises(NotFound):
        jobs_service.revoke_request_id(uow, org_id=org + 1, job_id=revoke)
