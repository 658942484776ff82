"""revokeEnrolAndEarn / revokeDirectEarn: every row of contract 3.1, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World
from tests.support.invariants import snapshot
from tests.support.revoke import (
    ACTIVE_EARNS,
    EARNS_INVALID,
    NO_ACTIVE,
    NOT_FOUND,
    REVOKE_DIRECT,
    entry,
    failed,
    make_shop,
    ok,
    rejected,
)


def test_revoke_enrol_revokes_the_active_enrolment(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    old_earn = shop.earn(c, enrolment, status="REVOKED")  # revoked earns do not block
    [old_earn_before] = world.rows(t.earns, id=old_earn)

    response = shop.post(
        shop.body("REVOKE_ENROL", [entry(c)]), headers={"X-Request-ID": "req-enrol-1"}
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-enrol-1"
    assert response.json() == {
        "response": [
            ok(
                {
                    "entityType": "CUSTOMER",
                    "entityId": c.id,
                    "promotionId": shop.promotion_id,
                    "programId": shop.program,
                    "issualId": str(enrolment),
                    "revokedIssualId": enrolment,
                }
            )
        ],
        "totalCount": 1,
        "failureCount": 0,
    }
    [row] = world.rows(t.enrolments, id=enrolment)
    assert row.status == "REVOKED"
    assert row.ended_by == f"TILL:{shop.till.credential_id}"
    assert row.ended_request_id == "req-enrol-1"
    assert row.ended_at is not None
    # The already revoked earn is left exactly as it was: not revoked again, not audited.
    assert world.rows(t.earns, id=old_earn) == [old_earn_before]
    assert world.audit(entity_type="EARN") == []
    [event] = world.audit(action="REVOKE_ENROL")
    assert (event.entity_type, event.entity_id, event.customer_id) == ("ENROLMENT", enrolment, c.id)
    assert (event.old_status, event.new_status) == ("ACTIVE", "REVOKED")
    assert (event.request_id, event.idempotency_key) == ("req-enrol-1", None)
    assert (event.actor_kind, event.actor_id) == ("TILL", shop.till.credential_id)
    assert (event.org_id, event.promotion_id) == (shop.org, shop.promotion_id)


def test_revoke_issual_is_an_alias_of_revoke_enrol(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    body = shop.post(shop.body("REVOKE_ISSUAL", [entry(c)])).json()
    assert body["response"][0]["result"]["revokedIssualId"] == enrolment
    assert world.status_of(t.enrolments, enrolment) == "REVOKED"


def test_revoke_enrol_with_active_earns_changes_nothing(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    shop.earn(c, enrolment)
    before = snapshot(world.url)

    response = shop.post(shop.body("REVOKE_ENROL", [entry(c)]))

    assert response.status_code == 200
    assert response.json() == {
        "response": [failed(*ACTIVE_EARNS)],
        "totalCount": 1,
        "failureCount": 1,
    }
    assert snapshot(world.url) == before


@pytest.mark.parametrize("status", [None, "REVOKED", "REPLACED", "EXPIRED"])
def test_revoke_enrol_without_an_active_enrolment_is_2305(world: World, status: str | None) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    if status is not None:
        shop.enrol(c, status=status)
    before = snapshot(world.url)
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c)])).json()["response"] == [
        failed(*NO_ACTIVE)
    ]
    assert snapshot(world.url) == before


def test_a_due_enrolment_expires_instead_of_being_revoked(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c, expires_at=utcnow() - timedelta(minutes=1))
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c)])).json()["response"] == [
        failed(*NO_ACTIVE)
    ]
    assert world.status_of(t.enrolments, enrolment) == "EXPIRED"
    [event] = world.audit(action="EXPIRE")
    assert (event.entity_id, event.new_status) == (enrolment, "EXPIRED")


def test_revoke_earn_with_earn_ids_revokes_them_ascending(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    e1, e2, e3 = (shop.earn(c, enrolment) for _ in range(3))

    response = shop.post(
        shop.body("REVOKE_EARN", [entry(c, [e3, e1])]), headers={"X-Request-ID": "req-earn"}
    )

    assert response.status_code == 200
    assert response.json()["response"] == [
        ok(
            {
                "entityType": "CUSTOMER",
                "entityId": c.id,
                "promotionId": shop.promotion_id,
                "programId": shop.program,
                "revokedEarnIds": [e1, e3],
            }
        )
    ]
    assert [world.status_of(t.earns, e) for e in (e1, e2, e3)] == ["REVOKED", "ACTIVE", "REVOKED"]
    assert world.status_of(t.enrolments, enrolment) == "ACTIVE"
    for earn_id in (e1, e3):
        [row] = world.rows(t.earns, id=earn_id)
        assert row.ended_by == f"TILL:{shop.till.credential_id}"
        assert row.ended_request_id == "req-earn"
    events = world.audit(action="REVOKE_EARN")
    assert [(e.entity_type, e.entity_id, e.old_status, e.new_status) for e in events] == [
        ("EARN", e1, "ACTIVE", "REVOKED"),
        ("EARN", e3, "ACTIVE", "REVOKED"),
    ]
    assert {e.request_id for e in events} == {"req-earn"}


def test_any_bad_earn_id_fails_the_entry_and_changes_none(world: World) -> None:
    shop = make_shop(world)
    other_promo = world.promotion(shop.org, shop.program)
    c, d = shop.customers(2)
    good = shop.earn(c)
    revoked = shop.earn(c, status="REVOKED")
    expired = shop.earn(c, status="EXPIRED")
    due = shop.earn(c, expires_at=utcnow() - timedelta(seconds=1))
    foreign = shop.earn(d)
    elsewhere = world.earn(shop.org, other_promo.id, c.id)
    unknown = 10**9

    for bad in (revoked, expired, due, foreign, elsewhere, unknown):
        response = shop.post(shop.body("REVOKE_EARN", [entry(c, [good, bad])]))
        assert response.status_code == 200
        assert response.json()["response"] == [failed(*EARNS_INVALID)], bad
        assert world.status_of(t.earns, good) == "ACTIVE"
    assert world.status_of(t.earns, foreign) == "ACTIVE"
    assert world.status_of(t.earns, elsewhere) == "ACTIVE"
    assert world.status_of(t.earns, due) == "EXPIRED"  # expiry applied, never revoked
    assert world.audit(action="REVOKE_EARN") == []


def test_revoke_earn_without_earn_ids_revokes_every_active_earn(world: World) -> None:
    shop = make_shop(world, type="DIRECT_ISSUE")
    c, d = shop.customers(2)
    mine = [shop.earn(c) for _ in range(3)]
    old = shop.earn(c, status="REVOKED")
    theirs = shop.earn(d)

    body = shop.post(shop.body("REVOKE_EARN", [entry(c)])).json()

    assert body["response"][0]["result"]["revokedEarnIds"] == mine
    assert [world.status_of(t.earns, e) for e in mine] == ["REVOKED"] * 3
    assert world.status_of(t.earns, theirs) == "ACTIVE"
    assert len(world.audit(action="REVOKE_EARN")) == 3
    [row] = world.rows(t.earns, id=old)
    assert row.ended_request_id is None  # an already revoked earn is not touched again

    again = shop.post(shop.body("REVOKE_EARN", [entry(c)])).json()
    assert again == {"response": [failed(*NO_ACTIVE)], "totalCount": 1, "failureCount": 1}


def test_empty_earn_ids_never_mean_all(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    for ids in ([], ["x"], "959", [0]):
        body = shop.body("REVOKE_EARN", [{"identifierValue": str(c.id), "earnIds": ids}])
        assert shop.post(body).json()["response"] == [failed(*EARNS_INVALID)], ids
    assert world.status_of(t.earns, earn) == "ACTIVE"


def test_earn_ids_are_accepted_as_earnIDs_and_numeric_strings(world: World) -> None:  # noqa: N802
    shop = make_shop(world)
    [c] = shop.customers()
    e1, e2 = shop.earn(c), shop.earn(c)
    body = shop.body("REVOKE_EARN", [{"identifierValue": str(c.id), "earnIDs": [str(e2), e1]}])
    assert shop.post(body).json()["response"][0]["result"]["revokedEarnIds"] == [e1, e2]


def test_duplicate_earn_ids_revoke_once(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    e = shop.earn(c)
    body = shop.post(shop.body("REVOKE_EARN", [entry(c, [e, e])])).json()
    assert body["response"][0]["result"]["revokedEarnIds"] == [e]
    assert len(world.audit(action="REVOKE_EARN")) == 1


def test_the_same_customer_twice_sees_its_first_entry(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    e1, e2 = shop.earn(c, enrolment), shop.earn(c, enrolment)

    body = shop.post(
        shop.body("REVOKE_EARN", [entry(c, [e1]), entry(c, [e1]), entry(c), entry(c)])
    ).json()
    assert [r.get("result", {}).get("revokedEarnIds") for r in body["response"]] == [
        [e1],
        None,
        [e2],
        None,
    ]
    assert body["response"][1] == failed(*EARNS_INVALID)
    assert body["response"][3] == failed(*NO_ACTIVE)
    assert (body["totalCount"], body["failureCount"]) == (4, 2)

    enrol = shop.post(shop.body("REVOKE_ENROL", [entry(c), entry(c)])).json()
    assert enrol["response"][0]["result"]["revokedIssualId"] == enrolment
    assert enrol["response"][1] == failed(*NO_ACTIVE)


def test_entries_answer_in_request_order_with_per_entry_errors(world: World) -> None:
    shop = make_shop(world)
    a, b = shop.customers(2)
    outsider = world.customers(shop.org, None)[0]  # not a program member
    ea, eb = shop.earn(a), shop.earn(b)
    customers = [
        entry(b, [eb]),
        {"identifierValue": "abc"},
        entry(outsider),
        {"identifierValue": str(a.id), "source": "nowhere"},
        {"identifierValue": "  "},
        entry(a, [ea]),
    ]
    body = shop.post(shop.body("REVOKE_EARN", customers)).json()
    assert [
        r.get("result", {}).get("entityId") or r["errors"][0]["code"] for r in body["response"]
    ] == [
        b.id,
        8896,
        8015,
        8003,
        11013,
        a.id,
    ]
    assert (body["totalCount"], body["failureCount"]) == (6, 4)


def test_customers_by_mobile_and_email_with_sources(world: World) -> None:
    shop = make_shop(world)
    c, d = shop.customers(2, sources=("WEBSITE",))
    ec, ed = shop.earn(c), shop.earn(d)
    by_mobile = shop.body(
        "REVOKE_EARN",
        [
            {"identifierValue": c.mobile, "source": "website"},
            {"identifierValue": d.mobile, "source": "INSTORE"},
        ],
        identifier_name="mobile",
    )
    body = shop.post(by_mobile).json()
    assert body["response"][0]["result"]["revokedEarnIds"] == [ec]
    assert body["response"][1] == failed(*NOT_FOUND)
    by_email = shop.body(
        "REVOKE_EARN",
        [{"identifierValue": d.email.upper(), "source": "ALL"}],
        identifier_name="email",
    )
    assert shop.post(by_email).json()["response"][0]["result"]["revokedEarnIds"] == [ed]


@pytest.mark.parametrize(
    ("type", "action"),
    [("DIRECT_ISSUE", "REVOKE_ENROL"), ("GENERIC", "REVOKE_ENROL"), ("GENERIC", "REVOKE_EARN")],
)
def test_unsupported_revokes_are_8902(world: World, type: str, action: str) -> None:
    shop = make_shop(world, type=type)
    [c] = shop.customers()
    shop.enrol(c)
    shop.earn(c)
    before = snapshot(world.url)
    response = shop.post(shop.body(action, [entry(c)]))
    assert response.status_code == 400
    assert response.json() == rejected(
        8902, "revoke bulk action passed not supported for loyalty/generic promotion type"
    )
    assert snapshot(world.url) == before


@pytest.mark.parametrize(
    "keys", [("promotionId",), ("promoIdentifier",), ("promotionId", "promoIdentifier")]
)
def test_the_result_echoes_the_promotion_keys_used(world: World, keys: tuple[str, ...]) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    shop.earn(c)
    result = shop.post(shop.body("REVOKE_EARN", [entry(c)], keys=keys)).json()["response"][0][
        "result"
    ]
    expected = ["entityType", "entityId", *keys, "programId", "revokedEarnIds"]
    assert list(result) == expected
    if "promotionId" in keys:
        assert result["promotionId"] == shop.promotion_id
    if "promoIdentifier" in keys:
        assert result["promoIdentifier"] == shop.promo.identifier


@pytest.mark.parametrize("action", ["REVOKE_ENROL", "REVOKE_EARN"])
def test_an_inactive_promotion_is_8892(world: World, action: str) -> None:
    shop = make_shop(world, active=False)
    [c] = shop.customers()
    shop.enrol(c)
    before = snapshot(world.url)
    response = shop.post(shop.body(action, [entry(c)]))
    assert response.status_code == 400
    assert response.json() == rejected(8892, "promotion is inactive")
    assert snapshot(world.url) == before


@pytest.mark.parametrize("window", ["before", "after"])
def test_revokes_are_allowed_outside_the_date_window(world: World, window: str) -> None:
    now = utcnow()
    dates = (
        {"start_date": now + timedelta(days=1)}
        if window == "before"
        else {"start_date": now - timedelta(days=9), "end_date": now - timedelta(days=1)}
    )
    shop = make_shop(world, **dates)
    [c] = shop.customers()
    enrolment = shop.enrol(c)
    earn = shop.earn(c, enrolment)
    assert shop.post(shop.body("REVOKE_EARN", [entry(c)])).status_code == 200
    assert shop.post(shop.body("REVOKE_ENROL", [entry(c)])).status_code == 200
    assert world.status_of(t.earns, earn) == "REVOKED"
    assert world.status_of(t.enrolments, enrolment) == "REVOKED"


@pytest.mark.parametrize("action", [None, "ENROL", "EARN", "revoke_earn", "REVOKE"])
def test_other_bulk_actions_are_rejected(world: World, action: str | None) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    response = shop.post(shop.body(action, [entry(c)]))
    assert response.status_code == 400
    assert response.json() == rejected(9001, "invalid bulk action passed")


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b.update(type="USERGROUP2"), 8899),
        (lambda b: b.update(type="customer"), 8901),
        (lambda b: b["promotionDetails"].pop("programId"), 8881),
        (lambda b: b["promotionDetails"].pop("promotionId"), 8881),
        (lambda b: b["promotionDetails"].update(programId=10**9), 1101),
        (lambda b: b["promotionDetails"].update(promotionId=10**9), 8874),
        (lambda b: b["promotionDetails"].update(promoIdentifier="nope"), 8874),
        (lambda b: b.update(identifierName="phone"), 8013),
        (lambda b: b.update(customers=[]), 11013),
        (lambda b: b.update(customers=[{"identifierValue": "1"}] * 101), 1060),
    ],
)
def test_request_level_failures_reject_the_whole_request(
    world: World, mutate: Callable[[dict[str, Any]], Any], code: int
) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    body = shop.body("REVOKE_EARN", [entry(c)])
    mutate(body)
    before = snapshot(world.url)
    response = shop.post(body)
    assert response.status_code == 400
    [item] = response.json()["response"]
    assert item["errors"][0]["code"] == code
    assert response.json()["failureCount"] == 1
    assert snapshot(world.url) == before
    assert world.status_of(t.earns, earn) == "ACTIVE"


def test_malformed_json_is_a_400(world: World) -> None:
    shop = make_shop(world)
    response = world.client.post(
        "/v2/promotion/bulk/revokeEnrolAndEarn",
        content=b"{not json",
        headers={**shop.till.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == rejected(9400, "Malformed JSON request body")


def test_another_orgs_promotion_is_invisible(world: World) -> None:
    shop = make_shop(world)
    other = make_shop(world)
    [c] = other.customers()
    other.earn(c)
    body = other.body("REVOKE_EARN", [entry(c)])
    response = shop.post(body)  # shop's till, other org's program
    assert response.json() == rejected(1101, "invalid programId passed")


def test_revoke_needs_customer_write(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    reader = world.till(shop.org, access="customer:read,config:write")
    body = shop.body("REVOKE_EARN", [entry(c)])
    denied = shop.post(body, caller=reader)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["code"] == 4000
    anonymous = world.client.post("/v2/promotion/bulk/revokeEnrolAndEarn", json=body)
    assert anonymous.status_code == 401
    assert world.status_of(t.earns, earn) == "ACTIVE"


def test_oauth_clients_can_revoke(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    earn = shop.earn(c)
    client = world.oauth_client(shop.org, access="customer:write")
    token = world.client.post(
        "/v3/oauth/token/generate", json={"key": client.name, "secret": client.secret}
    )
    if token.status_code == 404:
        pytest.skip("the token endpoint is built by the auth helper")
    headers = {"X-CAP-API-OAUTH-TOKEN": token.json()["data"]["accessToken"]}
    response = world.client.post(
        "/v2/promotion/bulk/revokeEnrolAndEarn",
        json=shop.body("REVOKE_EARN", [entry(c)]),
        headers=headers,
    )
    assert response.json()["response"][0]["result"]["revokedEarnIds"] == [earn]
    [row] = world.rows(t.earns, id=earn)
    assert row.ended_by == f"CLIENT:{client.credential_id}"


# --- revokeDirectEarn ------------------------------------------------------------------------


@pytest.mark.parametrize("action", [None, "REVOKE_EARN"])
@pytest.mark.parametrize("type", ["DIRECT_ISSUE", "ENROL_AND_ISSUE"])
def test_revoke_direct_earn_revokes_earns_on_either_type(
    world: World, action: str | None, type: str
) -> None:
    shop = make_shop(world, type=type)
    [c] = shop.customers()
    e1, e2 = shop.earn(c), shop.earn(c)
    body = shop.body(action, [{"identifierValue": str(c.id), "earnIDs": [e2]}])
    response = shop.post(body, path=REVOKE_DIRECT)
    assert response.status_code == 200
    assert response.json()["response"] == [
        ok(
            {
                "entityType": "CUSTOMER",
                "entityId": c.id,
                "promotionId": shop.promotion_id,
                "programId": shop.program,
                "revokedEarnIds": [e2],
            }
        )
    ]
    assert [world.status_of(t.earns, e) for e in (e1, e2)] == ["ACTIVE", "REVOKED"]
    assert [e.action for e in world.audit(entity_type="EARN")] == ["REVOKE_EARN"]
    all_of_them = shop.post(shop.body(action, [entry(c)]), path=REVOKE_DIRECT).json()
    assert all_of_them["response"][0]["result"]["revokedEarnIds"] == [e1]


@pytest.mark.parametrize("action", ["REVOKE_ENROL", "REVOKE_ISSUAL", "EARN", ""])
def test_revoke_direct_earn_refuses_other_actions(world: World, action: str) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    shop.enrol(c)
    response = shop.post(shop.body(action, [entry(c)]), path=REVOKE_DIRECT)
    assert response.status_code == 400
    assert response.json() == rejected(9001, "invalid bulk action passed")


def test_revoke_direct_earn_on_generic_is_8902(world: World) -> None:
    shop = make_shop(world, type="GENERIC")
    [c] = shop.customers()
    response = shop.post(shop.body(None, [entry(c)]), path=REVOKE_DIRECT)
    assert response.json() == rejected(
        8902, "revoke bulk action passed not supported for loyalty/generic promotion type"
    )


def test_revoke_direct_earn_errors_per_entry(world: World) -> None:
    shop = make_shop(world, type="DIRECT_ISSUE")
    [c] = shop.customers()
    body = shop.body(None, [entry(c), entry(c, []), {"identifierValue": "0"}])
    assert shop.post(body, path=REVOKE_DIRECT).json() == {
        "response": [
            failed(*NO_ACTIVE),
            failed(*EARNS_INVALID),
            failed(8896, "Error occurred while issuing promotion to the customer"),
        ],
        "totalCount": 3,
        "failureCount": 3,
    }
