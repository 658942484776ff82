"""`promoledger` — the operator CLI. Every command calls the same services as the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from promoledger.cli import credentials, db, demo, orgs, serve
from promoledger.cli.common import State

app = typer.Typer(
    name="promoledger",
    help="Self-hosted loyalty-promotion ledger, wire-compatible with Capillary's v2 "
    "promotion APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="PROMOLEDGER_DATABASE_URL",
            help="SQLAlchemy URL (default sqlite:///./promoledger.db).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(database_url=database_url)


serve.register(app)
app.add_typer(db.app, name="db")
app.add_typer(orgs.app, name="org")
app.add_typer(credentials.till_app, name="till")
app.add_typer(credentials.client_app, name="client")
demo.register(app)


def main() -> None:
    app()
