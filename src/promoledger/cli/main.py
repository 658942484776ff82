"""`promoledger` — the operator CLI. Every command calls the same services as the HTTP API."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from promoledger import __version__
from promoledger.cli import credentials, db, demo, jobs, orgs, reinstate, serve
from promoledger.cli.common import State
from promoledger.observability.logs import mask_url
from promoledger.observability.startup import EXIT_STARTUP, StartupError, settings_problem
from promoledger.settings import DEFAULT_DATABASE_URL, unknown_variables

app = typer.Typer(
    name="promoledger",
    help="Self-hosted loyalty-promotion ledger, wire-compatible with Capillary's v2 "
    "promotion APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"promoledger {__version__}")
        raise typer.Exit


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
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = State(database_url=database_url)


serve.register(app)
app.add_typer(db.app, name="db")
app.add_typer(orgs.app, name="org")
app.add_typer(credentials.till_app, name="till")
app.add_typer(credentials.client_app, name="client")
app.add_typer(jobs.app, name="jobs")
demo.register(app)
reinstate.register(app)


def _warn_unknown_variables() -> None:
    for name, closest in unknown_variables(os.environ):
        hint = f"; did you mean {closest}?" if closest else ""
        typer.echo(f"warning: {name} is not a promoledger setting and is ignored{hint}", err=True)


def _database() -> str:
    """The database URL this run used (``--database-url`` wins over the environment), masked."""
    url = os.environ.get("PROMOLEDGER_DATABASE_URL", DEFAULT_DATABASE_URL)
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--database-url" and i + 1 < len(args):
            url = args[i + 1]
        elif arg.startswith("--database-url="):
            url = arg.partition("=")[2]
    return mask_url(url)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def main() -> None:
    """Run the CLI; a start-up mistake is one line on stderr and exit status 2, no traceback."""
    _warn_unknown_variables()
    try:
        app()
    except StartupError as exc:
        problem = str(exc)
    except ValidationError as exc:
        problem = settings_problem(exc)
    except (ArgumentError, NoSuchModuleError) as exc:
        problem = f"PROMOLEDGER_DATABASE_URL is not a usable database URL: {_first_line(exc)}"
    except DBAPIError as exc:
        problem = f"cannot use the database {_database()} (PROMOLEDGER_DATABASE_URL): " + (
            _first_line(exc)
        )
    except PermissionError as exc:
        problem = f"permission denied: {exc.filename or _first_line(exc)}"
    else:
        return
    typer.echo(f"error: {problem}", err=True)
    sys.exit(EXIT_STARTUP)
