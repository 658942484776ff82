"""The app factory: the server, the CLI and the tests all build promoledger through here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from promoledger import __version__, console
from promoledger.api import admin_jobs, errors, health, openapi
from promoledger.api import docs as docs_pages
from promoledger.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from promoledger.api.routes import ROUTERS
from promoledger.jobs.worker import WorkerPool
from promoledger.observability.http import ObservabilityMiddleware
from promoledger.observability.metrics import Metrics
from promoledger.observability.shutdown import finish_requests_on_repeated_interrupt
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.webhooks.dispatcher import start_dispatchers


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, background: bool = False
) -> FastAPI:
    """Build the ASGI app. Nothing is created at import time; the schema is not touched here.

    With ``background`` (what ``serve`` runs) the app also runs the webhook dispatchers."""
    settings = settings or Settings()
    runtime = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.auth.load_or_create_signing_key()
        finish_requests_on_repeated_interrupt()
        workers = WorkerPool(
            runtime.uow,
            count=settings.job_workers,
            lease_seconds=settings.job_lease_seconds,
            metrics=metrics,
        )
        workers.start()
        dispatchers = start_dispatchers(runtime, app.state.metrics) if background else []
        yield
        for dispatcher in dispatchers:
            dispatcher.stop()
        workers.stop()
        runtime.close()

    docs = settings.public_docs
    app = FastAPI(
        title="promoledger",
        version=__version__,
        description="Self-hosted loyalty-promotion ledger, wire-compatible with Capillary's v2 "
        "promotion APIs, plus its own config API.",
        lifespan=lifespan,
        # A redirect would build its Location from the client's Host header; paths are exact.
        redirect_slashes=False,
        openapi_url="/openapi.json" if docs else None,
        # Served by api/docs.py with local assets rather than FastAPI's CDN-loading pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.metrics = metrics = Metrics()
    errors.install(app)
    openapi.install(app)
    if docs:
        docs_pages.install(app, openapi_url="/openapi.json")
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    console.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        exempt_posts=frozenset({admin_jobs.SUBMIT_PATH, console.UPLOAD_PATH}),
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return app
