"""/admin/v1/webhooks: endpoints, secrets, SSRF refusals, access and the audit trail."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import text

from promoledger.store import tables as t
from tests.support.factories import Caller, World

URL = "https://hooks.example.com/promoledger"


def create(world: World, caller: Caller, **body: Any) -> Any:
    return world.client.post(
        "/admin/v1/webhooks",
        json={"url": URL, "eventTypes": ["*"], **body},
        headers=caller.headers,
    )


def test_create_shows_the_secret_once(world: World, admin: Caller) -> None:
    response = create(world, admin, eventTypes=["earn.revoked", "earn.created"], description="crm")
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body.pop("secret")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert body["url"] == URL
    assert body["eventTypes"] == ["earn.revoked", "earn.created"]
    assert body["enabled"] is True
    assert body["description"] == "crm"
    hook = body["id"]

    listed = world.client.get("/admin/v1/webhooks", headers=admin.headers).json()["webhooks"]
    one = world.client.get(f"/admin/v1/webhooks/{hook}", headers=admin.headers).json()
    assert listed == [one]
    assert "secret" not in one
    assert one == body
    [audit] = world.audit(action="WEBHOOK_CREATED")
    assert (audit.entity_type, audit.entity_id, audit.org_id) == ("WEBHOOK", hook, admin.org_id)


def test_the_secret_is_not_in_the_database(world: World, admin: Caller) -> None:
    secret = create(world, admin).json()["secret"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    with world.uow.read() as conn:
        dump = [
            repr(tuple(row))
            for table in ("webhook_endpoints", "audit_events", "idempotency_keys")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        ]
    assert dump
    assert not any(secret in line or key.hex() in line or repr(key) in line for line in dump)


def test_rotate_gives_a_new_secret(world: World, admin: Caller) -> None:
    created = create(world, admin).json()
    rotated = world.client.post(
        f"/admin/v1/webhooks/{created['id']}/rotate-secret", headers=admin.headers
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    assert [a.action for a in world.audit(entity_type="WEBHOOK")] == [
        "WEBHOOK_CREATED",
        "WEBHOOK_SECRET_ROTATED",
    ]


def test_patch_changes_url_types_and_enabled(world: World, admin: Caller) -> None:
    hook = create(world, admin).json()["id"]
    response = world.client.patch(
        f"/admin/v1/webhooks/{hook}",
        json={
            "url": "https://other.example.com/x",
            "eventTypes": ["job.completed"],
            "enabled": False,
        },
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["url"], body["eventTypes"], body["enabled"]) == (
        "https://other.example.com/x",
        ["job.completed"],
        False,
    )
    assert body["disabledReason"] == "disabled by a user"
    again = world.client.patch(
        f"/admin/v1/webhooks/{hook}", json={"enabled": True}, headers=admin.headers
    )
    assert again.json()["enabled"] is True
    assert again.json()["disabledReason"] is None
    [row] = world.rows(t.webhook_endpoints, id=hook)
    assert row.enabled is True


def test_delete_hides_the_endpoint(world: World, admin: Caller) -> None:
    hook = create(world, admin).json()["id"]
    assert (
        world.client.delete(f"/admin/v1/webhooks/{hook}", headers=admin.headers).status_code == 204
    )
    assert world.client.get(f"/admin/v1/webhooks/{hook}", headers=admin.headers).status_code == 404
    assert world.client.get("/admin/v1/webhooks", headers=admin.headers).json() == {"webhooks": []}
    assert (
        world.client.delete(f"/admin/v1/webhooks/{hook}", headers=admin.headers).status_code == 404
    )
    [row] = world.rows(t.webhook_endpoints, id=hook)
    assert (row.deleted, row.enabled) == (True, False)


def test_replay_moves_the_cursor(world: World, admin: Caller) -> None:
    hook = create(world, admin).json()["id"]
    response = world.client.post(
        f"/admin/v1/webhooks/{hook}/replay", json={"after": 0}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["lastEventId"] == 0
    bad = world.client.post(
        f"/admin/v1/webhooks/{hook}/replay", json={"after": -1}, headers=admin.headers
    )
    assert bad.status_code == 422
    deliveries = world.client.get(f"/admin/v1/webhooks/{hook}/deliveries", headers=admin.headers)
    assert deliveries.json() == {"deliveries": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/x"}, "url"),
        ({"url": "https://127.0.0.1/x"}, "url"),
        ({"url": "https://10.1.2.3/x"}, "url"),
        ({"url": "https://169.254.169.254/latest"}, "url"),
        ({"url": "https://[::1]/x"}, "url"),
        ({"url": "https://[::ffff:192.168.0.1]/x"}, "url"),
        ({"url": "https://localhost/x"}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com:99999/x"}, "url"),
        ({"url": "https://[::1/x"}, "url"),
        ({"url": "https://hooks example.com/x"}, "url"),
        ({"url": f"https://{'a' * 64}.example.com/x"}, "url"),
        ({"eventTypes": ["earn.nope"]}, "eventTypes"),
        ({"eventTypes": []}, "eventTypes"),
    ],
)
def test_refused_targets_and_types_are_422(
    world: World, admin: Caller, body: dict[str, Any], field: str
) -> None:
    response = create(world, admin, **body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["code"], error["field"]) == (9422, field)
    assert world.rows(t.webhook_endpoints) == []


def test_patch_to_a_private_target_is_422(world: World, admin: Caller) -> None:
    hook = create(world, admin).json()["id"]
    response = world.client.patch(
        f"/admin/v1/webhooks/{hook}", json={"url": "https://192.168.1.1/x"}, headers=admin.headers
    )
    assert response.status_code == 422
    [row] = world.rows(t.webhook_endpoints, id=hook)
    assert row.url == URL


def test_other_orgs_endpoints_are_not_found(world: World, admin: Caller) -> None:
    hook = create(world, admin).json()["id"]
    stranger = world.till(world.org("other"), access="customer:none,config:write")
    for method, path in [
        ("GET", f"/admin/v1/webhooks/{hook}"),
        ("PATCH", f"/admin/v1/webhooks/{hook}"),
        ("DELETE", f"/admin/v1/webhooks/{hook}"),
        ("POST", f"/admin/v1/webhooks/{hook}/rotate-secret"),
        ("GET", f"/admin/v1/webhooks/{hook}/deliveries"),
        ("POST", f"/admin/v1/webhooks/{hook}/replay"),
    ]:
        json = {"after": 0} if path.endswith("replay") else {} if method == "PATCH" else None
        response = world.client.request(method, path, json=json, headers=stranger.headers)
        assert response.status_code == 404, (method, path, response.text)
    assert world.client.get("/admin/v1/webhooks", headers=stranger.headers).json() == {
        "webhooks": []
    }


def test_writing_needs_config_write(world: World, admin: Caller) -> None:
    reader = world.till(admin.org_id, access="customer:none,config:read")
    assert create(world, reader).status_code == 403
    assert world.client.get("/admin/v1/webhooks", headers=reader.headers).status_code == 200
    assert world.client.get("/admin/v1/webhooks").status_code == 401
