"""Secrets never need the command line: ``--password-stdin`` for ``till create|rotate`` and
``org create``; a password given as an argument still works, with a warning on stderr."""

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
from tests.support.factories import World
from tests.support.probes import basic, with_probes

PROBE = "/v2/_probe/customer"
WARNING = "can be seen by other users"


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return with_probes(create_app(settings, runtime=runtime))


@pytest.fixture
def run(database_url: str) -> Any:
    def invoke(*args: str, stdin: str | None = None, ok: bool = True) -> Any:
        result = CliRunner().invoke(cli, ["--database-url", database_url, *args], input=stdin)
        assert (result.exit_code == 0) is ok, (result.exit_code, result.output)
        return result

    return invoke


def _accepted(world: World, code: str, password: str) -> bool:
    return world.client.get(PROBE, headers=basic(code, md5_hex(password))).status_code == 200


def test_till_create_and_rotate_read_the_password_from_stdin(world: World, run: Any) -> None:
    org = world.org()
    created = run(
        "till", "create", "--org", str(org), "--code", "t-in", "--password-stdin",
        stdin="first pass\n",
    )  # fmt: skip
    assert orjson.loads(created.stdout)["code"] == "t-in"
    assert WARNING not in created.stderr
    assert _accepted(world, "t-in", "first pass")
    rotated = run("till", "rotate", "--code", "t-in", "--password-stdin", stdin="second\r\n")
    assert WARNING not in rotated.stderr
    assert _accepted(world, "t-in", "second")
    assert not _accepted(world, "t-in", "first pass")


def test_org_create_reads_the_till_password_from_stdin(world: World, run: Any) -> None:
    result = run(
        "org", "create", "--name", "acme", "--till-code", "o-till", "--password-stdin",
        stdin="org-pass\n",
    )  # fmt: skip
    assert orjson.loads(result.stdout)["till"]["code"] == "o-till"
    assert WARNING not in result.stderr
    assert _accepted(world, "o-till", "org-pass")


def test_a_password_argument_still_works_with_a_warning(world: World, run: Any) -> None:
    org = world.org()
    created = run("till", "create", "--org", str(org), "--code", "t-arg", "--password", "pw-1")
    assert WARNING in created.stderr
    assert "pw-1" not in created.stderr
    assert _accepted(world, "t-arg", "pw-1")
    rotated = run("till", "rotate", "--code", "t-arg", "--password", "pw-2")
    assert WARNING in rotated.stderr
    org_made = run("org", "create", "--name", "b", "--till-code", "b-1", "--till-password", "x")
    assert WARNING in org_made.stderr


def test_password_and_password_stdin_together_or_neither_is_an_error(run: Any) -> None:
    both = run(
        "till", "create", "--org", "1", "--code", "c", "--password", "p", "--password-stdin",
        stdin="p\n", ok=False,
    )  # fmt: skip
    assert "not both" in both.output
    neither = run("till", "rotate", "--code", "c", ok=False)
    assert "--password-stdin" in neither.output
