"""`promoledger jobs ...`: submit and run in the CLI process, show, list, results, cancel."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from promoledger.cli.main import app
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.jobs import csv_file, seed
from tests.support.waiting import HANG_SECONDS

runner = CliRunner()


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
    result = runner.invoke(
        app, ["--database-url", database_url, *args], env={"PROMOLEDGER_JOB_CHUNK_ROWS": "4"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_submit_runs_the_job_here_with_progress_and_prints_it(
    database_url: str, world: World, tmp_path: Path
) -> None:
    c = seed(world, 10)
    path = tmp_path / "revoke.csv"
    rows = [{"identifierValue": str(x.id)} for x in c.customers] + [{"identifierValue": "99999"}]
    path.write_bytes(csv_file(rows))
    org = str(c.caller.org_id)
    code, out, err = cli(
        database_url, "jobs", "submit", str(path), "--org", org, "--action", "REVOKE_EARN",
        "--program", str(c.program_id), "--promotion", str(c.promotion.id),
    )  # fmt: skip
    assert code == 0, err
    job = orjson.loads(out)
    assert (job["status"], job["processed"], job["succeeded"], job["failed"]) == (
        "SUCCEEDED", 11, 10, 1,
    )  # fmt: skip
    assert "rows/s" in err
    assert "ETA" in err
    assert {r.status for r in world.rows(t.earns)} == {"REVOKED"}
    assert {r.ended_request_id for r in world.rows(t.earns)} == {job["id"]}
    audit = world.audit(action="REVOKE_EARN")
    assert {(e.actor_kind, e.request_id) for e in audit} == {("OPERATOR", job["id"])}

    code, out, _ = cli(database_url, "jobs", "show", job["id"], "--org", org)
    assert code == 0
    assert orjson.loads(out)["id"] == job["id"]
    code, out, _ = cli(database_url, "jobs", "list", "--org", org)
    assert [j["id"] for j in orjson.loads(out)["jobs"]] == [job["id"]]
    report = tmp_path / "report.csv"
    code, _, _ = cli(
        database_url, "jobs", "results", job["id"], "--org", org, "--status", "FAILED",
        "-o", str(report),
    )  # fmt: skip
    assert code == 0
    assert report.read_text().splitlines()[1].startswith("11,99999,FAILED,8015,")
    code, out, _ = cli(database_url, "jobs", "results", job["id"], "--org", org)
    assert len(out.splitlines()) == 12
    code, _, err = cli(database_url, "jobs", "cancel", job["id"], "--org", org)
    assert code == 1
    assert "already finished" in err


def test_detach_dry_run_ndjson_and_refusals(
    database_url: str, world: World, tmp_path: Path
) -> None:
    c = seed(world, 3)
    path = tmp_path / "revoke.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps({"identifierValue": str(x.id)}) for x in c.customers))
    org = str(c.caller.org_id)
    base = ["--org", org, "--program", str(c.program_id), "--promo-identifier",
            c.promotion.identifier]  # fmt: skip
    code, out, err = cli(
        database_url, "jobs", "submit", str(path), *base, "--action", "REVOKE_EARN", "--detach",
        "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    queued = orjson.loads(out)
    assert (queued["status"], queued["total"], queued["dryRun"]) == ("QUEUED", 3, True)
    code, out, _ = cli(database_url, "jobs", "cancel", queued["id"], "--org", org)
    assert orjson.loads(out)["status"] == "CANCELLED"
    code, _, err = cli(database_url, "jobs", "submit", str(path), *base, "--action", "NOPE")
    assert code == 1
    assert "invalid bulk action" in err
    code, _, err = cli(database_url, "jobs", "show", "job_999", "--org", org)
    assert code == 1
    assert "not found" in err
    assert {r.status for r in world.rows(t.earns)} == {"ACTIVE"}
