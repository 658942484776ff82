"""`promoledger org ...`: tenants."""

from __future__ import annotations

from typing import Annotated

import typer

from promoledger.cli.common import domain_errors, emit, unit_of_work
from promoledger.services import credentials

app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)


@app.command("create")
def create(ctx: typer.Context, name: Annotated[str, typer.Option(help="Display name.")]) -> None:
    """Create an org; prints {"id": ...}."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit({"id": credentials.create_org(uow, name=name), "name": name})
