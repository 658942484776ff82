"""`promoledger demo`: a ready demo org whose printed credentials and curl line work."""

from __future__ import annotations

import base64
import shlex
from typing import Any

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from promoledger.cli.main import app
from promoledger.domain.bulk import BulkAction, parse_bulk_request
from promoledger.services.batch import resolve
from promoledger.store import tables as t
from promoledger.store.ledger import ledgers
from promoledger.store.types import utcnow
from tests.factories import World

runner = CliRunner()


def _demo(database_url: str, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["--database-url", database_url, "demo", *args])
    assert result.exit_code == 0, result.output
    assert "curl" in result.stderr
    out: dict[str, Any] = orjson.loads(result.stdout)  # exactly one JSON object
    return out


def _counts(world: World) -> dict[str, int]:
    tables = (t.orgs, t.credentials, t.programs, t.promotions, t.customers, t.enrolments, t.earns)
    return {table.name: len(world.rows(table)) for table in tables}


def _curl_parts(curl: str) -> tuple[dict[str, str], str, Any]:
    words = shlex.split(curl)
    user = words[words.index("-u") + 1]
    url = words[words.index("-X") + 2]
    body = orjson.loads(words[words.index("-d") + 1])
    token = base64.b64encode(user.encode()).decode()
    return {"Authorization": f"Basic {token}"}, url, body


def test_demo_creates_a_working_world_and_if_empty_keeps_it(
    database_url: str, world: World, client: TestClient
) -> None:
    first = _demo(database_url)
    assert first["created"] is True
    assert first["till"]["code"] == "demo-till"
    assert first["till"]["password"] == "demo-password"
    assert first["till"]["md5Password"] == "4b4d9529148d8d9440d7e20c78287f69"
    org_id = first["org"]["id"]
    program_id = first["program"]["id"]
    eai = first["promotions"]["enrolAndIssue"]
    direct = first["promotions"]["directIssue"]
    assert (eai["type"], direct["type"]) == ("ENROL_AND_ISSUE", "DIRECT_ISSUE")
    assert _counts(world) == {
        "orgs": 1,
        "credentials": 1,
        "programs": 1,
        "promotions": 2,
        "customers": 20,
        "enrolments": 10,
        "earns": 17,
    }
    assert {r.org_id for r in world.rows(t.customers)} == {org_id}
    assert all(r.mobile and r.email for r in world.rows(t.customers))
    assert len(world.audit(action="ENROL")) == 10
    assert len(world.audit(action="EARN")) == 17
    assert len(world.audit(action="CUSTOMER_CREATED")) == 20

    # The printed credentials work, and the curl body resolves to a customer with earns to revoke.
    headers, url, body = _curl_parts(first["curl"])
    assert url == "http://127.0.0.1:8000/v2/promotion/bulk/revokeEnrolAndEarn"
    programs = client.get("/admin/v1/programs", headers=headers)
    assert programs.status_code == 200
    assert [p["id"] for p in programs.json()["programs"]] == [program_id]
    request = parse_bulk_request(
        body, actions={"REVOKE_EARN": BulkAction.REVOKE_EARN}, batch_limit=100, with_earn_ids=True
    )
    with world.uow.read() as conn:
        batch = resolve(conn, org_id=org_id, request=request, now=utcnow(), lock=False)
        assert batch.error_of == {}
        assert batch.promotion.id == eai["id"]
        [customer_id] = batch.customer_ids
        ledger = ledgers(conn, eai["id"], [customer_id])[customer_id]
    assert [e.status for e in ledger.earns] == ["ACTIVE", "ACTIVE"]

    before = _counts(world)
    second = _demo(database_url, "--if-empty")
    assert second["created"] is False
    assert _counts(world) == before
    assert {k: second[k] for k in ("org", "program", "promotions", "till", "curl")} == {
        k: first[k] for k in ("org", "program", "promotions", "till", "curl")
    }


def test_demo_again_points_the_till_at_the_new_org(
    database_url: str, world: World, client: TestClient
) -> None:
    first = _demo(database_url)
    second = _demo(database_url, "--new-org")
    assert second["created"] is True
    assert second["org"]["id"] != first["org"]["id"]
    assert len(world.rows(t.customers)) == 40  # identifiers are unique per org only
    [till] = world.rows(t.credentials)
    assert till.org_id == second["org"]["id"]
    headers, _, body = _curl_parts(second["curl"])
    assert body["promotionDetails"]["programId"] == second["program"]["id"]
    programs = client.get("/admin/v1/programs", headers=headers).json()["programs"]
    assert [p["id"] for p in programs] == [second["program"]["id"]]
    assert len(world.audit(action="CREDENTIAL_UPDATED")) == 1


def test_if_empty_leaves_a_non_demo_database_alone(database_url: str, world: World) -> None:
    world.org("acme")
    result = runner.invoke(app, ["--database-url", database_url, "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {"created": False, "org": None, "curl": None}
    assert "nothing was created" in result.stderr
    assert _counts(world)["orgs"] == 1
    assert _counts(world)["customers"] == 0
