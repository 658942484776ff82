"""The app under test, built the one way the server builds it (``create_app``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient

from promoledger.app import create_app
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from tests.support.factories import World
from tests.support.probes import with_probes


def build_app(settings: Settings, runtime: Runtime, *, probes: bool = False) -> FastAPI:
    app = create_app(settings, runtime=runtime)
    return with_probes(app) if probes else app


def client_for(app: FastAPI) -> TestClient:
    # Server errors become 500 answers, as a client sees them, instead of exceptions.
    return TestClient(app, raise_server_exceptions=False)


@contextmanager
def serving(settings: Settings) -> Iterator[World]:
    """A World on its own runtime and app, for a test that needs settings of its own."""
    runtime = Runtime.build(settings)
    try:
        with client_for(build_app(settings, runtime)) as client:
            yield World(runtime=runtime, client=client)
    finally:
        runtime.engine.dispose()
