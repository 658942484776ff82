"""The dispatcher against a real HTTP receiver: signed batches in event order, retries under
the same id, give-up and disabling, redirects and private targets refused, and one slow
endpoint holding up no other."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from standardwebhooks.webhooks import WebhookVerificationError

from promoledger.app import create_app
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from promoledger.webhooks.dispatcher import Dispatcher
from tests.support.factories import Caller, World
from tests.support.receiver import Receiver, receiving, wait_until
from tests.support.revoke import Shop, entry, make_shop
from tests.support.waiting import HANG_SECONDS


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


def drain(runtime: Runtime, **overrides: Any) -> None:
    """Deliver everything due now, with a dispatcher of these settings."""
    if not overrides:
        asyncio.run(Dispatcher(runtime).drain_all())
        return
    other = Runtime.build(runtime.settings.model_copy(update=overrides))
    try:
        asyncio.run(Dispatcher(other).drain_all())
    finally:
        other.close()


def retry_due(world: World) -> bool:
    return all(r.next_attempt_at <= utcnow() for r in world.rows(t.webhook_deliveries))


def subscribe(world: World, caller: Caller, url: str, types: list[str] | None = None) -> Any:
    response = world.client.post(
        "/admin/v1/webhooks",
        json={"url": url, "eventTypes": types or ["*"]},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def revoke_all(shop: Shop, n: int) -> list[int]:
    people = shop.customers(n)
    for c in people:
        shop.enrol(c)
    response = shop.post(shop.body("REVOKE_ENROL", [entry(c) for c in people]))
    assert response.status_code == 200
    return [c.id for c in people]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def test_events_arrive_signed_in_order_in_batches_of_100(
    world: World, runtime: Runtime, receiver: Receiver
) -> None:
    shop = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    hook = subscribe(world, admin, receiver.url)
    customers = revoke_all(shop, 100) + revoke_all(shop, 30)

    drain(runtime)

    delivered = receiver.delivered()
    assert [len(r.events) for r in delivered] == [100, 30]
    assert [e["data"]["customerId"] for r in delivered for e in r.events] == customers
    ids = receiver.delivered_event_ids()
    assert ids == sorted(ids)
    for r in delivered:
        assert r.verify(hook["secret"]) == {"events": r.events}
        assert r.headers["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):
            r.verify("whsec_" + "A" * 44)
    rows = world.rows(t.webhook_deliveries)
    assert {r.status for r in rows} == {"DELIVERED"}
    assert sorted(r.webhook_id for r in delivered) == sorted(str(r.id) for r in rows)
    page = world.client.get(f"/admin/v1/webhooks/{hook['id']}/deliveries", headers=admin.headers)
    assert [d["status"] for d in page.json()["deliveries"]] == ["DELIVERED", "DELIVERED"]
    assert page.json()["deliveries"][0]["eventIds"] == ids[100:]


def test_only_subscribed_types_and_own_org(
    world: World, runtime: Runtime, receiver: Receiver
) -> None:
    shop = make_shop(world)
    other = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    subscribe(world, admin, receiver.url, ["earn.revoked"])
    revoke_all(shop, 2)  # enrolment.revoked: not subscribed
    revoke_all(other, 2)  # another org
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    earn = shop.earn(c, enrolment)
    assert shop.post(shop.body("REVOKE_EARN", [entry(c, [earn])])).status_code == 200

    drain(runtime)

    assert [(e["type"], e["data"]["earnIds"]) for e in receiver.delivered()[0].events] == [
        ("earn.revoked", [earn])
    ]
    assert len(receiver.received) == 1
    # The cursor moved past what it does not subscribe to.
    drain(runtime)
    assert len(receiver.received) == 1


def test_a_failing_receiver_gets_retries_under_the_same_id(world: World, runtime: Runtime) -> None:
    with receiving(status=lambda n: 500 if n < 2 else 200) as receiver:
        shop = make_shop(world)
        admin = world.till(shop.org, access="config:write")
        hook = subscribe(world, admin, receiver.url)
        revoke_all(shop, 3)
        dispatcher = Dispatcher(runtime)
        dispatcher.start()
        try:
            wait_until(receiver.delivered, "the third attempt to be delivered")
        finally:
            dispatcher.stop()
    assert len(receiver.received) == 3
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    [row] = world.rows(t.webhook_deliveries)
    assert (row.status, row.attempts, row.last_status) == ("DELIVERED", 3, 200)
    [endpoint] = world.rows(t.webhook_endpoints, id=hook["id"])
    assert endpoint.failing_since is None
    assert endpoint.lease_owner is None


def test_after_the_retry_window_the_delivery_fails_and_the_endpoint_is_disabled(
    world: World, runtime: Runtime
) -> None:
    with receiving(status=lambda n: 503) as receiver:
        shop = make_shop(world)
        admin = world.till(shop.org, access="config:write")
        hook = subscribe(world, admin, receiver.url)
        revoke_all(shop, 1)
        drain(runtime)  # first failure: the endpoint is failing from now
        [endpoint] = world.rows(t.webhook_endpoints, id=hook["id"])
        assert endpoint.failing_since is not None
        wait_until(lambda: retry_due(world), "the retry to be due")
        drain(runtime, webhook_give_up_seconds=0.000001, webhook_retry_delays="0")
    [row] = world.rows(t.webhook_deliveries)
    assert (row.status, row.last_status) == ("FAILED", 503)
    [endpoint] = world.rows(t.webhook_endpoints, id=hook["id"])
    assert endpoint.enabled is False
    assert endpoint.disabled_reason == "failing for longer than the retry window"
    [audit] = world.audit(action="WEBHOOK_DISABLED")
    assert (audit.entity_id, audit.actor_kind, audit.new_status) == (
        hook["id"],
        "SYSTEM",
        "DISABLED",
    )
    shown = world.client.get(f"/admin/v1/webhooks/{hook['id']}", headers=admin.headers).json()
    assert shown["enabled"] is False


def test_redirects_are_not_followed(world: World, runtime: Runtime, receiver: Receiver) -> None:
    with receiving(status=lambda n: 307, extra_headers={"location": receiver.url}) as redirecting:
        shop = make_shop(world)
        admin = world.till(shop.org, access="config:write")
        subscribe(world, admin, redirecting.url)
        revoke_all(shop, 1)
        drain(runtime)
    assert receiver.received == []
    [row] = world.rows(t.webhook_deliveries)
    assert (row.status, row.last_status, row.last_error) == (
        "PENDING",
        307,
        "redirects are not followed",
    )


def test_private_targets_are_refused_at_delivery(
    world: World, runtime: Runtime, receiver: Receiver
) -> None:
    shop = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    subscribe(world, admin, receiver.url)  # accepted while private networks were allowed
    revoke_all(shop, 1)
    drain(runtime, webhook_allow_private_networks=False)
    assert receiver.received == []
    [row] = world.rows(t.webhook_deliveries)
    assert row.status == "PENDING"
    assert row.last_error.startswith("refused:")


def test_a_hung_endpoint_does_not_delay_another(world: World, runtime: Runtime) -> None:
    gate = threading.Event()
    with receiving(gate=gate) as hung, receiving() as healthy:
        shop = make_shop(world)
        admin = world.till(shop.org, access="config:write")
        subscribe(world, admin, hung.url)
        subscribe(world, admin, healthy.url)
        revoke_all(shop, 2)
        dispatcher = Dispatcher(runtime)
        dispatcher.start()
        try:
            wait_until(lambda: hung.received, "the hung endpoint to be called")
            wait_until(healthy.delivered, "the healthy endpoint to be delivered")
            assert hung.answered == []  # still hanging while the other was served
            gate.set()
            wait_until(hung.delivered, "the hung endpoint to finish")
        finally:
            gate.set()
            dispatcher.stop()
    assert healthy.delivered_event_ids() == hung.delivered_event_ids()


class _PrivateDns(Dispatcher):
    """Resolves every name to a private address (as a rebinding DNS server would)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return ["10.0.0.5"]


@pytest.mark.parametrize(
    ("dispatcher", "url", "error"),
    [
        (
            _PrivateDns,
            "https://hooks.example.com/x",
            "refused: hooks.example.com resolves to a private",
        ),
        (Dispatcher, "https://nonexistent.invalid/x", "cannot resolve nonexistent.invalid"),
    ],
)
def test_names_are_resolved_and_checked_at_delivery(
    world: World, runtime: Runtime, dispatcher: type[Dispatcher], url: str, error: str
) -> None:
    shop = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    subscribe(world, admin, url)
    revoke_all(shop, 1)
    strict = Runtime.build(
        runtime.settings.model_copy(update={"webhook_allow_private_networks": False})
    )
    try:
        asyncio.run(dispatcher(strict).drain_all())
    finally:
        strict.close()
    [row] = world.rows(t.webhook_deliveries)
    assert (row.status, row.attempts, row.last_status) == ("PENDING", 1, None)
    assert row.last_error.startswith(error)


def test_no_answer_in_time_and_no_listener_are_failed_attempts(
    world: World, runtime: Runtime
) -> None:
    gate = threading.Event()
    with receiving(gate=gate) as hung:
        shop = make_shop(world)
        admin = world.till(shop.org, access="config:write")
        hung_hook = subscribe(world, admin, hung.url)
        closed = subscribe(world, admin, "http://127.0.0.1:9/closed")  # discard port: nobody
        revoke_all(shop, 1)
        drain(runtime, webhook_timeout_seconds=0.2)
        gate.set()
    errors = {r.endpoint_id: r.last_error for r in world.rows(t.webhook_deliveries)}
    assert errors[hung_hook["id"]] == "no answer within 0.2 s"
    assert errors[closed["id"]].startswith("ConnectError")


def test_serve_runs_the_dispatcher_and_counts_deliveries(
    world: World, runtime: Runtime, settings: Settings, receiver: Receiver
) -> None:
    shop = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    subscribe(world, admin, receiver.url)
    revoke_all(shop, 3)
    app = create_app(settings, runtime=Runtime.build(settings), background=True)
    with TestClient(app) as client:
        wait_until(lambda: len(receiver.delivered_event_ids()) == 3, "the events to arrive")
        wait_until(lambda: _statuses(world) == {"DELIVERED"}, "the delivery to be recorded")
        metrics = wait_until(
            lambda: _sample(
                client.get("/metrics").text, "promoledger_webhook_events_delivered_total"
            ),
            "the delivery to be counted",
        )
    assert metrics == 3.0


def _statuses(world: World) -> set[str]:
    return {r.status for r in world.rows(t.webhook_deliveries)}


def _sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_after_a_rotation_both_secrets_sign_for_a_while(
    world: World, runtime: Runtime, receiver: Receiver
) -> None:
    shop = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    hook = subscribe(world, admin, receiver.url)
    rotated = world.client.post(
        f"/admin/v1/webhooks/{hook['id']}/rotate-secret", headers=admin.headers
    ).json()["secret"]
    revoke_all(shop, 1)
    drain(runtime)
    [during] = receiver.delivered()
    assert during.verify(rotated)
    assert during.verify(hook["secret"])  # receivers still on the old secret keep working
    assert len(during.headers["webhook-signature"].split(" ")) == 2

    with world.uow.write() as conn:  # the grace period is over
        conn.execute(update(t.webhook_endpoints).values(previous_until=utcnow()))
    revoke_all(shop, 1)
    drain(runtime)
    after = receiver.delivered()[1]
    assert after.verify(rotated)
    with pytest.raises(WebhookVerificationError):
        after.verify(hook["secret"])
