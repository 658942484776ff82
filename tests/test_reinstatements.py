"""Undo (POST /admin/v1/reinstatements): revoke through the real bulk API, then put it back.

Every test runs on SQLite and PostgreSQL. Revokes are sent with an X-Request-ID, which is
what a reinstatement names.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from promoledger.cli.main import app as cli
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import Caller, Customer, World
from tests.support.revoke import REVOKE, REVOKE_DIRECT, Shop, entry, make_shop
from tests.support.waiting import HANG_SECONDS

UNDO = "/admin/v1/reinstatements"
ENROL_AND_EARN = "/v2/promotion/bulk/enrolAndEarn"


def _rid() -> str:
    return f"revoke-{uuid.uuid4().hex}"


def revoke(
    shop: Shop, action: str | None, customers: list[dict[str, Any]], *, path: str = REVOKE
) -> str:
    """Revoke through the bulk API under a fresh X-Request-ID; that id."""
    rid = _rid()
    response = shop.post(shop.body(action, customers), path=path, headers={"X-Request-ID": rid})
    assert response.status_code == 200, response.text
    assert response.json()["failureCount"] == 0, response.text
    return rid


def undo(
    shop: Shop,
    body: dict[str, Any],
    *,
    caller: Caller | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    return shop.world.client.post(
        UNDO,
        json=body,
        headers={**(caller or shop.till).headers, **(headers or {})},
        params=params,
    )


def answer(enrolments: int, earns: int, *skipped: tuple[str, int, int, str]) -> dict[str, Any]:
    return {
        "reinstated": {"enrolments": enrolments, "earns": earns},
        "skipped": [
            {"entityType": kind, "entityId": eid, "customerId": cid, "reason": reason}
            for kind, eid, cid, reason in skipped
        ],
    }


def enrolled_with_earns(shop: Shop, people: list[Customer], n: int) -> dict[int, list[int]]:
    """Each customer: an ACTIVE enrolment, then ``n`` earns under it; their ids."""
    made = {}
    for c in people:
        enrolment = shop.enrol(c)
        made[c.id] = [enrolment, *(shop.earn(c, enrolment) for _ in range(n))]
    return made


def statuses(world: World, table: Any, ids: list[int]) -> list[str]:
    return [world.status_of(table, i) for i in ids]


def test_undo_of_a_revoke_puts_earns_and_enrolments_back_audited(world: World) -> None:
    shop = make_shop(world, earns_per_customer=5)
    people = shop.customers(2)
    made = enrolled_with_earns(shop, people, 2)
    earn_ids = [e for c in people for e in made[c.id][1:]]
    enrolment_ids = [made[c.id][0] for c in people]
    earns_revoke = revoke(shop, "REVOKE_EARN", [entry(c) for c in people])
    enrol_revoke = revoke(shop, "REVOKE_ENROL", [entry(c) for c in people])
    assert statuses(world, t.earns, earn_ids) == ["REVOKED"] * 4

    # Earns first: their enrolments are still revoked, so nothing goes back.
    response = undo(shop, {"requestId": earns_revoke})
    assert response.status_code == 200, response.text
    assert response.json() == answer(
        0, 0, *(("EARN", e, c.id, "NOT_ENROLLED") for c in people for e in made[c.id][1:])
    )
    assert statuses(world, t.earns, earn_ids) == ["REVOKED"] * 4

    response = undo(shop, {"requestId": enrol_revoke}, headers={"X-Request-ID": "undo-1"})
    assert response.status_code == 200, response.text
    assert response.json() == answer(2, 0)
    assert statuses(world, t.enrolments, enrolment_ids) == ["ACTIVE"] * 2

    response = undo(shop, {"requestId": earns_revoke}, headers={"X-Request-ID": "undo-2"})
    assert response.json() == answer(0, 4)
    assert statuses(world, t.earns, earn_ids) == ["ACTIVE"] * 4
    for row in world.rows(t.earns) + world.rows(t.enrolments):
        assert (row.ended_at, row.ended_by, row.ended_request_id) == (None, None, None)

    events = world.audit(action="REINSTATE_ENROL") + world.audit(action="REINSTATE_EARN")
    assert sorted((e.entity_type, e.entity_id) for e in events) == sorted(
        [("ENROLMENT", i) for i in enrolment_ids] + [("EARN", i) for i in earn_ids]
    )
    for event in events:
        assert (event.old_status, event.new_status) == ("REVOKED", "ACTIVE")
        assert (event.org_id, event.actor_kind, event.actor_id) == (
            shop.org,
            "TILL",
            shop.till.credential_id,
        )
        assert event.promotion_id == shop.promotion_id
        undone = enrol_revoke if event.entity_type == "ENROLMENT" else earns_revoke
        assert orjson.loads(event.detail) == {"reinstates": undone}
        assert event.request_id == ("undo-1" if event.entity_type == "ENROLMENT" else "undo-2")

    # The customers are whole again: the bulk API can revoke the reinstated earns.
    revoke(shop, "REVOKE_EARN", [entry(people[0], made[people[0].id][1:])])


def test_a_second_call_reinstates_nothing(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    [c] = shop.customers(1)
    _, *earns = enrolled_with_earns(shop, [c], 2)[c.id]
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    assert undo(shop, {"requestId": rid}).json() == answer(0, 2)
    audited = len(world.audit())

    response = undo(shop, {"requestId": rid})
    assert response.status_code == 200
    assert response.json() == answer(0, 0, *(("EARN", e, c.id, "ALREADY_ACTIVE") for e in earns))
    assert len(world.audit()) == audited
    assert statuses(world, t.earns, earns) == ["ACTIVE", "ACTIVE"]


def test_skips_an_item_that_expired_meanwhile(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    [c] = shop.customers(1)
    _, kept, lapsed = enrolled_with_earns(shop, [c], 2)[c.id]
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    with world.uow.write() as conn:
        conn.execute(
            update(t.earns)
            .where(t.earns.c.id == lapsed)
            .values(expires_at=utcnow() - timedelta(days=1))
        )

    assert undo(shop, {"requestId": rid}).json() == answer(0, 1, ("EARN", lapsed, c.id, "EXPIRED"))
    assert statuses(world, t.earns, [kept, lapsed]) == ["ACTIVE", "REVOKED"]


def test_skips_what_would_exceed_the_limit(world: World) -> None:
    shop = make_shop(world, earns_per_customer=2, enrolments_per_customer=5)
    [c, d] = shop.customers(2)
    made = enrolled_with_earns(shop, [c, d], 2)
    earns_rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    enrol_rid = revoke(shop, "REVOKE_EARN", [entry(d)])
    enrol_rid = revoke(shop, "REVOKE_ENROL", [entry(d)])
    # Since the revokes, c earned again (one slot of two used) and d enrolled again.
    newer_earn = shop.earn(c, made[c.id][0])
    newer_enrolment = shop.enrol(d)

    first, second = made[c.id][1:]
    assert undo(shop, {"requestId": earns_rid}).json() == answer(
        0, 1, ("EARN", second, c.id, "LIMIT")
    )
    assert statuses(world, t.earns, [first, second, newer_earn]) == [
        "ACTIVE",
        "REVOKED",
        "ACTIVE",
    ]
    # At most one ACTIVE enrolment: d's old one stays revoked although the limit is 5.
    assert undo(shop, {"requestId": enrol_rid}).json() == answer(
        0, 0, ("ENROLMENT", made[d.id][0], d.id, "LIMIT")
    )
    assert statuses(world, t.enrolments, [made[d.id][0], newer_enrolment]) == [
        "REVOKED",
        "ACTIVE",
    ]


def test_an_item_revoked_again_by_another_request_is_not_this_ones(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    [c] = shop.customers(1)
    _, earn = enrolled_with_earns(shop, [c], 1)[c.id]
    first = revoke(shop, "REVOKE_EARN", [entry(c)])
    assert undo(shop, {"requestId": first}).json() == answer(0, 1)
    second = revoke(shop, "REVOKE_EARN", [entry(c)])

    assert undo(shop, {"requestId": first}).json() == answer(
        0, 0, ("EARN", earn, c.id, "REVOKED_AGAIN")
    )
    assert world.status_of(t.earns, earn) == "REVOKED"
    assert undo(shop, {"requestId": second}).json() == answer(0, 1)


def test_dry_run_answers_the_same_and_writes_nothing(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    people = shop.customers(2)
    made = enrolled_with_earns(shop, people, 1)
    rid = revoke(shop, "REVOKE_EARN", [entry(c) for c in people])
    before = (world.rows(t.earns), world.audit())

    response = undo(shop, {"requestId": rid}, params={"dryRun": "true"})
    assert response.status_code == 200
    assert response.headers["X-Dry-Run"] == "true"
    assert response.json() == answer(0, 2)
    assert (world.rows(t.earns), world.audit()) == before

    assert undo(shop, {"requestId": rid}).json() == answer(0, 2)
    assert statuses(world, t.earns, [made[c.id][1] for c in people]) == ["ACTIVE"] * 2


def test_idempotency_key_replays_the_answer(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers(1)
    enrolled_with_earns(shop, [c], 1)
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    key = {"Idempotency-Key": "undo-once"}
    first = undo(shop, {"requestId": rid}, headers=key)
    again = undo(shop, {"requestId": rid}, headers=key)
    assert first.json() == again.json() == answer(0, 1)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(world.audit(action="REINSTATE_EARN")) == 1


def test_unknown_foreign_or_job_ids_are_404(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers(1)
    enrolled_with_earns(shop, [c], 1)
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    other = world.till(world.org("other"), access="customer:write")
    not_found = {"errors": [{"code": 9404, "message": "revoke request not found", "field": None}]}

    for body, caller in (
        ({"requestId": "never-sent"}, shop.till),
        ({"requestId": rid}, other),
        # The reinstatement's own request id names no revoke.
        ({"requestId": "undo-of-nothing"}, shop.till),
    ):
        response = undo(shop, body, caller=caller, headers={"X-Request-ID": "undo-of-nothing"})
        assert response.status_code == 404, response.text
        assert response.json() == not_found
    response = undo(shop, {"jobId": "job-1"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "job not found"
    assert world.status_of(t.earns, world.rows(t.earns)[0].id) == "REVOKED"
    assert world.audit(action="REINSTATE_EARN") == []


@pytest.mark.parametrize(
    "body",
    [{}, {"requestId": "a", "jobId": "b"}, {"requestId": ""}, {"requestId": 5}, {"other": "x"}],
)
def test_a_body_naming_not_exactly_one_target_is_422(world: World, body: Any) -> None:
    shop = make_shop(world)
    response = undo(shop, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == 9422


def test_needs_customer_write(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers(1)
    enrolled_with_earns(shop, [c], 1)
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    for access in ("customer:read,config:write", "customer:none,config:write"):
        caller = world.till(shop.org, access=access)
        response = undo(shop, {"requestId": rid}, caller=caller)
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == 4000
    response = world.client.post(UNDO, json={"requestId": rid})
    assert response.status_code == 401
    assert world.audit(action="REINSTATE_EARN") == []


def test_undo_of_revoke_direct_earn(world: World) -> None:
    shop = make_shop(world, type="DIRECT_ISSUE", earns_per_customer=2)
    people = shop.customers(2)
    issued = shop.post(shop.body("EARN", [entry(c) for c in people]), path=ENROL_AND_EARN)
    assert issued.status_code == 200, issued.text
    earn_ids = [int(e["result"]["earnedId"]) for e in issued.json()["response"]]
    rid = revoke(shop, None, [entry(c) for c in people], path=REVOKE_DIRECT)
    assert statuses(world, t.earns, earn_ids) == ["REVOKED"] * 2

    assert undo(shop, {"requestId": rid}).json() == answer(0, 2)
    assert statuses(world, t.earns, earn_ids) == ["ACTIVE"] * 2


def test_two_concurrent_undos_reinstate_each_item_once(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    people = shop.customers(5)
    made = enrolled_with_earns(shop, people, 2)
    rid = revoke(shop, "REVOKE_EARN", [entry(c) for c in people])
    barrier = threading.Barrier(2)

    def go(_: int) -> dict[str, Any]:
        barrier.wait(timeout=HANG_SECONDS)
        response = undo(shop, {"requestId": rid})
        assert response.status_code == 200, response.text
        return dict(response.json())

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(go, range(2)))

    earn_ids = sorted(e for c in people for e in made[c.id][1:])
    assert sorted(a["reinstated"]["earns"] for a in answers) == [0, 10]
    [loser] = [a for a in answers if a["reinstated"]["earns"] == 0]
    assert sorted(s["entityId"] for s in loser["skipped"]) == earn_ids
    assert {s["reason"] for s in loser["skipped"]} == {"ALREADY_ACTIVE"}
    assert statuses(world, t.earns, earn_ids) == ["ACTIVE"] * 10
    events = world.audit(action="REINSTATE_EARN")
    assert sorted(e.entity_id for e in events) == earn_ids


def test_cli_reinstates_and_dry_runs(world: World) -> None:
    shop = make_shop(world, earns_per_customer=3)
    [c] = shop.customers(1)
    _, earn = enrolled_with_earns(shop, [c], 1)[c.id]
    rid = revoke(shop, "REVOKE_EARN", [entry(c)])
    runner = CliRunner()
    base = ["--database-url", world.url, "reinstate", "--org", str(shop.org)]

    dry = runner.invoke(cli, [*base, "--request-id", rid, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert orjson.loads(dry.stdout) == answer(0, 1)
    assert world.status_of(t.earns, earn) == "REVOKED"

    done = runner.invoke(cli, [*base, "--request-id", rid])
    assert done.exit_code == 0, done.output
    assert orjson.loads(done.stdout) == answer(0, 1)
    assert world.status_of(t.earns, earn) == "ACTIVE"
    [event] = world.audit(action="REINSTATE_EARN")
    assert event.actor_kind == "OPERATOR"

    for args in (["--request-id", "nope"], ["--job-id", "j"]):
        missing = runner.invoke(cli, [*base, *args])
        assert missing.exit_code == 1
        assert "not found" in missing.output
    both = runner.invoke(cli, [*base, "--request-id", rid, "--job-id", "j"])
    assert both.exit_code == 2


def test_enrolments_go_back_first_so_their_earns_follow(world: World) -> None:
    """A client that sent one X-Request-ID on both revokes undoes both at once; the earns go
    back because the enrolment they were earned under goes back first."""
    shop = make_shop(world, earns_per_customer=3)
    [c] = shop.customers(1)
    enrolment, *earns = enrolled_with_earns(shop, [c], 2)[c.id]
    shared = {"X-Request-ID": "revoke-both"}
    for action in ("REVOKE_EARN", "REVOKE_ENROL"):
        response = shop.post(shop.body(action, [entry(c)]), headers=shared)
        assert response.json()["failureCount"] == 0, response.text

    assert undo(shop, {"requestId": "revoke-both"}).json() == answer(1, 2)
    assert statuses(world, t.enrolments, [enrolment]) == ["ACTIVE"]
    assert statuses(world, t.earns, earns) == ["ACTIVE", "ACTIVE"]
