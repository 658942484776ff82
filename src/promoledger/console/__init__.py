"""The operator console at /console: server-rendered pages over the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from promoledger.console import audit, customers, jobs, revoke, signin, undo, webhooks

STATIC = Path(__file__).with_name("static")
UPLOAD_PATH = jobs.UPLOAD_PATH  # a streamed job file: exempt from the API's body limit


def install(app: FastAPI) -> None:
    """Mount the console's pages and its static assets (open, like the sign-in page)."""
    for module in (signin, customers, revoke, jobs, undo, audit, webhooks):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
