"""Throttling repeated failures per (credential name, client address): 429 + Retry-After,
shared through the DB."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import insert

from promoledger.domain.errors import Throttled
from promoledger.runtime import Runtime
from promoledger.services.auth import md5_hex
from promoledger.services.throttle import pair_key
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.probes import basic

pytestmark = pytest.mark.probes

LIMIT = 3
# Failures are counted per clock-aligned window, and a burst split across a boundary counts in
# two windows, which changes Retry-After. A window of ~31 years (boundaries at multiples of
# 10**9 s since the epoch; the next is in 2033) keeps every burst of these tests inside one
# window however slowly they run; test_failures_of_the_previous_window_still_count puts a burst
# across a boundary on purpose.
TEST_CLIENT = "testclient"  # the client address Starlette's TestClient reports
WINDOW = 10**9
GENERATE = "/v3/oauth/token/generate"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        auth_failure_limit=LIMIT,
        auth_failure_window_seconds=WINDOW,
    )


def _assert_throttled(response: Any, *, low: int = WINDOW + 1, high: int = 2 * WINDOW) -> None:
    """429 with a Retry-After in [low, high] seconds; by default: failures of this window,
    which keep counting (as the previous window) through the next one."""
    assert response.status_code == 429
    assert low <= int(response.headers["Retry-After"]) <= high


def test_repeated_failures_are_throttled_even_for_the_right_password(world: World) -> None:
    till = world.till(world.org())
    wrong = basic(till.name, md5_hex("guess"))
    for _ in range(LIMIT):
        assert world.client.get("/v2/_probe/customer", headers=wrong).status_code == 401
    throttled = world.client.get("/v2/_probe/customer", headers=wrong)
    _assert_throttled(throttled)
    assert throttled.json() == {
        "errors": [
            {
                "status": False,
                "code": 9429,
                "message": "Too many failed authentication attempts. Retry later.",
            }
        ]
    }
    _assert_throttled(world.client.get("/v2/_probe/customer", headers=till.headers))
    (counter,) = world.rows(t.auth_failures, name=till.name)
    assert counter.failures == LIMIT
    # Refusals while throttled are not written: a flood cannot grow the audit trail.
    assert len(world.audit(action="AUTH_FAILED")) == LIMIT


def test_a_secret_verified_recently_keeps_working_while_its_name_is_throttled(
    world: World,
) -> None:
    """Nobody can lock a till out for its owner: a secret verified right stays clear (§10)."""
    till = world.till(world.org())
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    for _ in range(LIMIT):
        world.client.get("/v2/_probe/customer", headers=basic(till.name, "0" * 32))
    _assert_throttled(world.client.get("/v2/_probe/customer", headers=basic(till.name, "1" * 32)))
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200


def test_throttling_is_per_name(world: World) -> None:
    org = world.org()
    victim, bystander = world.till(org), world.till(org)
    for _ in range(LIMIT):
        world.client.get("/v2/_probe/customer", headers=basic(victim.name, "0" * 32))
    _assert_throttled(world.client.get("/v2/_probe/customer", headers=victim.headers))
    assert world.client.get("/v2/_probe/customer", headers=bystander.headers).status_code == 200


def test_unknown_names_are_throttled_too(world: World) -> None:
    ghost = basic("no-such-till", "0" * 32)
    for _ in range(LIMIT):
        assert world.client.get("/v2/_probe/customer", headers=ghost).status_code == 401
    _assert_throttled(world.client.get("/v2/_probe/customer", headers=ghost))


def test_the_token_endpoint_is_throttled_per_key(world: World) -> None:
    caller = world.oauth_client(world.org())
    for _ in range(LIMIT):
        bad = world.client.post(GENERATE, json={"key": caller.name, "secret": "nope"})
        assert bad.status_code == 401
    right = world.client.post(GENERATE, json={"key": caller.name, "secret": caller.secret})
    _assert_throttled(right)
    assert right.json()["data"] is None
    assert right.json()["errors"][0]["code"] == 9429


def test_the_count_is_shared_by_every_process(world: World, settings: Settings) -> None:
    till = world.till(world.org())
    for _ in range(LIMIT):
        world.client.get("/v2/_probe/customer", headers=basic(till.name, "0" * 32))
    other = Runtime.build(settings)
    try:
        with pytest.raises(Throttled):
            asyncio.run(
                other.auth.authenticate_basic(
                    till.headers["Authorization"].removeprefix("Basic "), client=TEST_CLIENT
                )
            )
    finally:
        other.engine.dispose()


def test_failures_of_past_windows_do_not_count_and_are_pruned(world: World) -> None:
    till = world.till(world.org())
    old = datetime.now(UTC) - timedelta(seconds=3 * WINDOW)
    with world.uow.write() as conn:
        conn.execute(insert(t.auth_failures).values(name=till.name, window_start=old, failures=100))
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    world.client.get("/v2/_probe/customer", headers=basic(till.name, "0" * 32))
    (current,) = world.rows(t.auth_failures, name=till.name)
    assert current.failures == 1
    assert current.window_start > old
    event = world.audit(action="AUTH_FAILED")[-1]
    assert orjson.loads(event.detail)["name"] == till.name


def test_failures_of_the_previous_window_still_count(world: World) -> None:
    """A burst split across a window boundary is throttled like one inside a window."""
    till = world.till(world.org())
    now = int(datetime.now(UTC).timestamp())
    previous = datetime.fromtimestamp(now - now % WINDOW - WINDOW, UTC)
    with world.uow.write() as conn:
        conn.execute(
            insert(t.auth_failures).values(
                name=pair_key(till.name, TEST_CLIENT), window_start=previous, failures=LIMIT
            )
        )
    # Only the previous window is over the limit: it stops counting when this window ends.
    _assert_throttled(
        world.client.get("/v2/_probe/customer", headers=till.headers), low=1, high=WINDOW
    )
