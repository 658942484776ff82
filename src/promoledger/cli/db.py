"""`promoledger db ...`: schema management and housekeeping."""

from __future__ import annotations

import typer

from promoledger.cli.common import emit, runtime, unit_of_work
from promoledger.services import idempotency
from promoledger.store.schema import upgrade

app = typer.Typer(help="Database schema and housekeeping commands.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context) -> None:
    """Run the migrations up to the newest schema (safe to run again)."""
    with runtime(ctx, upgrade_schema=False) as built:
        upgrade(built.engine)
    typer.echo("database is up to date", err=True)


@app.command("purge-idempotency-keys")
def purge_idempotency_keys(ctx: typer.Context) -> None:
    """Delete Idempotency-Key answers past their retention; prints {"purged": N}.

    Expired keys are already ignored (a repeat runs as new); this only reclaims the space.
    Safe to run at any time, e.g. daily from cron.
    """
    with unit_of_work(ctx) as uow:
        emit({"purged": idempotency.purge_expired(uow)})
