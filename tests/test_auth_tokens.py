"""OAuth client credentials: the token endpoint and every way a token can be wrong."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from typing import Any

import jwt
import orjson
import pytest

from promoledger.domain.errors import Invalid
from promoledger.domain.vocabulary import CredentialKind
from promoledger.runtime import Runtime
from promoledger.services import credentials
from promoledger.services.auth import md5_hex
from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.factories import Caller, World

pytestmark = pytest.mark.probes

GENERATE = "/v3/oauth/token/generate"
TOKEN_INVALID_BODY = {
    "errors": [
        {
            "status": False,
            "code": 401,
            "message": "Authentication failed. The access token is invalid or expired.",
        }
    ]
}
V3_AUTH_FAILED = {
    "data": None,
    "errors": [
        {
            "status": False,
            "code": 401,
            "message": "Authentication failed. Please check username and password.",
        }
    ],
}


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _signing_key(world: World) -> tuple[str, bytes]:
    """The key the server signs with (the database holds only its salt)."""
    return world.runtime.auth.tokens.signing_key()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _probe(world: World, token: str, header: str = "X-CAP-API-OAUTH-TOKEN") -> Any:
    value = token if header == "X-CAP-API-OAUTH-TOKEN" else f"Bearer {token}"
    return world.client.get("/v2/_probe/customer", headers={header: value})


def _forged(world: World, caller: Caller, **overrides: Any) -> dict[str, Any]:
    """The claims of a genuine token for ``caller`` with some replaced."""
    return {**_claims(world.oauth_token(caller)), **overrides}


def test_generate_returns_a_token_with_the_contract_claims(world: World) -> None:
    org = world.org()
    caller = world.oauth_client(org)
    response = world.client.post(GENERATE, json={"key": caller.name, "secret": caller.secret})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "errors"}
    assert body["errors"] is None
    assert body["data"]["ttlSeconds"] == 3600
    claims = _claims(body["data"]["accessToken"])
    assert {"iss", "iat", "exp", "jti", "sub", "client_id", "org_id"} <= set(claims)
    assert claims["iss"] == "promoledger"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["sub"] == str(caller.credential_id)
    assert claims["client_id"] == caller.name
    assert claims["org_id"] == org
    assert jwt.get_unverified_header(body["data"]["accessToken"])["alg"] == "HS256"
    # Each token is unique.
    assert _claims(world.oauth_token(caller))["jti"] != claims["jti"]


def test_the_lifetime_is_per_client(world: World) -> None:
    caller = world.oauth_client(world.org(), ttl=90)
    response = world.client.post(GENERATE, json={"key": caller.name, "secret": caller.secret})
    assert response.json()["data"]["ttlSeconds"] == 90
    claims = _claims(response.json()["data"]["accessToken"])
    assert claims["exp"] - claims["iat"] == 90


def test_a_lifetime_over_thirty_days_is_refused(world: World) -> None:
    with pytest.raises(Invalid):
        world.oauth_client(world.org(), ttl=30 * 24 * 3600 + 1)
    assert world.oauth_client(world.org(), ttl=30 * 24 * 3600).credential_id > 0


@pytest.mark.parametrize("header", ["X-CAP-API-OAUTH-TOKEN", "Authorization"])
def test_a_token_round_trips_through_both_headers(world: World, header: str) -> None:
    org = world.org()
    caller = world.oauth_client(org)
    response = _probe(world, world.oauth_token(caller), header)
    assert response.status_code == 200
    assert response.json() == {"org": org, "credential": caller.credential_id, "kind": "CLIENT"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda c: {"key": c.name, "secret": "wrong"}, id="wrong-secret"),
        pytest.param(lambda c: {"key": "nobody-123", "secret": c.secret}, id="unknown-key"),
    ],
)
def test_generate_with_wrong_credentials_is_401_in_the_v3_shape(world: World, body: Any) -> None:
    caller = world.oauth_client(world.org())
    response = world.client.post(GENERATE, json=body(caller))
    assert response.status_code == 401
    assert response.json() == V3_AUTH_FAILED
    assert caller.secret not in response.text


def test_a_till_cannot_get_a_token_with_its_password(world: World) -> None:
    till = world.till(world.org())
    response = world.client.post(GENERATE, json={"key": till.name, "secret": md5_hex(till.secret)})
    assert response.status_code == 401
    assert response.json() == V3_AUTH_FAILED


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"key": "k"}', id="no-secret"),
        pytest.param(b'{"key": 1, "secret": "s"}', id="key-not-a-string"),
        pytest.param(b'{"key": "", "secret": ""}', id="empty"),
    ],
)
def test_generate_with_a_malformed_body_is_400_in_the_v3_shape(
    world: World, content: bytes
) -> None:
    response = world.client.post(
        GENERATE, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["status"] is False
    assert body["errors"][0]["code"] in (9400, 9002)


def test_generate_needs_no_credential_and_ignores_one(world: World) -> None:
    caller = world.oauth_client(world.org())
    junk = {"Authorization": "Basic Zm9vOmJhcg=="}
    response = world.client.post(
        GENERATE, json={"key": caller.name, "secret": caller.secret}, headers=junk
    )
    assert response.status_code == 200


def test_an_expired_token_is_401_and_audited(world: World) -> None:
    org = world.org()
    caller = world.oauth_client(org)
    kid, key = _signing_key_after_issue(world, caller)
    now = int(time.time())
    claims = _forged(world, caller, iat=now - 7200, exp=now - 3600)
    token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})
    response = _probe(world, token)
    assert response.status_code == 401
    assert response.json() == TOKEN_INVALID_BODY
    (event,) = world.audit(action="AUTH_FAILED")
    assert (event.org_id, event.entity_id) == (org, caller.credential_id)
    assert orjson.loads(event.detail)["reason"] == "token_expired"


def _signing_key_after_issue(world: World, caller: Caller) -> tuple[str, bytes]:
    world.oauth_token(caller)  # the key is created lazily; make sure it exists
    return _signing_key(world)


def test_a_tampered_token_is_401(world: World) -> None:
    caller = world.oauth_client(world.org("mine"))
    other_org = world.org("theirs")
    token = world.oauth_token(caller)
    header, payload, signature = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org_id"] = other_org
    tampered = f"{header}.{_b64(orjson.dumps(claims))}.{signature}"
    assert _probe(world, tampered).status_code == 401
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert _probe(world, flipped).json() == TOKEN_INVALID_BODY
    assert _probe(world, "not.a.jwt").status_code == 401
    assert _probe(world, "garbage").status_code == 401


def test_an_alg_none_token_is_401(world: World) -> None:
    caller = world.oauth_client(world.org())
    kid, _ = _signing_key_after_issue(world, caller)
    claims = _forged(world, caller)
    for alg in ("none", "None", "NONE"):
        header = _b64(orjson.dumps({"alg": alg, "typ": "JWT", "kid": kid}))
        unsigned = f"{header}.{_b64(orjson.dumps(claims))}."
        response = _probe(world, unsigned, "Authorization")
        assert response.status_code == 401
        assert response.json() == TOKEN_INVALID_BODY


def test_a_token_signed_by_another_key_is_401(world: World) -> None:
    caller = world.oauth_client(world.org())
    kid, _ = _signing_key_after_issue(world, caller)
    claims = _forged(world, caller)
    foreign = secrets.token_bytes(64)
    same_kid = jwt.encode(claims, foreign, algorithm="HS256", headers={"kid": kid})
    other_kid = jwt.encode(claims, foreign, algorithm="HS256", headers={"kid": "f00d"})
    no_kid = jwt.encode(claims, foreign, algorithm="HS256")
    for token in (same_kid, other_kid, no_kid):
        response = _probe(world, token)
        assert response.status_code == 401
        assert response.json() == TOKEN_INVALID_BODY
    # Unsigned-by-us tokens name no credential we can trust: refused without a write.
    assert world.audit(action="AUTH_FAILED") == []


def test_a_validly_signed_token_for_another_org_or_a_till_is_401(world: World) -> None:
    org = world.org("mine")
    caller = world.oauth_client(org)
    till = world.till(org)
    kid, key = _signing_key_after_issue(world, caller)
    wrong_org = _forged(world, caller, org_id=world.org("theirs"))
    till_subject = _forged(world, caller, sub=str(till.credential_id))
    wrong_issuer = _forged(world, caller, iss="someone-else")
    for claims in (wrong_org, till_subject, wrong_issuer):
        token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})
        assert _probe(world, token).status_code == 401


def test_disabling_a_client_refuses_its_tokens_at_once(world: World) -> None:
    caller = world.oauth_client(world.org())
    token = world.oauth_token(caller)
    assert _probe(world, token).status_code == 200
    credentials.set_disabled(world.uow, kind=CredentialKind.CLIENT, name=caller.name, disabled=True)
    assert _probe(world, token).status_code == 401
    refused = world.client.post(GENERATE, json={"key": caller.name, "secret": caller.secret})
    assert refused.status_code == 401
    credentials.set_disabled(
        world.uow, kind=CredentialKind.CLIENT, name=caller.name, disabled=False
    )
    assert _probe(world, token).status_code == 200


def test_rotating_a_client_secret_revokes_its_tokens(world: World) -> None:
    caller = world.oauth_client(world.org())
    old_token = world.oauth_token(caller)
    _, _, new_secret = credentials.rotate_client(world.uow, key=caller.name)
    assert _probe(world, old_token).status_code == 401
    old = world.client.post(GENERATE, json={"key": caller.name, "secret": caller.secret})
    assert old.status_code == 401
    fresh = world.client.post(GENERATE, json={"key": caller.name, "secret": new_secret})
    assert fresh.status_code == 200
    assert _probe(world, fresh.json()["data"]["accessToken"]).status_code == 200
    reasons = [orjson.loads(e.detail)["reason"] for e in world.audit(action="AUTH_FAILED")]
    assert reasons == ["token_rotated", "wrong_secret"]


def test_tokens_survive_a_restart_and_span_processes(
    world: World, settings: Settings, runtime: Runtime
) -> None:
    caller = world.oauth_client(world.org())
    token = world.oauth_token(caller)
    other = Runtime.build(settings)
    try:
        other.auth.load_or_create_signing_key()
        principal = asyncio.run(other.auth.authenticate_token(token))
        assert principal.credential_id == caller.credential_id
        issued = asyncio.run(other.auth.issue_token(caller.name, caller.secret))
        assert asyncio.run(runtime.auth.authenticate_token(issued.access_token)).name == caller.name
    finally:
        other.engine.dispose()
    assert len(world.rows(t.signing_keys)) == 1
