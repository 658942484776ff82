"""`promoledger db ...`: schema management and housekeeping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promoledger.cli.common import emit, runtime, state, unit_of_work
from promoledger.observability import backup
from promoledger.observability.logs import mask_url
from promoledger.observability.startup import StartupError, sqlite_path
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


@app.command("backup")
def backup_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File to write the copy to (must not exist).")],
) -> None:
    """Write a consistent copy of the SQLite database while the server keeps running.

    The copy is one read transaction (SQLite's online backup API), so it is a snapshot of one
    moment even under writes, and writers are not blocked meanwhile. PostgreSQL: use pg_dump
    (the command prints how).
    """
    url = state(ctx).settings.database_url
    source = sqlite_path(url)
    if source is None:
        typer.echo(
            f"{mask_url(url)} is not a SQLite file; back PostgreSQL up with pg_dump, e.g.\n"
            f"  pg_dump --format=custom --file {path} '{mask_url(url)}'\n"
            "and restore with pg_restore --clean --dbname <url> <file> "
            "(see docs/operations.md).",
            err=True,
        )
        raise typer.Exit(1)
    if not source.exists():
        raise StartupError(f"database file {source} does not exist (PROMOLEDGER_DATABASE_URL)")
    if path.exists():
        raise StartupError(f"{path} already exists; give a new file name")
    copied = backup.sqlite_backup(source, path)
    emit({"backup": str(path), "bytes": copied.bytes, "revision": copied.revision})
