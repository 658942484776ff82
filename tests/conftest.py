"""Real databases for every test: SQLite always, PostgreSQL when reachable (required with CI=true).

Each backend's database is built once per test session by running the migrations; each test
then starts from empty tables (a copied template file on SQLite, TRUNCATE on PostgreSQL).
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
from sqlalchemy import Engine, create_engine

from promoledger.app import create_app
from promoledger.runtime import Runtime
from promoledger.services import passwords
from promoledger.settings import Settings
from promoledger.store.engine import build_engine
from promoledger.store.schema import upgrade
from promoledger.store.tables import metadata
from tests.factories import World

PG_ADMIN_URL = os.environ.get(
    "PROMOLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


_PG_PROBLEM = _pg_reachable()
if IN_CI and _PG_PROBLEM:
    raise pytest.UsageError(
        f"CI=true but PostgreSQL is unreachable at {PG_ADMIN_URL}: {_PG_PROBLEM}"
    )

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            _PG_PROBLEM is not None, reason=f"PostgreSQL unreachable: {_PG_PROBLEM}"
        ),
    ),
]


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
    # A short verified-credential cache keeps tests honest about "takes effect at once".
    return Settings(database_url=database_url, db_pool_size=5)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def engine(runtime: Runtime) -> Engine:
    return runtime.engine


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return create_app(settings, runtime=runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def world(runtime: Runtime, client: TestClient) -> World:
    """Factories for orgs, credentials, programs, promotions and customers, via the services."""
    return World(runtime=runtime, client=client)


def raw_engine(url: str) -> Engine:
    """A plain engine for assertions straight on the database."""
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
