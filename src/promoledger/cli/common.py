"""What every CLI command shares: settings from the root options, JSON output, error exits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import typer

from promoledger.domain.errors import PromoledgerError
from promoledger.settings import Settings
from promoledger.store.engine import build_engine
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
def unit_of_work(ctx: typer.Context) -> Iterator[UnitOfWork]:
    """A unit of work on a schema brought up to date first (commands work on a fresh file)."""
    settings = state(ctx).settings
    engine = build_engine(settings)
    try:
        upgrade(engine)
        yield UnitOfWork(engine, write_wait_seconds=settings.sqlite_busy_timeout_ms / 1000)
    finally:
        engine.dispose()


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
