"""`promoledger till|client list|disable|enable|rotate`: the operator's credential commands.

The CLI runs against the same database the app serves, as an operator would; every change is
checked through HTTP (the app's runtime keeps its own verified cache, like a running server).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from promoledger.app import create_app
from promoledger.cli.main import app as cli
from promoledger.runtime import Runtime
from promoledger.services.auth import md5_hex
from promoledger.settings import Settings
from tests.factories import World
from tests.test_auth import (
    basic,
    with_probes,
)

PROBE = "/v2/_probe/customer"
GENERATE = "/v3/oauth/token/generate"


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return with_probes(create_app(settings, runtime=runtime))


@pytest.fixture
def run(database_url: str) -> Any:
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(cli, ["--database-url", database_url, *args])
        assert (result.exit_code == 0) is ok, (result.exit_code, result.output)
        return result

    return invoke


def _json(result: Any) -> Any:
    return orjson.loads(result.stdout)


def test_till_list_shows_tills_without_secrets(world: World, run: Any) -> None:
    first, second = world.org("first"), world.org("second")
    created = _json(
        run("till", "create", "--org", str(first), "--code", "t-1", "--password", "pw1")
    )
    world.till(second, access="customer:read")
    listing = run("till", "list")
    tills = _json(listing)
    assert [t["orgId"] for t in tills] == [first, second]
    assert tills[0] == {
        **tills[0],
        "id": created["id"],
        "kind": "TILL",
        "name": "t-1",
        "access": {"customer": "WRITE", "config": "NONE"},
        "disabled": False,
    }
    for till in tills:
        assert not {"secret", "secretHash", "secret_hash", "password"} & set(till)
    assert "argon2" not in listing.stdout
    assert md5_hex("pw1") not in listing.stdout
    only_second = _json(run("till", "list", "--org", str(second)))
    assert [t["orgId"] for t in only_second] == [second]
    assert all(t["kind"] == "TILL" for t in tills)


def test_till_disable_and_enable(world: World, run: Any) -> None:
    org = world.org()
    till = world.till(org)
    assert world.client.get(PROBE, headers=till.headers).status_code == 200  # now cached
    shown = _json(run("till", "disable", "--code", till.name))
    assert (shown["id"], shown["disabled"]) == (till.credential_id, True)
    assert world.client.get(PROBE, headers=till.headers).status_code == 401
    run("till", "disable", "--code", till.name)  # already disabled: no change, no audit
    assert _json(run("till", "enable", "--code", till.name))["disabled"] is False
    assert world.client.get(PROBE, headers=till.headers).status_code == 200
    events = [
        (e.action, e.old_status, e.new_status, e.actor_kind, e.org_id, e.entity_id)
        for e in world.audit(entity_type="CREDENTIAL")
        if e.action.startswith("CREDENTIAL_") and e.action != "CREDENTIAL_CREATED"
    ]
    assert events == [
        ("CREDENTIAL_DISABLED", "ACTIVE", "DISABLED", "OPERATOR", org, till.credential_id),
        ("CREDENTIAL_ENABLED", "DISABLED", "ACTIVE", "OPERATOR", org, till.credential_id),
    ]


def test_till_rotate(world: World, run: Any) -> None:
    till = world.till(world.org(), password="before")
    assert world.client.get(PROBE, headers=till.headers).status_code == 200
    result = _json(run("till", "rotate", "--code", till.name, "--password", "after"))
    assert result == {"id": till.credential_id, "code": till.name}
    assert world.client.get(PROBE, headers=till.headers).status_code == 401
    assert world.client.get(PROBE, headers=basic(till.name, md5_hex("after"))).status_code == 200
    (event,) = world.audit(action="CREDENTIAL_ROTATED")
    assert event.entity_id == till.credential_id
    assert "after" not in (event.detail or "").replace(till.name, "")


def test_client_list_disable_enable(world: World, run: Any) -> None:
    org = world.org()
    caller = world.oauth_client(org, access="customer:read", ttl=120)
    token = world.oauth_token(caller)
    (listed,) = _json(run("client", "list", "--org", str(org)))
    assert (listed["name"], listed["tokenTtlSeconds"], listed["disabled"]) == (
        caller.name,
        120,
        False,
    )
    assert listed["access"] == {"customer": "READ", "config": "NONE"}
    assert caller.secret not in run("client", "list").stdout
    run("client", "disable", "--key", caller.name)
    assert world.client.get(PROBE, headers={"X-CAP-API-OAUTH-TOKEN": token}).status_code == 401
    body = {"key": caller.name, "secret": caller.secret}
    assert world.client.post(GENERATE, json=body).status_code == 401
    run("client", "enable", "--key", caller.name)
    assert world.client.post(GENERATE, json=body).status_code == 200


def test_client_rotate_prints_a_new_secret_once(world: World, run: Any) -> None:
    caller = world.oauth_client(world.org())
    token = world.oauth_token(caller)
    rotated = _json(run("client", "rotate", "--key", caller.name))
    assert set(rotated) == {"id", "key", "secret"}
    assert (rotated["id"], rotated["key"]) == (caller.credential_id, caller.name)
    assert rotated["secret"] != caller.secret
    old = world.client.post(GENERATE, json={"key": caller.name, "secret": caller.secret})
    assert old.status_code == 401
    assert world.client.get(PROBE, headers={"X-CAP-API-OAUTH-TOKEN": token}).status_code == 401
    fresh = world.client.post(GENERATE, json={"key": caller.name, "secret": rotated["secret"]})
    assert fresh.status_code == 200
    assert rotated["secret"] not in run("client", "list").stdout
    (event,) = world.audit(action="CREDENTIAL_ROTATED")
    assert rotated["secret"] not in (event.detail or "")


@pytest.mark.parametrize(
    "args",
    [
        ("till", "disable", "--code", "nope"),
        ("till", "enable", "--code", "nope"),
        ("till", "rotate", "--code", "nope", "--password", "x"),
        ("client", "disable", "--key", "nope"),
        ("client", "rotate", "--key", "nope"),
    ],
)
def test_unknown_credentials_are_an_error(world: World, run: Any, args: tuple[str, ...]) -> None:
    result = run(*args, ok=False)
    assert result.exit_code == 1
    assert "not found" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("code", ["a:b", " padded", "tab\there", ""])
def test_till_codes_that_basic_cannot_carry_are_refused(world: World, run: Any, code: str) -> None:
    org = world.org()
    result = run("till", "create", "--org", str(org), "--code", code, "--password", "p", ok=False)
    assert "till code" in result.stderr
    assert _json(run("till", "list")) == []


def test_an_empty_rotated_password_is_refused(world: World, run: Any) -> None:
    till = world.till(world.org())
    result = run("till", "rotate", "--code", till.name, "--password", "", ok=False)
    assert "password" in result.stderr
    assert world.client.get(PROBE, headers=till.headers).status_code == 200
    assert world.audit(action="CREDENTIAL_ROTATED") == []
