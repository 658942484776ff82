"""Authentication: Basic tills (md5), the verified cache, disable and rotate, tenant of a caller.

The real protected endpoints live in other modules; these tests mount small probe routes that
use the same dependencies (``tests/support/probes.py``, mounted for modules marked ``probes``),
so they exercise exactly what every route uses.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event

from promoledger.domain.vocabulary import CredentialKind
from promoledger.runtime import Runtime
from promoledger.services import credentials, passwords
from promoledger.services.auth import md5_hex
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.probes import AUTH_FAILED_BODY, basic

pytestmark = pytest.mark.probes


def test_md5_basic_is_accepted_and_names_the_caller(world: World) -> None:
    org = world.org()
    till = world.till(org)
    response = world.client.get("/v2/_probe/customer", headers=till.headers)
    assert response.status_code == 200
    assert response.json() == {"org": org, "credential": till.credential_id, "kind": "TILL"}
    # Upper-case hex is the same digest; some clients send it that way.
    upper = basic(till.name, md5_hex(till.secret).upper())
    assert world.client.get("/v2/_probe/customer", headers=upper).status_code == 200


def test_only_a_hash_of_the_md5_is_stored(world: World) -> None:
    till = world.till(world.org(), password="pa55word")
    (row,) = world.rows(t.credentials, id=till.credential_id)
    assert row.secret_hash.startswith("$argon2id$")
    assert md5_hex("pa55word") not in row.secret_hash
    assert "pa55word" not in row.secret_hash


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-credentials"),
        pytest.param({"Authorization": "Basic"}, id="empty-basic"),
        pytest.param({"Authorization": "Basic !!!notbase64"}, id="not-base64"),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, id="no-colon"
        ),
        pytest.param(basic("till\x00x", "a" * 32), id="control-character"),
        pytest.param(basic("x" * 300, "a" * 32), id="overlong-name"),
        pytest.param({"Authorization": "Digest abc"}, id="other-scheme"),
    ],
)
def test_malformed_or_missing_credentials_are_401(world: World, headers: dict[str, str]) -> None:
    response = world.client.get("/v2/_probe/customer", headers=headers)
    assert response.status_code == 401
    assert response.json() == AUTH_FAILED_BODY
    # Nothing names a credential, so nothing is written.
    assert world.audit(action="AUTH_FAILED") == []
    assert world.rows(t.auth_failures) == []


def test_plain_and_wrong_passwords_are_refused(world: World) -> None:
    org = world.org()
    till = world.till(org, password="s3cret!")
    for secret in ("s3cret!", md5_hex("wrong"), "0" * 32):
        response = world.client.get("/v2/_probe/customer", headers=basic(till.name, secret))
        assert response.status_code == 401
        assert response.json() == AUTH_FAILED_BODY
    unknown = world.client.get("/v2/_probe/customer", headers=basic("no-such-till", "0" * 32))
    assert unknown.status_code == 401
    assert unknown.json() == AUTH_FAILED_BODY
    events = world.audit(action="AUTH_FAILED")
    assert [(e.org_id, e.entity_id) for e in events] == [(org, till.credential_id)] * 3 + [
        (None, None)
    ]


def test_a_disabled_till_is_refused_on_its_next_request_despite_the_cache(world: World) -> None:
    till = world.till(world.org())
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    credentials.set_disabled(world.uow, kind=CredentialKind.TILL, name=till.name, disabled=True)
    refused = world.client.get("/v2/_probe/customer", headers=till.headers)
    assert refused.status_code == 401
    assert refused.json() == AUTH_FAILED_BODY
    credentials.set_disabled(world.uow, kind=CredentialKind.TILL, name=till.name, disabled=False)
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200


def test_a_rotated_till_secret_replaces_the_old_one_at_once(world: World) -> None:
    till = world.till(world.org(), password="old-pass")
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    credentials.rotate_till(world.uow, code=till.name, password="new-pass")
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 401
    fresh = basic(till.name, md5_hex("new-pass"))
    assert world.client.get("/v2/_probe/customer", headers=fresh).status_code == 200
    (event,) = world.audit(action="CREDENTIAL_ROTATED")
    assert (event.entity_id, event.actor_kind) == (till.credential_id, "OPERATOR")


def test_a_cached_secret_still_reads_the_row_each_request(
    world: World, settings: Settings, runtime: Runtime
) -> None:
    """Two processes on one database: a disable made through one is seen by the other."""
    till = world.till(world.org())
    other = Runtime.build(settings)
    try:
        principal = asyncio.run(other.auth.authenticate_basic(till.headers["Authorization"][6:]))
        assert principal.name == till.name
        assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
        credentials.set_disabled(other.uow, kind=CredentialKind.TILL, name=till.name, disabled=True)
        assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 401
    finally:
        other.engine.dispose()


def test_tills_of_two_orgs_act_for_their_own_org(world: World) -> None:
    first, second = world.org("first"), world.org("second")
    a, b = world.till(first), world.till(second)
    assert world.client.get("/v2/_probe/customer", headers=a.headers).json()["org"] == first
    assert world.client.get("/v2/_probe/customer", headers=b.headers).json()["org"] == second


def test_secrets_never_reach_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    till = world.till(world.org(), password="hunter2-pass")
    client = world.oauth_client(world.org("other"))
    world.client.get("/v2/_probe/customer", headers=till.headers)
    world.client.get("/v2/_probe/customer", headers=basic(till.name, md5_hex("wrong-guess")))
    world.client.post("/v3/oauth/token/generate", json={"key": client.name, "secret": "bad"})
    token = world.oauth_token(client)
    world.client.get("/v2/_probe/customer", headers={"Authorization": f"Bearer {token}"})
    for secret in ("hunter2-pass", md5_hex("hunter2-pass"), md5_hex("wrong-guess"), client.secret):
        assert secret not in caplog.text
    assert token not in caplog.text
    for row in world.audit():
        assert md5_hex("wrong-guess") not in (row.detail or "")
        assert client.secret not in (row.detail or "")


class _CountingHasher(PasswordHasher):
    """Real argon2id that counts its verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8192)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_a_cached_request_costs_one_statement_and_no_slow_hash(
    world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = _CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    till = world.till(world.org())
    assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    assert hasher.verified == 1
    statements: list[str] = []

    def record(_c: object, _cur: object, sql: str, *_args: object) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            statements.append(sql)

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            assert world.client.get("/v2/_probe/customer", headers=till.headers).status_code == 200
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
    assert hasher.verified == 1  # argon2 ran once, on the first request
    assert len(statements) == 3  # one indexed read of the credential (and its failures) each
    assert all("credentials" in sql and "auth_failures" in sql for sql in statements)


def test_concurrent_requests_on_a_cold_cache_hash_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a busy credential's cache entry is missing, a herd of requests costs one argon2."""
    hasher = _CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    till = world.till(world.org())
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda _: world.client.get("/v2/_probe/customer", headers=till.headers),
                range(8),
            )
        )
    assert [a.status_code for a in answers] == [200] * 8
    assert hasher.verified == 1


def test_a_client_key_is_not_a_till(world: World) -> None:
    caller = world.oauth_client(world.org())
    response = world.client.get("/v2/_probe/customer", headers=basic(caller.name, caller.secret))
    assert response.status_code == 401
