"""The operator CLI, driven in-process through typer's CliRunner against each backend."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import insert
from typer.testing import CliRunner

from promoledger.cli.main import app
from promoledger.services.auth import md5_hex
from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = set(re.findall(r"^│ (\w+) ", result.stdout, flags=re.MULTILINE))
    assert listed == {"serve", "db", "org", "till", "client", "demo", "reinstate", "jobs"}
    for group, command in (
        ("db", "upgrade"),
        ("db", "purge-idempotency-keys"),
        ("org", "create"),
        ("till", "create"),
    ):
        sub = runner.invoke(app, [group, "--help"])
        assert sub.exit_code == 0
        assert command in sub.stdout


def test_org_create_prints_its_id(database_url: str, world: World) -> None:
    result = runner.invoke(app, ["--database-url", database_url, "org", "create", "--name", "Acme"])
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    assert out == {"id": out["id"], "name": "Acme"}
    [org] = world.rows(t.orgs)
    assert (org.id, org.name) == (out["id"], "Acme")
    [event] = world.audit(action="ORG_CREATED")
    assert (event.org_id, event.actor_kind) == (org.id, "OPERATOR")


def test_org_create_with_its_first_till(
    database_url: str, world: World, client: TestClient
) -> None:
    args = ["--database-url", database_url, "org", "create", "--name", "Acme"]
    till = ["--till-code", "acme-till", "--till-password", "pw", "--till-access", "config:read"]
    result = runner.invoke(app, [*args, *till])
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    assert out["till"]["code"] == "acme-till"
    [cred] = world.rows(t.credentials)
    assert (cred.org_id, cred.name, cred.config_access) == (out["id"], "acme-till", "READ")
    ok = client.get("/admin/v1/programs", auth=("acme-till", md5_hex("pw")))
    assert ok.status_code == 200

    again = runner.invoke(app, [*args, *till])
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert len(world.rows(t.orgs)) == 1  # no orphan org

    half = runner.invoke(app, [*args, "--till-code", "x"])
    assert half.exit_code == 1
    assert len(world.rows(t.orgs)) == 1


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"PROMOLEDGER_{name.upper()}" in readme, name


def test_purge_idempotency_keys_deletes_only_expired_answers(
    database_url: str, world: World
) -> None:
    now = utcnow()
    with world.uow.write() as conn:
        for key, expires in (
            ("old", now - timedelta(seconds=1)),
            ("live", now + timedelta(hours=24)),
        ):
            conn.execute(
                insert(t.idempotency_keys).values(
                    credential_id=1,
                    key=key,
                    request_hash="h",
                    state="DONE",
                    response_status=200,
                    response_body=b"{}",
                    created_at=now - timedelta(hours=25),
                    expires_at=expires,
                )
            )
    result = runner.invoke(app, ["--database-url", database_url, "db", "purge-idempotency-keys"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {"purged": 1}
    assert [r.key for r in world.rows(t.idempotency_keys)] == ["live"]
