"""`make bench` (jobs part): a campaign-scale REVOKE_EARN bulk job against the raw-SQL ceiling.

Starts the real server (`promoledger serve`, one job worker) on a fresh database, seeds N
customers through the admin API and gives each an enrolment and two earns in three identical
promotions (straight in SQL). Then:

1. submits a CSV of the N customers in RANDOM order as a REVOKE_EARN job and times it from
   submit to SUCCEEDED (the job's own clock), sampling the server's resident memory;
2. runs the same job on a second promotion while one client sends 100-customer bulk ENROL
   requests (--api-rate a second) on another promotion: their latency is the "API traffic
   while a job runs" figure;
3. does the same revoke work on a third promotion in plain SQL, batches of 100 in the same
   random order (bench/ceiling.py): the ceiling the quiet job is compared with;
4. runs the same job once more, in this process (the worker the CLI runs), on a fourth
   promotion, counting the statements each chunk sends (an SQLAlchemy event) and the worker
   thread's CPU time: a cost that, unlike the clock, a busy machine does not distort.

This is a measurement, not a test: it prints figures and never asserts on them. Targets for
1,000,000 rows: <= 120 s SQLite, <= 180 s PostgreSQL, >= 0.8 x the ceiling, server memory
growth <= 150 MB, bulk API p99 <= 250 ms while the job runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bulk
import ceiling
from sqlalchemy import event

from promoledger.domain.context import Context
from promoledger.jobs.worker import JobRunner
from promoledger.runtime import Runtime
from promoledger.services import jobs as job_service
from promoledger.settings import Settings
from promoledger.store.engine import build_engine

ROOT = Path(__file__).resolve().parent.parent


def write_file(ids: list[int], seed: int) -> Path:
    order = random.Random(seed).sample(ids, len(ids))
    path = Path(tempfile.mkstemp(prefix="promoledger-job-", suffix=".csv")[1])
    with path.open("w") as handle:
        handle.write("identifierValue\n")
        handle.writelines(f"{c}\n" for c in order)
    return path


def traffic(
    base: str,
    headers: dict[str, str],
    bodies: list[dict[str, Any]],
    stop: threading.Event,
    rate: float,
) -> list[float]:
    """Bulk requests at ``rate`` a second until ``stop``; each one's milliseconds."""
    latencies: list[float] = []
    send = {**headers, "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=send, timeout=120) as client:
        for body in bodies:
            if stop.wait(1 / rate):
                break
            started = time.perf_counter()
            client.post(bulk.ENROL_EARN, content=orjson.dumps(body))
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def family_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (serve's worker processes), in MB."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    family, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return sum(bulk.proc_status_mb(p, "VmRSS") for p in family)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_job(
    server: bulk.Server, s: bulk.Setup, promo: int, path: Path, traffic_of: list[Any] | None
) -> dict[str, Any]:
    """Submit the file as a REVOKE_EARN job on ``promo`` and wait for its end; with
    ``traffic_of`` (bodies, rate) bulk API requests are sent while it runs."""
    rss_before = family_rss_mb(server.proc.pid)
    stop = threading.Event()
    latencies: list[float] = []
    sender = None
    if traffic_of is not None:
        bodies, rate = traffic_of
        sender = threading.Thread(
            target=lambda: latencies.extend(traffic(server.base, s.headers, bodies, stop, rate))
        )
    started = time.perf_counter()
    with path.open("rb") as handle:
        answer = httpx.post(
            f"{server.base}/admin/v1/jobs",
            params={
                "action": "REVOKE_EARN",
                "programId": s.program_id,
                "promotionId": promo,
                "identifierName": "id",
            },
            content=handle,
            headers={**s.headers, "Content-Type": "text/csv"},
            timeout=600,
        )
    answer.raise_for_status()
    uploaded = time.perf_counter() - started
    job_id = answer.json()["id"]
    if sender is not None:
        sender.start()
    rss_peak = rss_before
    with httpx.Client(base_url=server.base, headers=s.headers, timeout=120) as client:
        while True:
            shown = client.get(f"/admin/v1/jobs/{job_id}").json()
            rss_peak = max(rss_peak, family_rss_mb(server.proc.pid))
            if shown["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            time.sleep(0.1)
    stop.set()
    if sender is not None:
        sender.join()
    # The job's own clock: from its submit to its last chunk's commit.
    seconds = (
        datetime.fromisoformat(shown["finishedAt"]) - datetime.fromisoformat(shown["createdAt"])
    ).total_seconds()
    rows = shown["total"]
    out = {
        "status": shown["status"],
        "failed_rows": shown["failed"],
        "upload_seconds": round(uploaded, 2),
        "job_seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "server_rss_mb_before": round(rss_before, 1),
        "server_rss_growth_mb": round(rss_peak - rss_before, 1),
    }
    if traffic_of is not None:
        out |= {
            "api_requests_during_job": len(latencies),
            "api_p50_ms": round(pct(latencies, 0.5), 1),
            "api_p99_ms": round(pct(latencies, 0.99), 1),
        }
    return out


def job_cost(url: str, s: bulk.Setup, promo: int, path: Path, chunk_rows: int) -> dict[str, Any]:
    """The job again, run in this thread: statements per chunk and worker CPU per 1,000 rows."""
    runtime = Runtime.build(Settings(database_url=url, job_workers=0))
    try:
        operator = Context.operator(s.org_id)
        with path.open("rb") as handle:
            job = job_service.submit(
                runtime.uow,
                operator,
                request=job_service.JobRequest(
                    "REVOKE_EARN", str(s.program_id), str(promo), None, "id"
                ),
                content_type="text/csv",
                body=iter(lambda: handle.read(1 << 20), b""),
                max_bytes=1 << 40,
                chunk_rows=chunk_rows,
            )
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(runtime.engine, "before_cursor_execute", count)
        cpu, wall = time.thread_time(), time.perf_counter()
        JobRunner(runtime.uow, lease_seconds=600).run_next(job.id)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        event.remove(runtime.engine, "before_cursor_execute", count)
        done = job_service.get(runtime.uow, operator, job.public_id)
        chunks = -(-done.total // chunk_rows)
        return {
            "status": done.status.value,
            "statements_per_chunk": round(statements / chunks, 1),
            "worker_cpu_ms_per_1000_rows": round(cpu / done.total * 1e6, 1),
            "in_process_rows_per_second": round(done.total / wall),
        }
    finally:
        runtime.close()


def run(database: str, args: argparse.Namespace) -> dict[str, Any]:
    # A database of this run's own: another run of this benchmark may be going on meanwhile.
    with bulk.fresh_database(database, f"jobs_{os.getpid()}") as url:
        bulk.cli_upgrade(url)
        env = {
            "PROMOLEDGER_JOB_WORKERS": "1",
            "PROMOLEDGER_JOB_CHUNK_ROWS": str(args.chunk_rows),
        }
        server = bulk.Server(url, env)
        try:
            s = bulk.setup(url, server, args.rows)
            with httpx.Client(base_url=server.base, headers=s.headers, timeout=120) as client:
                alone, busy, by_sql, api, in_process = (
                    bulk.promotion(client, s.program_id, "ENROL_AND_ISSUE", 2) for _ in range(5)
                )
            engine = build_engine(Settings(database_url=url))
            for promo in (alone, busy, by_sql, in_process):
                bulk.seed_ledger_sql(engine, s.org_id, promo, s.customer_ids, earns_each=2)
            engine.dispose()
            path = write_file(s.customer_ids, seed=args.seed)
            bodies = bulk.bulk_bodies(s.customer_ids, s.program_id, api, "ENROL", 100)
            quiet = run_job(server, s, alone, path, None)
            loaded = run_job(server, s, busy, path, [bodies, args.api_rate])
        finally:
            server.stop()
        try:
            cost = job_cost(url, s, in_process, path, args.chunk_rows)
        finally:
            path.unlink(missing_ok=True)
        batches = bulk.random_batches(s.customer_ids, 100, seed=args.seed)
        ceiling_seconds, _ = ceiling.run(
            url, ceiling.PHASES["REVOKE_EARN"], s.org_id, s.program_id, by_sql, batches
        )
    result = {
        "database": database,
        "rows": args.rows,
        "chunk_rows": args.chunk_rows,
        "ceiling_seconds": round(ceiling_seconds, 2),
        "job_alone": quiet | {"ratio_to_ceiling": round(ceiling_seconds / quiet["job_seconds"], 3)},
        "job_with_api_traffic": loaded | {"api_rate": args.api_rate},
        "job_cost": cost,
    }
    print(json.dumps(result))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--rows", type=int, default=50_000, help="customers = rows in the file")
    p.add_argument("--chunk-rows", type=int, default=500)
    p.add_argument(
        "--api-rate", type=float, default=10.0, help="bulk API requests a second during the job"
    )
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "jobs.json")
    args = p.parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": [run(d, args) for d in databases],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
