"""``kill -9`` in the middle of a stream of bulk writes, then restart: nothing acknowledged is
lost, nothing is half-applied, the database is intact, and every retry completes exactly once.

The stream runs from several client threads against a real ``promoledger serve``: for each
fresh chunk of customers ENROL, then EARN, then REVOKE_EARN of the earned ids (no
Idempotency-Key: limits of 1 and the revoke's own rules make retries safe), and directEarn on
an unlimited promotion *with* an Idempotency-Key (only the key can stop a double earn there).
Every request carries its own X-Request-ID, so the audit tells, per request, whether it was
applied: all of its entries or none.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from sqlalchemy import update

from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support import invariants as inv
from tests.support.db import pg_only, wait_until_blocked
from tests.support.factories import Caller, Customer, World, bulk_body
from tests.support.servers import Server
from tests.support.waiting import HANG_SECONDS

pytestmark = pytest.mark.slow

THREADS = 4
CHUNK = 4  # customers per request
CHUNKS_PER_THREAD = 12  # bounds the stream even if the kill came late
KILL_AFTER_ACKS = 24
# The restarted server's PROMOLEDGER_IDEMPOTENCY_STALE_SECONDS: longer than any restart could
# take, so a claim the killed process left is always fresh at the first retry, whatever the
# machine's speed; the test then ages that claim past the window itself (as time would).
CLAIM_STALE_SECONDS = 3600


@dataclass
class Sent:
    path: str
    body: dict[str, Any]
    request_id: str
    expected_events: int  # ledger audit events the request writes when applied
    key: str | None = None
    answer: dict[str, Any] | None = None  # the 200 body, when acknowledged
    chunk: list[Customer] = field(default_factory=list)


@dataclass
class Stream:
    till: Caller
    program: int
    limited: Any  # ENROL_AND_ISSUE, 1 enrolment and 1 earn per customer
    unlimited: Any  # DIRECT_ISSUE, unlimited earns
    chunks: Iterator[list[Customer]]
    sent: list[Sent] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)
    acked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def body(self, promo: Any, action: str | None, chunk: list[Customer]) -> Any:
        return bulk_body(self.program, promo, [c.id for c in chunk], action=action, source=None)

    def send(self, http: httpx2.Client, request: Sent) -> dict[str, Any] | None:
        headers = {**self.till.headers, "X-Request-ID": request.request_id}
        if request.key:
            headers["Idempotency-Key"] = request.key
        with self.lock:
            self.sent.append(request)
            self.in_flight.add(request.request_id)
        try:
            response = http.post(request.path, json=request.body, headers=headers)
        except httpx2.HTTPError:
            self.stop.set()
            return None  # the server died under this request: it stays in flight
        assert response.status_code == 200, response.text
        with self.lock:
            self.in_flight.discard(request.request_id)
            request.answer = response.json()
            self.acked += 1
        return request.answer

    def run(self, base_url: str) -> None:
        with httpx2.Client(base_url=base_url, timeout=HANG_SECONDS) as http:
            for _ in range(CHUNKS_PER_THREAD):
                if self.stop.is_set():
                    return
                with self.lock:
                    chunk = next(self.chunks)
                keyed = Sent(
                    inv.DIRECT_PATH,
                    self.body(self.unlimited, None, chunk),
                    _rid(),
                    2 * CHUNK,  # fresh customers: each earn and each one's dummy enrolment
                    key=f"crash-{uuid.uuid4().hex}",
                    chunk=chunk,
                )
                if self.send(http, keyed) is None:
                    return
                enrol = Sent(inv.ENROL_PATH, self.body(self.limited, "ENROL", chunk), _rid(), CHUNK)
                if self.send(http, enrol) is None:
                    return
                earn = Sent(inv.ENROL_PATH, self.body(self.limited, "EARN", chunk), _rid(), CHUNK)
                answer = self.send(http, earn)
                if answer is None:
                    return
                earned = [int(e["result"]["earnedId"]) for e in answer["response"]]
                revoke = self.body(self.limited, "REVOKE_EARN", chunk)
                for item, earn_id in zip(revoke["customers"], earned, strict=True):
                    item["earnIds"] = [earn_id]
                if self.send(http, Sent(inv.REVOKE_PATH, revoke, _rid(), CHUNK)) is None:
                    return


def _rid() -> str:
    return f"crash-{uuid.uuid4().hex}"


def _post(server: Server, stream: Stream, request: Sent) -> httpx2.Response:
    headers = {**stream.till.headers, "X-Request-ID": f"retry-{uuid.uuid4().hex}"}
    if request.key:
        headers["Idempotency-Key"] = request.key
    with server.client() as http:
        return http.post(request.path, json=request.body, headers=headers)


def test_kill_9_mid_stream_loses_nothing_and_retries_complete_exactly_once(
    world: World, database_url: str, tmp_path: Path
) -> None:
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    limited = world.promotion(org, program, enrolments_per_customer=1, earns_per_customer=1)
    unlimited = world.promotion(
        org, program, type="DIRECT_ISSUE", enrolments_per_customer=-1, earns_per_customer=-1
    )
    people = world.customers(org, program, THREADS * CHUNKS_PER_THREAD * CHUNK)
    chunks = iter([people[i : i + CHUNK] for i in range(0, len(people), CHUNK)])
    stream = Stream(till, program, limited, unlimited, chunks)

    server = Server(database_url).start(tmp_path)
    threads = [threading.Thread(target=stream.run, args=(server.url,)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    # Kill once enough is acknowledged and every thread waits on the server: checked and done
    # under the stream's lock, so no answer can be recorded in between.
    while True:
        with stream.lock:
            if stream.acked >= KILL_AFTER_ACKS and len(stream.in_flight) == THREADS:
                acked_before_kill = stream.acked
                server.kill_9()
                break
        assert all(thread.is_alive() for thread in threads), "a stream thread ended early"
        time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=HANG_SECONDS)
        assert not thread.is_alive()
    unanswered = [s for s in stream.sent if s.answer is None]
    print(  # the numbers for the report (pytest -s)
        f"\n[{world.runtime.engine.dialect.name}] killed with {len(unanswered)} requests in "
        f"flight after {acked_before_kill} acknowledged ({len(stream.sent)} sent)"
    )
    assert acked_before_kill >= KILL_AFTER_ACKS
    assert unanswered, "the kill must land while requests are in flight"

    # Restart; nothing acknowledged is lost, nothing is half-applied, the database is intact.
    restarted = Server(
        database_url, env={"PROMOLEDGER_IDEMPOTENCY_STALE_SECONDS": str(CLAIM_STALE_SECONDS)}
    ).start(tmp_path)
    try:
        ack = inv.Acknowledged()
        for request in stream.sent:
            if request.answer is not None:
                ack.add(request.path, request.body, request.answer)
        inv.check(database_url, ack)
        applied = inv.events_per_request(database_url)
        for request in stream.sent:
            if request.answer is not None:
                assert applied[request.request_id] == request.expected_events
            else:
                assert applied[request.request_id] in (0, request.expected_events), request

        half = sum(1 for r in unanswered if applied[r.request_id])
        # Retry every unanswered request the way a client would.
        aged = [_retry(world, restarted, stream, request) for request in unanswered]
        print(
            f"  of those, {half} had committed before the kill; {sum(aged)} retries met a "
            "dead claim (409) and ran once it was aged past the stale window"
        )

        ack_after = inv.check(database_url, ack)
        assert ack_after["EARN"] >= len(ack.earns)
        _exactly_one_each(world, stream)
        # A second retry of a keyed request replays the stored answer and changes nothing.
        keyed = [r for r in stream.sent if r.key]
        before = inv.table_counts(database_url)
        replay = _post(restarted, stream, keyed[0])
        assert replay.status_code == 200
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert inv.table_counts(database_url) == before
    finally:
        restarted.stop()


def _retry(world: World, server: Server, stream: Stream, request: Sent) -> bool:
    """Retry as a client would. A keyed request whose claim the killed process left RUNNING is
    refused (409, the claim is fresh) until the claim is stale; the test ages it past the window
    instead of waiting, and the next retry runs (or replays) exactly once. True if it had to."""
    response = _post(server, stream, request)
    aged = response.status_code == 409 and request.key is not None
    if aged:
        assert response.json()["errors"][0]["code"] == 9432, response.text
        assert request.key is not None
        _age_claim(world, request.key)
        response = _post(server, stream, request)
    assert response.status_code == 200, response.text
    answer = response.json()
    for entry in answer["response"]:
        if request.path == inv.REVOKE_PATH:
            # Revoked by the killed attempt (8903 now) or by this retry: never twice.
            assert entry.get("result") or entry["errors"][0]["code"] == 8903, entry
        elif request.key is None:
            # Committed by the killed attempt: the limit turns the retry away (8890).
            assert entry.get("result"), entry
        else:
            assert "earnedId" in entry["result"], entry
    return aged


def _age_claim(world: World, key: str) -> None:
    """Move a RUNNING Idempotency-Key claim's start back past the stale window."""
    claims = t.idempotency_keys
    with world.uow.write() as conn:
        aged = conn.execute(
            update(claims)
            .where(claims.c.key == key, claims.c.state == "RUNNING")
            .values(created_at=utcnow() - timedelta(seconds=CLAIM_STALE_SECONDS + 1))
        ).rowcount
    assert aged == 1, key


def _exactly_one_each(world: World, stream: Stream) -> None:
    """Each customer the stream touched holds exactly what one application of each request
    gives: one earn on the unlimited promotion (only the key prevents a second), one enrolment
    and one earn on the limited one."""
    for request in stream.sent:
        for customer in request.chunk:
            earns = world.rows(t.earns, customer_id=customer.id, promotion_id=stream.unlimited.id)
            assert len(earns) == 1, (customer.id, earns)
            # ...issued under exactly one direct-issue dummy enrolment.
            dummies = world.rows(
                t.enrolments, customer_id=customer.id, promotion_id=stream.unlimited.id
            )
            assert [d.id for d in dummies] == [earns[0].enrolment_id], (customer.id, dummies)
    enrol_sent = {
        int(c["identifierValue"])
        for r in stream.sent
        if r.body.get("bulkAction") == "ENROL"
        for c in r.body["customers"]
    }
    for customer_id in enrol_sent:
        enrolments = world.rows(
            t.enrolments, customer_id=customer_id, promotion_id=stream.limited.id
        )
        assert len(enrolments) == 1
    earn_sent = {
        int(c["identifierValue"])
        for r in stream.sent
        if r.body.get("bulkAction") == "EARN"
        for c in r.body["customers"]
    }
    for customer_id in earn_sent:
        rows = world.rows(t.earns, customer_id=customer_id, promotion_id=stream.limited.id)
        assert len(rows) == 1, (customer_id, rows)


@pg_only
def test_a_keyed_request_killed_after_its_claim_is_taken_over_once_stale(
    world: World, database_url: str, tmp_path: Path
) -> None:
    """Deterministic version of the worst case: the key is claimed (committed), the request is
    inside its write transaction (blocked on a customer row lock the test holds) when the
    server is killed. The retry is refused (409) while the dead claim is fresh, then runs
    exactly once."""
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    promo = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=-1)
    people = world.customers(org, program, 3)
    body = bulk_body(program, promo, [c.id for c in people], action=None, source=None)
    headers = {**till.headers, "Idempotency-Key": "killed-mid-flight"}
    server = Server(database_url).start(tmp_path)
    holder = psycopg.connect(database_url)
    try:
        holder.execute("SELECT id FROM customers WHERE id = %s FOR UPDATE", (people[0].id,))
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(lambda: server.post(inv.DIRECT_PATH, json=body, headers=headers))
            wait_until_blocked(database_url)
            server.kill_9()
            with pytest.raises(httpx2.HTTPError):
                pending.result(timeout=HANG_SECONDS)
    finally:
        holder.rollback()
        holder.close()
    assert [r.state for r in world.rows(t.idempotency_keys)] == ["RUNNING"]
    assert world.rows(t.earns) == []

    # The first retry meets a fresh claim whatever the machine's speed (CLAIM_STALE_SECONDS);
    # the test then ages the dead claim past the window itself instead of waiting for the clock.
    restarted = Server(
        database_url, env={"PROMOLEDGER_IDEMPOTENCY_STALE_SECONDS": str(CLAIM_STALE_SECONDS)}
    ).start(tmp_path)
    try:
        first = restarted.post(inv.DIRECT_PATH, json=body, headers=headers)
        assert first.status_code == 409, first.text
        assert first.json()["errors"][0]["code"] == 9432
        with psycopg.connect(database_url, autocommit=True) as conn:
            aged = conn.execute(
                "UPDATE idempotency_keys SET created_at = created_at - %s * interval '1 second' "
                "WHERE key = %s AND state = 'RUNNING'",
                (CLAIM_STALE_SECONDS + 1, "killed-mid-flight"),
            ).rowcount
        assert aged == 1
        retry = restarted.post(inv.DIRECT_PATH, json=body, headers=headers)
        assert retry.status_code == 200, retry.text
        assert "Idempotent-Replayed" not in retry.headers
        replay = restarted.post(inv.DIRECT_PATH, json=body, headers=headers)
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.content == retry.content
    finally:
        restarted.stop()
    assert sorted(r.customer_id for r in world.rows(t.earns)) == [c.id for c in people]
    inv.check(database_url)
