"""`promoledger demo` run a second time says so and changes nothing (the till stays put)."""

from __future__ import annotations

from typer.testing import CliRunner

from promoledger.cli.main import app
from promoledger.store import tables as t
from tests.support.factories import World

runner = CliRunner()


def test_demo_twice_refuses_and_keeps_the_till_on_its_org(database_url: str, world: World) -> None:
    first = runner.invoke(app, ["--database-url", database_url, "demo"])
    assert first.exit_code == 0, first.output
    [till] = world.rows(t.credentials)
    before = {table.name: len(world.rows(table)) for table in (t.orgs, t.customers, t.earns)}

    again = runner.invoke(app, ["--database-url", database_url, "demo"])
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert f"org {till.org_id}" in again.stderr
    assert again.stdout == ""
    after = {table.name: len(world.rows(table)) for table in (t.orgs, t.customers, t.earns)}
    assert after == before
    assert [r.org_id for r in world.rows(t.credentials)] == [till.org_id]
