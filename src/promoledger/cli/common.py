"""What every CLI command shares: settings from the root options, JSON output, error exits."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import typer

from promoledger.domain.errors import PromoledgerError
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.store.schema import upgrade
from promoledger.store.uow import UnitOfWork


@dataclass
class State:
    database_url: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            base = Settings()
            self._settings = (
                base.model_copy(update={"database_url": self.database_url})
                if self.database_url
                else base
            )
        return self._settings


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


@contextmanager
def runtime(ctx: typer.Context, *, upgrade_schema: bool = True) -> Iterator[Runtime]:
    """The same runtime the server builds, on a schema brought up to date first (unless told
    otherwise), so commands work on a fresh file; closed when the command ends."""
    built = Runtime.build(state(ctx).settings)
    try:
        if upgrade_schema:
            upgrade(built.engine)
        yield built
    finally:
        built.close()


@contextmanager
def unit_of_work(ctx: typer.Context) -> Iterator[UnitOfWork]:
    """The unit of work of the command's runtime (schema upgraded first)."""
    with runtime(ctx) as built:
        yield built.uow


FROM_STDIN_HELP = (
    "Read the password from standard input (one line; a prompt on a terminal) instead of "
    "the command line, where other users can see it."
)


def read_password(password: str | None, from_stdin: bool, *, option: str) -> str:
    """The password from ``--password-stdin`` (preferred) or from ``option`` (with a warning:
    command lines are visible to other users in ``ps`` and stay in shell history)."""
    if from_stdin and password is not None:
        raise typer.BadParameter(f"give {option} or --password-stdin, not both")
    if from_stdin:
        if sys.stdin.isatty():
            return getpass.getpass("Password: ")
        return sys.stdin.readline().rstrip("\r\n")
    if password is None:
        raise typer.BadParameter(f"{option} or --password-stdin is required")
    typer.echo(
        f"warning: {option} on the command line can be seen by other users and is kept in "
        "shell history; prefer --password-stdin",
        err=True,
    )
    return password


def emit(obj: Any) -> None:
    """Create commands print exactly one JSON object on stdout."""
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a domain error into a one-line message on stderr and exit status 1."""
    try:
        yield
    except PromoledgerError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
