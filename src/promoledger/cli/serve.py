"""`promoledger serve`: migrate, then serve with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from promoledger.cli.common import runtime


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option(help="Server processes (share the database).")] = 1,
    ) -> None:
        """Upgrade the schema, then serve the HTTP API."""
        with runtime(ctx) as built:  # upgrades the schema; the server builds its own runtime
            settings = built.settings
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
