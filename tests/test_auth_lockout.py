"""Throttling never locks a credential out for someone else's mistakes (operations guide, "Failed
logins"): failures count per (name, client address), a secret verified recently keeps working,
a much higher per-name ceiling stops distributed guessing, concurrent guesses are counted before
any is checked, an operator can unlock, and every lockout is logged and audited.

Client addresses other than the TestClient's are exercised through the authenticator directly,
as the HTTP layer calls it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import event
from typer.testing import CliRunner

from promoledger.app import create_app
from promoledger.cli.main import app as cli
from promoledger.domain.errors import AuthenticationFailed, Throttled
from promoledger.runtime import Runtime
from promoledger.services import passwords
from promoledger.services.auth import md5_hex
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import Caller, World
from tests.support.probes import basic, with_probes

LIMIT = 3
CEILING = 8
PROBE = "/v2/_probe/customer"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        auth_failure_limit=LIMIT,
        auth_failure_name_limit=CEILING,
        # No skipping the hash: what keeps the owner in is the longer "verified right" memory.
        credential_cache_seconds=0,
    )


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return with_probes(create_app(settings, runtime=runtime))


def _login(runtime: Runtime, header: dict[str, str], client: str) -> str:
    """``ok``, ``401`` or ``429`` for one Basic attempt from ``client``."""
    try:
        asyncio.run(
            runtime.auth.authenticate_basic(
                header["Authorization"].removeprefix("Basic "), client=client
            )
        )
    except Throttled:
        return "429"
    except AuthenticationFailed:
        return "401"
    return "ok"


def _wrong(till: Caller, n: int = 0) -> dict[str, str]:
    return basic(till.name, md5_hex(f"guess-{n}"))


def test_wrong_passwords_from_one_address_never_lock_the_owner_out(
    world: World, runtime: Runtime
) -> None:
    till = world.till(world.org())
    outcomes = [_login(runtime, _wrong(till, n), "198.51.100.66") for n in range(LIMIT + 2)]
    assert outcomes == ["401"] * LIMIT + ["429"] * 2
    # The owner, from its own address, has never logged in on this process: still accepted.
    assert _login(runtime, till.headers, "192.0.2.7") == "ok"
    # The attacker's address stays closed to further guesses.
    assert _login(runtime, _wrong(till, 99), "198.51.100.66") == "429"


def test_a_secret_verified_recently_keeps_working_past_the_name_ceiling(
    world: World, runtime: Runtime
) -> None:
    till = world.till(world.org())
    assert _login(runtime, till.headers, "192.0.2.7") == "ok"  # the owner, earlier today
    attackers = [f"198.51.100.{i}" for i in range(CEILING)]
    outcomes = [_login(runtime, _wrong(till, i), address) for i, address in enumerate(attackers)]
    assert outcomes == ["401"] * CEILING  # one try each: no address reaches its own limit
    # Distributed guessing is now stopped, from any address…
    assert _login(runtime, _wrong(till, 99), "203.0.113.1") == "429"
    # …but the secret verified right recently still gets in, from any address.
    assert _login(runtime, till.headers, "192.0.2.7") == "ok"
    assert _login(runtime, till.headers, "203.0.113.3") == "ok"
    (lockout,) = world.audit(action="AUTH_LOCKOUT")
    assert orjson.loads(lockout.detail)["scope"] == "name"


class _CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8192)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


def test_a_burst_of_concurrent_guesses_is_counted_before_any_is_checked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = _CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    till = world.till(world.org())
    guesses = [_wrong(till, n) for n in range(39)] + [till.headers]
    start = threading.Barrier(len(guesses))

    def attempt(headers: dict[str, str]) -> int:
        start.wait()
        return world.client.get(PROBE, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=len(guesses)) as pool:
        statuses = list(pool.map(attempt, guesses))
    # At most LIMIT wrong guesses are ever checked. The right secret is a guess like the others:
    # when it happens to be counted among the first LIMIT it is checked too, succeeds and takes
    # its count back — so one more hash, never one more wrong guess.
    assert statuses.count(401) <= LIMIT, statuses
    assert hasher.verified <= LIMIT + (1 if 200 in statuses else 0)
    assert statuses.count(429) >= len(guesses) - LIMIT - 1
    assert len(world.audit(action="AUTH_FAILED")) == statuses.count(401)


def test_every_lockout_is_logged_and_audited_and_unlock_ends_it(
    world: World, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="promoledger.auth")
    org = world.org()
    till = world.till(org)
    for n in range(LIMIT):
        assert world.client.get(PROBE, headers=_wrong(till, n)).status_code == 401
    assert world.client.get(PROBE, headers=till.headers).status_code == 429
    (lockout,) = world.audit(action="AUTH_LOCKOUT")
    assert (lockout.org_id, lockout.entity_id) == (org, till.credential_id)
    detail = orjson.loads(lockout.detail)
    assert detail["scope"] == "client"
    assert detail["name"] == till.name
    assert detail["retryAfter"] > 0
    assert f"name={till.name} scope=client" in caplog.text

    result = CliRunner().invoke(
        cli, ["--database-url", database_url, "till", "unlock", "--code", till.name]
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["failuresCleared"] == 2 * LIMIT  # per address + per name
    assert world.client.get(PROBE, headers=till.headers).status_code == 200
    (unlocked,) = world.audit(action="CREDENTIAL_UNLOCKED")
    assert (unlocked.entity_id, unlocked.actor_kind) == (till.credential_id, "OPERATOR")
    assert [r.failures for r in world.rows(t.auth_failures, name=till.name)] in ([], [0])


def test_client_unlock_clears_a_locked_out_client(world: World, database_url: str) -> None:
    caller = world.oauth_client(world.org())
    for _ in range(LIMIT):
        bad = world.client.post(
            "/v3/oauth/token/generate", json={"key": caller.name, "secret": "nope"}
        )
        assert bad.status_code == 401
    good = {"key": caller.name, "secret": caller.secret}
    assert world.client.post("/v3/oauth/token/generate", json=good).status_code == 429
    result = CliRunner().invoke(
        cli, ["--database-url", database_url, "client", "unlock", "--key", caller.name]
    )
    assert result.exit_code == 0, result.output
    assert world.client.post("/v3/oauth/token/generate", json=good).status_code == 200


def test_unlocking_an_unknown_till_is_an_error(database_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["--database-url", database_url, "till", "unlock", "--code", "nobody"]
    )
    assert result.exit_code == 1
    assert "not found" in result.output.lower()


def _basic_of(name: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_a_flood_of_made_up_names_from_one_address_is_refused_without_the_database(
    world: World, runtime: Runtime
) -> None:
    till = world.till(world.org())
    assert _login(runtime, till.headers, "198.51.100.9") == "ok"  # verified right earlier
    outcomes = [
        _login(runtime, _basic_of(f"ghost-{n}", "0" * 32), "198.51.100.9") for n in range(CEILING)
    ]
    assert outcomes == ["401"] * CEILING
    queries: list[Any] = []

    def record(*args: Any) -> None:
        queries.append(args)

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        assert _login(runtime, _basic_of("ghost-x", "0" * 32), "198.51.100.9") == "429"
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
    assert queries == []
    (lockout,) = world.audit(action="AUTH_LOCKOUT")
    assert orjson.loads(lockout.detail)["scope"] == "address"
    # A caller behind the same address whose secret was verified right still gets in.
    assert _login(runtime, till.headers, "198.51.100.9") == "ok"
