"""`promoledger serve`: migrate, then serve with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from promoledger.cli.common import state
from promoledger.store.engine import build_engine
from promoledger.store.schema import upgrade


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option(help="Server processes (share the database).")] = 1,
    ) -> None:
        """Upgrade the schema, then serve the HTTP API."""
        settings = state(ctx).settings
        engine = build_engine(settings)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        # Worker processes rebuild the app from the environment through the factory.
        os.environ["PROMOLEDGER_DATABASE_URL"] = settings.database_url
        uvicorn.run(
            "promoledger.asgi:create",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
        )
