"""Refusals nothing throttles cannot flood the audit trail: a disabled client's token, a till
without the access a route needs, made-up names. At most one row per credential (and reason)
per window; the next window's row counts the refusals left out (``detail.repeats``)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import orjson
import pytest
from fastapi import FastAPI

from promoledger.app import create_app
from promoledger.domain.vocabulary import CredentialKind
from promoledger.runtime import Runtime
from promoledger.services import auth_failures, credentials
from promoledger.settings import Settings
from tests.support.factories import World
from tests.support.probes import with_probes

FLOOD = 30
WINDOW = 300


class _Clock:
    """The audit budget's clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(auth_failures.time, "monotonic", fake.monotonic)
    return fake


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, db_pool_size=5, auth_failure_window_seconds=WINDOW)


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return with_probes(create_app(settings, runtime=runtime))


def _flood_then_next_window(clock: _Clock, send: Callable[[], None]) -> None:
    for _ in range(FLOOD):
        send()
    clock.now += WINDOW
    send()


def test_a_disabled_clients_tokens_write_one_row_per_window(world: World, clock: _Clock) -> None:
    caller = world.oauth_client(world.org())
    token = world.oauth_token(caller)
    credentials.set_disabled(world.uow, kind=CredentialKind.CLIENT, name=caller.name, disabled=True)

    def send() -> None:
        response = world.client.get("/v2/_probe/customer", headers={"X-CAP-API-OAUTH-TOKEN": token})
        assert response.status_code == 401

    _flood_then_next_window(clock, send)
    first, second = world.audit(action="AUTH_FAILED")
    assert orjson.loads(first.detail) == {
        "reason": "disabled",
        "kind": "CLIENT",
        "name": caller.name,
    }
    # The refusals left out of the first window are counted in the next window's row.
    assert orjson.loads(second.detail)["repeats"] == FLOOD - 1


def test_an_expired_or_rotated_token_is_bounded_too(world: World, clock: _Clock) -> None:
    caller = world.oauth_client(world.org())
    token = world.oauth_token(caller)
    credentials.rotate_client(world.uow, key=caller.name)

    def send() -> None:
        response = world.client.get("/v2/_probe/customer", headers={"X-CAP-API-OAUTH-TOKEN": token})
        assert response.status_code == 401

    _flood_then_next_window(clock, send)
    first, second = world.audit(action="AUTH_FAILED")
    assert orjson.loads(first.detail)["reason"] == "token_rotated"
    assert orjson.loads(second.detail)["repeats"] == FLOOD - 1


def test_a_till_without_access_writes_one_denial_per_window(world: World, clock: _Clock) -> None:
    till = world.till(world.org(), access="customer:read")

    def send() -> None:
        assert world.client.post("/v2/_probe/customer", headers=till.headers).status_code == 403

    _flood_then_next_window(clock, send)
    first, second = world.audit(action="ACCESS_DENIED")
    assert "repeats" not in orjson.loads(first.detail)
    assert orjson.loads(second.detail)["repeats"] == FLOOD - 1
    assert second.actor_id == till.credential_id


def test_made_up_names_write_one_row_per_address_and_window(world: World) -> None:
    for n in range(FLOOD):
        pair = base64.b64encode(f"ghost-{n}:{'0' * 32}".encode()).decode()
        response = world.client.get(
            "/v2/_probe/customer", headers={"Authorization": f"Basic {pair}"}
        )
        assert response.status_code == 401
    (row,) = world.audit(action="AUTH_FAILED")
    assert orjson.loads(row.detail)["reason"] == "unknown"
