"""At least once, with real ``promoledger serve`` processes and a real receiver: a kill -9
while a delivery is in flight, or while the receiver is failing, loses no event, and every
duplicate is the same delivery (same webhook-id, same events)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.receiver import Receiver, receiving, wait_until
from tests.support.revoke import REVOKE, Shop, entry, make_shop
from tests.support.servers import Server

pytestmark = pytest.mark.slow

ENV = {
    "PROMOLEDGER_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
    "PROMOLEDGER_WEBHOOK_POLL_SECONDS": "0.05",
    "PROMOLEDGER_WEBHOOK_RETRY_DELAYS": "0.1",
    # A killed dispatcher's endpoints are free again this soon.
    "PROMOLEDGER_WEBHOOK_LEASE_SECONDS": "1",
}


def _setup(world: World, server: Server, url: str, customers: int) -> tuple[Shop, list[Any]]:
    shop = make_shop(world)
    admin = world.till(shop.org, access="config:write")
    response = server.post(
        "/admin/v1/webhooks", json={"url": url, "eventTypes": ["*"]}, headers=admin.headers
    )
    assert response.status_code == 201
    people = shop.customers(customers)
    for c in people:
        shop.enrol(c)
    return shop, people


def _revoke(server: Server, shop: Shop, people: list[Any]) -> None:
    body = shop.body("REVOKE_ENROL", [entry(c) for c in people])
    assert server.post(REVOKE, json=body, headers=shop.till.headers).status_code == 200


def _all_arrived(world: World, receiver: Receiver) -> bool:
    wanted = {r.id for r in world.rows(t.events)}
    return bool(wanted) and wanted <= set(receiver.delivered_event_ids())


def _statuses(world: World) -> set[str]:
    return {r.status for r in world.rows(t.webhook_deliveries)}


def _assert_at_least_once(world: World, receiver: Receiver) -> None:
    wanted = sorted(r.id for r in world.rows(t.events))
    assert sorted(set(receiver.delivered_event_ids())) == wanted
    by_id: dict[str, bytes] = {}
    for r in receiver.received:
        # A duplicate is the same delivery: the same id carries the same events.
        assert by_id.setdefault(r.webhook_id, r.body) == r.body
    firsts: list[list[int]] = []
    seen: set[str] = set()
    for r in receiver.received:
        if r.webhook_id not in seen:
            seen.add(r.webhook_id)
            firsts.append([e["id"] for e in r.events])
    # Distinct deliveries never share an event and come in event order.
    flat = [i for ids in firsts for i in ids]
    assert flat == sorted(flat)
    assert len(flat) == len(set(flat))


def test_kill_9_while_a_delivery_is_in_flight(
    world: World, database_url: str, tmp_path: Path
) -> None:
    gate = threading.Event()
    with receiving(gate=gate) as receiver:
        server = Server(database_url, env=ENV).start(tmp_path)
        try:
            shop, people = _setup(world, server, receiver.url, 6)
            _revoke(server, shop, people[:3])
            wait_until(lambda: receiver.received, "the first POST to reach the receiver")
            server.kill_9()  # the POST is still waiting for its answer
            gate.set()
            server = Server(database_url, env=ENV).start(tmp_path)
            _revoke(server, shop, people[3:])
            wait_until(lambda: _all_arrived(world, receiver), "every event to arrive")
        finally:
            gate.set()
            server.stop()
    _assert_at_least_once(world, receiver)
    # The delivery in flight at the kill was sent again under its id.
    assert len(receiver.received) > len({r.webhook_id for r in receiver.received})


def test_kill_9_while_the_receiver_is_failing(
    world: World, database_url: str, tmp_path: Path
) -> None:
    failing = threading.Event()
    failing.set()
    with receiving(status=lambda n: 500 if failing.is_set() else 200) as receiver:
        servers = [Server(database_url, env=ENV).start(tmp_path) for _ in range(2)]
        try:
            shop, people = _setup(world, servers[0], receiver.url, 9)
            for part in (people[:3], people[3:6]):
                _revoke(servers[0], shop, part)
            wait_until(lambda: len(receiver.received) >= 3, "retries of a failing delivery")
            servers[0].kill_9()
            _revoke(servers[1], shop, people[6:])
            servers[0] = Server(database_url, env=ENV).start(tmp_path)
            failing.clear()
            wait_until(lambda: _all_arrived(world, receiver), "every event to arrive")
            # Every delivery cut is recorded delivered in the end (retries survive the kill).
            wait_until(lambda: _statuses(world) == {"DELIVERED"}, "every delivery recorded")
        finally:
            for server in servers:
                server.stop()
    _assert_at_least_once(world, receiver)
