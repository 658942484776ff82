"""`promoledger demo`: a ready demo org whose printed credentials and curl line work."""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from promoledger.cli.main import app
from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.invariants import snapshot, table_counts

runner = CliRunner()


def _demo(database_url: str, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["--database-url", database_url, "demo", *args])
    assert result.exit_code == 0, result.output
    assert "curl" in result.stderr
    out: dict[str, Any] = orjson.loads(result.stdout)  # exactly one JSON object
    return out


DEMO_TABLES = (t.orgs, t.credentials, t.programs, t.promotions, t.customers, t.enrolments, t.earns)


def _counts(database_url: str) -> dict[str, int]:
    return table_counts(database_url, *DEMO_TABLES)


@dataclass
class Curl:
    """A parsed ``curl`` command line: what it would send."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @classmethod
    def parse(cls, line: str) -> Curl:
        words = shlex.split(line)
        assert words[0] == "curl", line
        method, url, body = "GET", "", b""
        headers: dict[str, str] = {}
        options = iter(words[1:])
        for word in options:
            if word in ("-s", "-S", "-sS"):
                continue
            if word == "-X":
                method = next(options)
            elif word == "-H":
                name, _, value = next(options).partition(":")
                headers[name.strip()] = value.strip()
            elif word == "-u":
                token = base64.b64encode(next(options).encode()).decode()
                headers["Authorization"] = f"Basic {token}"
            elif word == "-d":
                body = next(options).encode()
                method = "POST" if method == "GET" else method
            else:
                assert not word.startswith("-"), f"unexpected curl option {word!r}"
                url = word
        return cls(method, url, headers, body)

    def json(self) -> Any:
        return orjson.loads(self.body)


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
    assert _counts(database_url) == {
        "orgs": 1,
        "credentials": 1,
        "programs": 1,
        "promotions": 2,
        "customers": 20,
        "enrolments": 20,  # 10 welcome-offer enrolments, 10 direct-issue dummy enrolments
        "earns": 17,
    }
    assert {r.org_id for r in world.rows(t.customers)} == {org_id}
    assert all(r.mobile and r.email for r in world.rows(t.customers))
    assert len(world.audit(action="ENROL")) == 10
    assert len(world.audit(action="EARN")) == 17
    assert len(world.audit(action="CUSTOMER_CREATED")) == 20

    # The printed request, sent as printed (plus ?dryRun=true), revokes the sample customer's
    # two active earns of the enrol-and-issue promotion, and commits nothing.
    curl = Curl.parse(first["curl"])
    assert curl.url == "http://127.0.0.1:8000/v2/promotion/bulk/revokeEnrolAndEarn"
    [sample] = world.rows(t.customers, mobile=first["sampleCustomer"]["mobile"])
    earns = [e.id for e in world.rows(t.earns, customer_id=sample.id, promotion_id=eai["id"])]
    assert [world.status_of(t.earns, e) for e in earns] == ["ACTIVE", "ACTIVE"]
    before = snapshot(database_url)
    url = urlsplit(curl.url)
    response = client.request(
        curl.method,
        url.path,
        params={"dryRun": "true"},
        headers=curl.headers,
        content=curl.body,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-dry-run"] == "true"
    assert response.json() == {
        "response": [
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": sample.id,
                    "promoIdentifier": eai["identifier"],
                    "programId": program_id,
                    "revokedEarnIds": earns,
                },
                "errors": [],
                "warnings": [],
            }
        ],
        "totalCount": 1,
        "failureCount": 0,
    }
    assert snapshot(database_url) == before
    programs = client.get("/admin/v1/programs", headers=curl.headers)
    assert programs.status_code == 200
    assert [p["id"] for p in programs.json()["programs"]] == [program_id]

    before = _counts(database_url)
    second = _demo(database_url, "--if-empty")
    assert second["created"] is False
    assert _counts(database_url) == before
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
    curl = Curl.parse(second["curl"])
    assert curl.json()["promotionDetails"]["programId"] == second["program"]["id"]
    programs = client.get("/admin/v1/programs", headers=curl.headers).json()["programs"]
    assert [p["id"] for p in programs] == [second["program"]["id"]]
    assert len(world.audit(action="CREDENTIAL_UPDATED")) == 1


def test_if_empty_leaves_a_non_demo_database_alone(database_url: str, world: World) -> None:
    world.org("acme")
    result = runner.invoke(app, ["--database-url", database_url, "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {"created": False, "org": None, "curl": None}
    assert "nothing was created" in result.stderr
    assert _counts(database_url)["orgs"] == 1
    assert _counts(database_url)["customers"] == 0
