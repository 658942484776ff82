"""The operator console at /console: server-rendered pages over the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from promoledger.console import audit, customers, revoke, signin

STATIC = Path(__file__).with_name("static")


def install(app: FastAPI) -> None:
    """Mount the console's pages and its static assets (open, like the sign-in page)."""
    for module in (signin, customers, revoke, audit):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
