"""A 409 "in flight" (9432) tells the client when to retry."""

from __future__ import annotations

import orjson

from promoledger.services import idempotency
from tests.support.factories import World
from tests.support.revoke import REVOKE, entry, make_shop


def test_an_in_flight_key_answers_409_with_retry_after(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    shop.earn(c)
    raw = orjson.dumps(shop.body("REVOKE_EARN", [entry(c)]))
    claim = idempotency.begin(
        world.uow,
        credential_id=shop.till.credential_id,
        key="k-busy",
        fingerprint=idempotency.request_fingerprint("POST", REVOKE, "", raw),
        ttl_hours=24,
    )
    assert isinstance(claim, idempotency.Claim)
    response = world.client.post(
        REVOKE,
        content=raw,
        headers={
            **shop.till.headers,
            "Idempotency-Key": "k-busy",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == 9432
    assert int(response.headers["Retry-After"]) >= 1
