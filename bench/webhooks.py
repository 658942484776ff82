"""`make bench` (part 2): the webhook dispatcher's drain rate, and what the outbox costs a bulk
revoke.

1. Revoke CPU: on a fresh SQLite file (or --database-url), enrol then revoke 100 customers per
   round through the services (no HTTP), and sum ``time.process_time()`` over the revoke calls
   only: with the outbox as shipped, and with event collection switched off (the code before
   the outbox), alternating call by call so a busy machine affects both alike; medians. The
   CPU spent inside the outbox itself (collect + flush) is measured too: on a busy machine it
   is the steadier figure (SQLite's commit also writes the events' pages, which it misses).
2. Drain: a local HTTP receiver (answers 204), one endpoint subscribed to everything, replayed
   from event 0; the time ``Dispatcher.drain_all`` takes to deliver every event.

A measurement, not a test: it prints figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from promoledger.domain.bulk import ENROL_AND_EARN_ACTIONS, REVOKE_ACTIONS, parse_bulk_request
from promoledger.domain.context import Context
from promoledger.runtime import Runtime
from promoledger.services import enrol_earn, revoke, webhooks
from promoledger.settings import Settings
from promoledger.store import outbox
from promoledger.store import tables as t
from promoledger.store.schema import upgrade
from promoledger.store.types import utcnow
from promoledger.webhooks.dispatcher import Dispatcher

BATCH = 100


def seed(runtime: Runtime, customers: int) -> tuple[int, int, int, list[int]]:
    now = utcnow()
    with runtime.uow.write() as conn:
        org = conn.execute(
            insert(t.orgs).values(name="bench", created_at=now).returning(t.orgs.c.id)
        ).scalar_one()
        program = conn.execute(
            insert(t.programs)
            .values(org_id=org, name="p", created_at=now)
            .returning(t.programs.c.id)
        ).scalar_one()
        promotion = conn.execute(
            insert(t.promotions)
            .values(
                org_id=org,
                program_id=program,
                identifier="bench",
                name="bench",
                type="ENROL_AND_ISSUE",
                active=True,
                enrolments_per_customer=-1,
                earns_per_customer=-1,
                created_at=now,
                updated_at=now,
            )
            .returning(t.promotions.c.id)
        ).scalar_one()
        ids = list(
            conn.execute(
                insert(t.customers).returning(t.customers.c.id),
                [
                    {"org_id": org, "external_id": f"b{i}", "created_at": now}
                    for i in range(customers)
                ],
            ).scalars()
        )
        conn.execute(
            insert(t.program_members),
            [{"program_id": program, "customer_id": c, "joined_at": now} for c in ids],
        )
        conn.execute(
            insert(t.customer_sources), [{"customer_id": c, "source": "INSTORE"} for c in ids]
        )
    return int(org), int(program), int(promotion), [int(i) for i in ids]


def body(program: int, promotion: int, customers: list[int], action: str) -> dict[str, Any]:
    return {
        "type": "CUSTOMER",
        "bulkAction": action,
        "identifierName": "id",
        "promotionDetails": {"programId": program, "promotionId": promotion},
        "customers": [{"identifierValue": str(c), "source": "INSTORE"} for c in customers],
    }


def revoke_cpu(runtime: Runtime, rounds: int, block: int) -> dict[str, float]:
    org, program, promotion, ids = seed(runtime, BATCH)
    ctx = Context(org_id=org, actor_kind="SYSTEM")
    enrol = parse_bulk_request(
        body(program, promotion, ids, "ENROL"), actions=ENROL_AND_EARN_ACTIONS, batch_limit=BATCH
    )
    undo = parse_bulk_request(
        body(program, promotion, ids, "REVOKE_ENROL"),
        actions=REVOKE_ACTIONS,
        batch_limit=BATCH,
        with_earn_ids=True,
    )
    spent: dict[str, list[float]] = {"with outbox": [], "without outbox": []}
    real_collect, real_flush = outbox.collect, outbox.flush
    inside = [0.0]  # CPU spent in the outbox itself during the revoke calls

    def timed(fn: Any) -> Any:
        def run(*a: Any, **k: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                inside[0] += time.process_time() - started

        return run

    for n in range(rounds):
        label = "with outbox" if (n // block) % 2 == 0 else "without outbox"
        outbox.collect = real_collect if label == "with outbox" else (lambda *a, **k: None)  # type: ignore[assignment]
        try:
            enrol_earn.enrol_and_earn(runtime.uow, ctx, request=enrol)
            if label == "with outbox":
                outbox.collect, outbox.flush = timed(real_collect), timed(real_flush)  # type: ignore[method-assign]
            started = time.process_time()
            result = revoke.revoke(runtime.uow, ctx, request=undo)
            spent[label].append(time.process_time() - started)
        finally:
            outbox.collect, outbox.flush = real_collect, real_flush  # type: ignore[method-assign]
        assert len(result.outcomes) == BATCH
    out = {k: statistics.median(v) * 1000 for k, v in spent.items()}
    out["in the outbox"] = inside[0] / len(spent["with outbox"]) * 1000  # a mean
    return out


@contextmanager
def receiver() -> Iterator[tuple[str, list[int]]]:
    got = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            got[0] += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def drain_rate(runtime: Runtime) -> tuple[int, float, int]:
    with runtime.uow.read() as conn:
        org = conn.execute(select(func.min(t.orgs.c.id))).scalar_one()
        total = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
    with receiver() as (url, posts):
        ctx = Context(org_id=org, actor_kind="OPERATOR")
        endpoint, _ = webhooks.create_endpoint(
            runtime.uow,
            ctx,
            master=webhooks.master_key(runtime.settings),
            url=url,
            event_types=["*"],
            allow_private=True,
        )
        webhooks.replay(runtime.uow, ctx, endpoint_id=endpoint.id, after=0)
        started = time.perf_counter()
        asyncio.run(Dispatcher(runtime).drain_all())
        elapsed = time.perf_counter() - started
    return int(total), elapsed, posts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--rounds", type=int, default=200, help="revoke calls (100 customers)")
    parser.add_argument("--block", type=int, default=1, help="rounds per A/B block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(
            database_url=url,
            webhook_allow_private_networks=True,
            token_key_file=str(Path(tmp) / "key"),
        )
        runtime = Runtime.build(settings)
        try:
            upgrade(runtime.engine)
            cpu = revoke_cpu(runtime, args.rounds, args.block)
            print(
                f"revoke of {BATCH} customers, median CPU per call (process_time, {args.rounds} calls):"
            )
            for label, ms in cpu.items():
                print(f"  {label:15} {ms:7.2f} ms")
            change = (cpu["with outbox"] / cpu["without outbox"] - 1) * 100
            share = cpu["in the outbox"] / cpu["with outbox"] * 100
            print(f"  A/B difference  {change:+7.1f} %")
            print(f"  measured inside the outbox (collect + flush): {share:.1f} % of the call")
            events, seconds, posts = drain_rate(runtime)
            print(
                f"webhook drain: {events} events in {posts} POSTs, {seconds:.2f} s "
                f"= {events / seconds:,.0f} events/s"
            )
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
