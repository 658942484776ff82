"""Real databases for every test: SQLite always, PostgreSQL when reachable (required with CI=true).

Each backend's database is built once per test session by running the migrations; each test
then starts from empty tables (a copied template file on SQLite, TRUNCATE on PostgreSQL).
Only fixtures live here; the helpers they and the tests share are in ``tests/support/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from promoledger.runtime import Runtime
from promoledger.services import passwords
from promoledger.settings import Settings
from promoledger.store.engine import build_engine
from promoledger.store.schema import upgrade
from promoledger.store.tables import metadata
from tests.support.app import build_app, client_for
from tests.support.db import BACKENDS, PG_ADMIN_URL
from tests.support.factories import Caller, World
from tests.support.waiting import HANG_SECONDS


def _worker() -> str:
    # Unique per checkout and per xdist worker, so parallel runs never drop each other's database.
    checkout = hashlib.sha1(str(Path(__file__).resolve()).encode(), usedforsecurity=False)
    return f"{checkout.hexdigest()[:8]}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, at test-sized cost: the suite hashes and verifies hundreds of secrets."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(Settings(database_url=f"sqlite:///{path}"))
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"promoledger_test_{_worker()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on the backend this test instance runs against."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "promoledger.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "alembic_version")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Nothing here may depend on the machine's speed: waits for a lock or a pooled connection
    # last as long as they take (the tests of those limits set their own, in
    # tests/test_reliability_limits.py), and a verified secret stays cached for a whole test
    # (tests that it is "cached" or "refused despite the cache" must not race its expiry).
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        credential_cache_seconds=HANG_SECONDS,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    rt.close()


@pytest.fixture
def engine(runtime: Runtime) -> Engine:
    return runtime.engine


@pytest.fixture
def app(request: pytest.FixtureRequest, settings: Settings, runtime: Runtime) -> FastAPI:
    """The app; a module marked ``probes`` also gets the access-probe routes."""
    return build_app(
        settings, runtime, probes=request.node.get_closest_marker("probes") is not None
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with client_for(app) as test_client:
        yield test_client


@pytest.fixture
def world(runtime: Runtime, client: TestClient) -> World:
    """Factories for orgs, credentials, programs, promotions and customers, via the services."""
    return World(runtime=runtime, client=client)


@pytest.fixture
def admin(request: pytest.FixtureRequest, world: World) -> Caller:
    """A till of a fresh org with config access only: ``config:write``, or what the module's
    ``admin_access`` marker names."""
    marker = request.node.get_closest_marker("admin_access")
    return world.till(
        world.org(), access=f"customer:none,{marker.args[0] if marker else 'config:write'}"
    )
