"""`promoledger reinstate` of a large revoke: the REINSTATE job runs in the CLI process (or is
left to the servers with --detach), and `jobs results` prints its per-item report."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from promoledger.cli.main import app
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import World, bulk_body
from tests.support.jobs import Campaign, run_all, seed
from tests.support.waiting import HANG_SECONDS

runner = CliRunner()
REVOKE = "/v2/promotion/bulk/revokeEnrolAndEarn"
ENV = {"PROMOLEDGER_REINSTATE_INLINE_MAX": "10", "PROMOLEDGER_JOB_CHUNK_ROWS": "4"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        job_workers=0,
    )


def cli(database_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", database_url, *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def revoke_earns(client: TestClient, c: Campaign, rid: str, n: int) -> None:
    ids = [x.id for x in c.customers[:n]]
    body = bulk_body(c.program_id, c.promotion, ids, action="REVOKE_EARN", source=None)
    response = client.post(REVOKE, json=body, headers={**c.caller.headers, "X-Request-ID": rid})
    assert response.json()["failureCount"] == 0, response.text


def statuses(world: World, c: Campaign) -> set[str]:
    return {r.status for r in world.rows(t.earns, promotion_id=c.promotion.id)}


def test_a_large_undo_from_the_cli_runs_its_job_here_or_detached(
    database_url: str, world: World, client: TestClient, runtime: Runtime
) -> None:
    c = seed(world, 7)
    revoke_earns(client, c, "cli-big", 7)  # 14 earns
    base = ["reinstate", "--org", str(c.caller.org_id), "--request-id", "cli-big"]

    code, out, err = cli(database_url, *base, "--dry-run")
    assert code == 0, err
    dry = orjson.loads(out)
    assert (dry["action"], dry["status"], dry["dryRun"], dry["succeeded"]) == (
        "REINSTATE", "SUCCEEDED", True, 14,
    )  # fmt: skip
    assert "ETA" in err  # the progress lines of `jobs submit`
    assert statuses(world, c) == {"REVOKED"}

    code, out, err = cli(database_url, *base, "--detach")
    assert code == 0, err
    queued = orjson.loads(out)
    assert (queued["status"], queued["total"], queued["dryRun"]) == ("QUEUED", 14, False)
    assert statuses(world, c) == {"REVOKED"}
    run_all(runtime)  # a server's worker
    assert statuses(world, c) == {"ACTIVE"}
    audit = world.audit(action="REINSTATE_EARN")
    assert {(e.actor_kind, e.request_id) for e in audit} == {("OPERATOR", queued["id"])}

    code, out, err = cli(
        database_url, "jobs", "results", queued["id"], "--org", str(c.caller.org_id)
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "line,entityType,entityId,customerId,outcome"
    assert len(lines) == 15
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"REINSTATED"}

    code, out, err = cli(database_url, *base)  # runs here; everything is back already
    assert code == 0, err
    again = orjson.loads(out)
    assert (again["status"], again["succeeded"], again["failed"]) == ("SUCCEEDED", 0, 14)


def test_a_small_undo_from_the_cli_still_answers_inline(
    database_url: str, world: World, client: TestClient
) -> None:
    c = seed(world, 3)
    revoke_earns(client, c, "cli-small", 3)  # 6 earns

    code, out, err = cli(
        database_url, "reinstate", "--org", str(c.caller.org_id), "--request-id", "cli-small"
    )

    assert code == 0, err
    assert orjson.loads(out) == {"reinstated": {"enrolments": 0, "earns": 6}, "skipped": []}
    assert statuses(world, c) == {"ACTIVE"}
