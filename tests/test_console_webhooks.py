"""Console webhooks: list, create (the secret shown once, never stored), recent deliveries,
replay from an event id (once per key), pause and resume; access, CSRF and bad input."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.webhooks.dispatcher import Dispatcher
from tests.support.app import serving
from tests.support.console import csrf_of, key_of, page_csrf, sign_in
from tests.support.factories import Caller, World
from tests.support.receiver import Receiver, receiving
from tests.support.revoke import entry, make_shop
from tests.support.waiting import HANG_SECONDS

_SECRET = re.compile(r'id="secret" readonly value="(whsec_[^"]+)"')


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        credential_cache_seconds=HANG_SECONDS,
        webhook_allow_private_networks=True,
        webhook_retry_delays="0.05",
        webhook_poll_seconds=0.02,
        webhook_lease_seconds=HANG_SECONDS,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def _admin(world: World, org: int, access: str = "customer:read,config:write") -> Caller:
    till = world.till(org, access=access)
    assert sign_in(world.client, till).status_code == 303
    return till


def _create(client: TestClient, url: str, *types: str, description: str = "") -> Any:
    """The create form with several event types ticked (a repeated field)."""
    csrf = page_csrf(client, "/console/webhooks")
    data = [("csrf", csrf), ("url", url), ("description", description)]
    data += [("eventTypes", t) for t in types]
    return client.post(
        "/console/webhooks",
        content=urlencode(data),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_create_shows_the_secret_once_and_deliveries_are_listed(
    client: TestClient, world: World, runtime: Runtime, receiver: Receiver
) -> None:
    shop = make_shop(world)
    till = _admin(world, shop.org)
    assert "No endpoints yet" in client.get("/console/webhooks").text
    created = _create(client, receiver.url, "enrolment.revoked", "earn.revoked", description="CRM")
    assert created.status_code == 200, created.text
    match = _SECRET.search(created.text)
    assert match
    secret = match.group(1)
    [row] = world.rows(t.webhook_endpoints)
    assert row.url == receiver.url
    assert secret not in str(tuple(row))  # only a salt is stored
    [audit] = world.audit(action="WEBHOOK_CREATED")
    assert audit.actor_id == till.credential_id
    listing = client.get("/console/webhooks")
    assert receiver.url in listing.text
    assert "enrolment.revoked, earn.revoked" in listing.text
    assert secret not in listing.text
    page = client.get(f"/console/webhooks/{row.id}")
    assert page.status_code == 200
    assert secret not in page.text
    assert "No deliveries yet" in page.text

    people = shop.customers(2)
    for c in people:
        shop.enrol(c)
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c) for c in people])).status_code == 200
    asyncio.run(Dispatcher(runtime).drain_all())
    [delivered] = receiver.delivered()
    assert delivered.verify(secret) == {"events": delivered.events}
    page = client.get(f"/console/webhooks/{row.id}")
    assert "DELIVERED" in page.text
    assert "HTTP 204" in page.text

    # Replay from event 0: the same events are sent again, once however often the form is sent.
    form = {"csrf": csrf_of(page.text), "idempotencyKey": key_of(page.text), "after": "0"}
    replayed = client.post(f"/console/webhooks/{row.id}/replay", data=form, follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == f"/console/webhooks/{row.id}?replayed=0"
    assert client.post(f"/console/webhooks/{row.id}/replay", data=form).status_code == 200
    assert len(world.audit(action="WEBHOOK_REPLAYED")) == 1
    assert "Replay queued" in client.get(replayed.headers["location"]).text
    asyncio.run(Dispatcher(runtime).drain_all())
    first, again = receiver.delivered()
    assert [e["id"] for e in again.events] == [e["id"] for e in first.events]
    assert Webhook(secret).verify(again.body, again.headers) == {"events": again.events}
    assert client.get(f"/console/webhooks/{row.id}").text.count("DELIVERED") == 2


def test_pause_and_resume(client: TestClient, world: World) -> None:
    org = world.org()
    _admin(world, org)
    _create(client, "https://hooks.example.com/in", "*")
    [row] = world.rows(t.webhook_endpoints)
    csrf = page_csrf(client, f"/console/webhooks/{row.id}")
    paused = client.post(
        f"/console/webhooks/{row.id}/enabled", data={"csrf": csrf, "enabled": "false"}
    )
    assert paused.status_code == 200
    assert "disabled" in paused.text
    assert "Enable" in paused.text
    assert world.rows(t.webhook_endpoints)[0].enabled is False
    client.post(f"/console/webhooks/{row.id}/enabled", data={"csrf": csrf, "enabled": "true"})
    assert world.rows(t.webhook_endpoints)[0].enabled is True
    assert len(world.audit(action="WEBHOOK_UPDATED")) == 2


@pytest.mark.parametrize(
    ("url", "types", "field"),
    [
        ("ftp://hooks.example.com/in", ("*",), "url"),
        ("http://127.0.0.1:1/in", ("*",), "url"),  # refused without the private-network setting
        ("https://hooks.example.com/in", (), "eventTypes"),
        ("https://hooks.example.com/in", ("nope.happened",), "eventTypes"),
    ],
)
def test_a_refused_endpoint_shows_the_api_code_and_writes_nothing(
    world: World, settings: Settings, url: str, types: tuple[str, ...], field: str
) -> None:
    strict = settings.model_copy(update={"webhook_allow_private_networks": False})
    with serving(strict) as served:
        _admin(served, served.org())
        refused = _create(served.client, url, *types)
        assert refused.status_code == 422
        assert "Webhook refused" in refused.text
        assert "9422: " in refused.text
        assert f"({field})" in refused.text
        assert served.rows(t.webhook_endpoints) == []


def test_access_csrf_and_foreign_endpoints(client: TestClient, world: World) -> None:
    org, other = world.org(), world.org()
    _admin(world, other)
    _create(client, "https://hooks.example.com/other", "*")
    [foreign] = world.rows(t.webhook_endpoints)
    client.cookies.clear()
    _admin(world, org)
    assert client.get(f"/console/webhooks/{foreign.id}").status_code == 404
    assert client.get("/console/webhooks/abc").status_code == 404
    assert "hooks.example.com/other" not in client.get("/console/webhooks").text
    csrf = page_csrf(client, "/console/webhooks")
    replay = client.post(f"/console/webhooks/{foreign.id}/replay",
                         data={"csrf": csrf, "after": "0", "idempotencyKey": "r1"})  # fmt: skip
    assert replay.status_code == 404
    bad_after = client.post(f"/console/webhooks/{foreign.id}/replay",
                            data={"csrf": csrf, "after": "-1", "idempotencyKey": "r2"})  # fmt: skip
    assert bad_after.status_code == 400
    forged = _create_with(client, "forged")
    assert forged.status_code == 403
    assert "Form refused" in forged.text
    assert len(world.rows(t.webhook_endpoints)) == 1

    client.cookies.clear()
    _admin(world, other, access="customer:write,config:read")
    page = client.get("/console/webhooks")
    assert page.status_code == 200
    assert "hooks.example.com/other" in page.text
    assert "New endpoint" not in page.text
    detail = client.get(f"/console/webhooks/{foreign.id}")
    assert detail.status_code == 200
    assert "Replay" not in detail.text
    csrf = csrf_of(page.text)
    denied = [
        _create_with(client, csrf),
        client.post(f"/console/webhooks/{foreign.id}/replay",
                    data={"csrf": csrf, "after": "0", "idempotencyKey": "r3"}),
        client.post(f"/console/webhooks/{foreign.id}/enabled",
                    data={"csrf": csrf, "enabled": "false"}),
    ]  # fmt: skip
    assert [d.status_code for d in denied] == [403, 403, 403]
    assert len(world.rows(t.webhook_endpoints)) == 1
    assert world.rows(t.webhook_endpoints)[0].enabled is True
    assert world.audit(action="WEBHOOK_REPLAYED") == []


def _create_with(client: TestClient, csrf: str) -> Any:
    return client.post(
        "/console/webhooks",
        data={"csrf": csrf, "url": "https://hooks.example.com/x", "eventTypes": "*"},
    )
