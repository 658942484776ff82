"""`promoledger db ...`: schema management."""

from __future__ import annotations

import typer

from promoledger.cli.common import state
from promoledger.store.engine import build_engine
from promoledger.store.schema import upgrade

app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context) -> None:
    """Run the migrations up to the newest schema (safe to run again)."""
    engine = build_engine(state(ctx).settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    typer.echo("database is up to date", err=True)
