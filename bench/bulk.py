"""`make bench`: promoledger's bulk throughput against the database's own ceiling.

Starts the real server (`promoledger serve`) on a fresh database, seeds customers through the
public APIs, and drives the bulk endpoints with C concurrent keep-alive clients in batches of
100: enrol, earn (twice), revoke earns, revoke enrolments. Then it does the same revoke work
straight on the same database with plain SQL (the ceiling) and prints the ratio. Optional:
Basic vs OAuth on the revoke path (--auth-compare) and how the revoke figure grows with the
number of stored customers (--scale 10000,100000,1000000).

This is a measurement, not a test: it prints figures and never asserts on them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import Engine, insert, select, text

from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.store.engine import build_engine, is_sqlite

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ceiling

ROOT = Path(__file__).resolve().parent.parent
PROMOLEDGER = str(Path(sys.executable).parent / "promoledger")
PG_ADMIN = os.environ.get("PROMOLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TILL_CODE, TILL_PASSWORD = "bench-till", "bench-password"
REVOKE = "/v2/promotion/bulk/revokeEnrolAndEarn"
ENROL_EARN = "/v2/promotion/bulk/enrolAndEarn"


# --- plumbing ---------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    customers: int
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    failures: int = 0
    server_cpu_ms: float = 0.0  # server process CPU time per request (user + system)
    server_rss_mb: float = 0.0  # server resident memory when the phase ended
    server_peak_mb: float = 0.0  # the server's peak resident memory so far (VmHWM)

    @property
    def per_second(self) -> float:
        return self.customers / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        return (
            f"  {self.name:<28} {self.per_second:>10,.0f} cust/s   p50 {self.pct(0.50):6.1f} ms"
            f"   p99 {self.pct(0.99):6.1f} ms   {self.requests:>5} req"
            + (f"   server CPU {self.server_cpu_ms:5.1f} ms/req" if self.server_cpu_ms else "")
            + (
                f"   RSS {self.server_rss_mb:4.0f} MB (peak {self.server_peak_mb:4.0f})"
                if self.server_rss_mb
                else ""
            )
            + (f"   FAILURES {self.failures}" if self.failures else "")
        )

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("latencies_ms")
        out.update(per_second=round(self.per_second), p50_ms=self.pct(0.5), p99_ms=self.pct(0.99))
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(kind: str, tag: str) -> Iterator[str]:
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"promoledger-bench-{tag}-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"promoledger_bench_{tag}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cli(url: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [PROMOLEDGER, "--database-url", url, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


ACCESS = "customer:write,config:write"


def org_with_till(url: str, name: str) -> dict[str, Any]:
    """An org and the bench's till (Basic credentials), in one CLI call."""
    return cli(
        url,
        "org",
        "create",
        "--name",
        name,
        "--till-code",
        TILL_CODE,
        "--till-password",
        TILL_PASSWORD,
        "--till-access",
        ACCESS,
    )


class Server:
    """`promoledger serve` in a child process; peak memory read from /proc (VmHWM)."""

    profile: Path | None = None  # set by --profile: record the server with py-spy
    workers: int | None = None  # set by --workers: `serve --workers N` (default: serve's own)

    def __init__(self, url: str, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PROMOLEDGER_DATABASE_URL": url, **(extra_env or {})}
        self.spy: subprocess.Popen[bytes] | None = None
        # The server's log (an access line per request) goes to a file: a pipe nobody reads
        # fills up and stalls the server.
        self.log = Path(tempfile.mkstemp(prefix="promoledger-bench-", suffix=".log")[1])
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [PROMOLEDGER, "serve", "--port", str(self.port)]
                + (["--workers", str(Server.workers)] if Server.workers else []),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    self._attach_profiler()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become ready in 30 s")

    def _attach_profiler(self) -> None:
        if Server.profile is None:
            return
        spy = str(Path(sys.executable).parent / "py-spy")
        self.spy = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.proc.pid),
                "--gil",  # only the thread holding the GIL: where the CPU goes
                "--format",
                "raw",
                "--rate",
                "200",
                "--output",
                str(Server.profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        Server.profile = None  # profile the first (main-run) server only

    def peak_rss_mb(self) -> float:
        return proc_status_mb(self.proc.pid, "VmHWM")

    def stop(self) -> None:
        self.log.unlink(missing_ok=True)
        if self.spy is not None:
            self.spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            self.spy.wait(30)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def basic_headers() -> dict[str, str]:
    md5 = hashlib.md5(TILL_PASSWORD.encode(), usedforsecurity=False).hexdigest()
    token = base64.b64encode(f"{TILL_CODE}:{md5}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def drive(
    name: str,
    base: str,
    headers: dict[str, str],
    path: str,
    bodies: list[dict[str, Any]],
    clients: int,
    server_pid: int | None = None,
) -> Phase:
    """Send every body from `clients` keep-alive connections; time each request."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    # Encode up front: the client shares the machine's two cores with the server.
    queue = iter([orjson.dumps(b) for b in bodies])
    send_headers = {**headers, "Content-Type": "application/json"}

    def worker() -> None:
        nonlocal failures
        client = httpx.Client(base_url=base, headers=send_headers, timeout=60)
        while True:
            with lock:
                body = next(queue, None)
            if body is None:
                break
            started = time.perf_counter()
            response = client.post(path, content=body)
            elapsed = (time.perf_counter() - started) * 1000
            bad = (
                response.status_code != 200
                or orjson.loads(response.content).get("failureCount", 1) != 0
            )
            with lock:
                latencies.append(elapsed)
                failures += int(bad)
        client.close()

    # Warm up outside the clock: the first Basic request pays the slow password hash (then the
    # verified secret is cached), and each worker's first statements compile.
    with httpx.Client(base_url=base, headers=send_headers, timeout=60) as warm:
        warm.get("/admin/v1/programs")
    cpu_before = process_cpu_seconds(server_pid)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    seconds = time.perf_counter() - started
    cpu_ms = (process_cpu_seconds(server_pid) - cpu_before) * 1000 / max(len(bodies), 1)
    customers = sum(len(b["customers"]) for b in bodies)
    rss = proc_status_mb(server_pid, "VmRSS") if server_pid else 0.0
    peak = proc_status_mb(server_pid, "VmHWM") if server_pid else 0.0
    return Phase(name, customers, len(bodies), seconds, latencies, failures, cpu_ms, rss, peak)


def proc_status_mb(pid: int, field_name: str) -> float:
    """A memory figure (VmRSS, VmHWM) of a process from /proc, in MB (0 when unknown)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process and its children (serve's worker processes), from /proc."""
    if pid is None:
        return 0.0
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    family, grew = {pid}, True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    ticks = sum(stats[p][1] for p in family if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def random_batches(ids: list[int], batch: int, seed: int) -> list[list[int]]:
    """Batches of `batch` customers drawn in random order, as real revoke batches are: ids in
    order would let every batch touch neighbouring rows (and flatter every figure)."""
    shuffled = random.Random(seed).sample(ids, len(ids))
    return [shuffled[i : i + batch] for i in range(0, len(shuffled), batch)]


def bulk_bodies(
    ids: list[int], program_id: int, promotion_id: int, action: str | None, batch: int
) -> list[dict[str, Any]]:
    """One Capillary bulk body per random batch (the seed follows the phase's action)."""
    bodies = []
    for chunk in random_batches(ids, batch, seed=_seed(action)):
        body: dict[str, Any] = {
            "type": "CUSTOMER",
            "promotionDetails": {"programId": program_id, "promotionId": promotion_id},
            "identifierName": "id",
            "customers": [{"identifierValue": str(c), "source": "INSTORE"} for c in chunk],
        }
        if action:
            body["bulkAction"] = action
        bodies.append(body)
    return bodies


def _seed(action: str | None) -> int:
    return sum(map(ord, action or "DIRECT"))


# --- setup through the public APIs -----------------------------------------------------------
@dataclass
class Setup:
    org_id: int
    program_id: int
    headers: dict[str, str]
    oauth_headers: dict[str, str]
    customer_ids: list[int]
    seed_seconds: float


def admin(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"{path} → {response.status_code} {response.text[:500]}")
    return dict(response.json())


def promotion(client: httpx.Client, program_id: int, type_: str, earns: int) -> int:
    body = {
        "name": f"bench {type_} {time.monotonic_ns()}",
        "type": type_,
        "limits": {"enrolmentsPerCustomer": 1, "earnsPerCustomer": earns},
    }
    return int(admin(client, f"/admin/v1/programs/{program_id}/promotions", body)["id"])


def setup(url: str, server: Server, n: int) -> Setup:
    org = org_with_till(url, "bench")
    oauth = cli(
        url, "client", "create", "--org", str(org["id"]), "--name", "bench", "--access", ACCESS
    )
    headers = basic_headers()
    token = httpx.post(
        f"{server.base}/v3/oauth/token/generate",
        json={"key": oauth["key"], "secret": oauth["secret"]},
    ).json()["data"]["accessToken"]
    with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
        program_id = int(admin(client, "/admin/v1/programs", {"name": "bench"})["id"])
        started = time.perf_counter()
        ids: list[int] = []
        for start in range(0, n, 1000):
            chunk = [
                {"mobile": f"9{k:011d}", "sources": ["INSTORE"], "programIds": [program_id]}
                for k in range(start, min(n, start + 1000))
            ]
            made = admin(client, "/admin/v1/customers", {"customers": chunk})["customers"]
            ids.extend(int(c["id"]) for c in made)
        seed_seconds = time.perf_counter() - started
    return Setup(
        org["id"], program_id, headers, {"X-CAP-API-OAUTH-TOKEN": token}, ids, seed_seconds
    )


# --- the ceiling: the same revoke work in plain SQL ------------------------------------------
def seed_ledger_sql(
    engine: Engine, org_id: int, promotion_id: int, ids: list[int], earns_each: int = 1
) -> None:
    """Give every customer an ACTIVE enrolment and `earns_each` ACTIVE earns, straight in SQL."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        enrol_ids = (
            conn.execute(
                insert(t.enrolments).returning(t.enrolments.c.id, sort_by_parameter_order=True),
                [
                    {
                        "org_id": org_id,
                        "promotion_id": promotion_id,
                        "customer_id": c,
                        "status": "ACTIVE",
                        "created_at": now,
                    }
                    for c in ids
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(t.earns),
            [
                {
                    "org_id": org_id,
                    "promotion_id": promotion_id,
                    "customer_id": c,
                    "enrolment_id": e,
                    "status": "ACTIVE",
                    "created_at": now,
                }
                for c, e in zip(ids, enrol_ids, strict=True)
                for _ in range(earns_each)
            ],
        )


def ceilings(url: str, s: Setup, promo: int, batch: int) -> list[Phase]:
    """Each phase's work in plain SQL on the same customers and random batches (bench/ceiling)."""
    plan = [
        ("ENROL", "ENROL"),
        ("EARN (1st)", "EARN"),
        ("EARN (2nd)", "EARN"),
        ("REVOKE_EARN", "REVOKE_EARN"),
        ("REVOKE_ENROL", "REVOKE_ENROL"),
    ]
    phases = []
    for name, action in plan:
        batches = random_batches(s.customer_ids, batch, seed=_seed(action))
        seconds, latencies = ceiling.run(
            url, ceiling.PHASES[action], s.org_id, s.program_id, promo, batches
        )
        phases.append(
            Phase(f"ceiling {name}", len(s.customer_ids), len(batches), seconds, latencies)
        )
    return phases


# --- the runs --------------------------------------------------------------------------------
def main_run(args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"\n== {args.database}: {args.customers:,} customers, {args.clients} clients, batch {args.batch}"
    )
    with fresh_database(args.database, "main") as url:
        cli_upgrade(url)
        server = Server(url)
        try:
            s = setup(url, server, args.customers)
            print(
                f"  seeded {len(s.customer_ids):,} customers via /admin/v1 in {s.seed_seconds:.1f} s "
                f"({len(s.customer_ids) / s.seed_seconds:,.0f}/s)"
            )
            with httpx.Client(base_url=server.base, headers=s.headers) as c:
                promo = promotion(c, s.program_id, "ENROL_AND_ISSUE", earns=2)
                ceiling_promo = promotion(c, s.program_id, "ENROL_AND_ISSUE", earns=1)
            run = lambda name, path, action, headers=s.headers, p=promo: drive(  # noqa: E731
                name,
                server.base,
                headers,
                path,
                bulk_bodies(s.customer_ids, s.program_id, p, action, args.batch),
                args.clients,
                server.proc.pid,
            )
            phases = [
                run("ENROL", ENROL_EARN, "ENROL"),
                run("EARN (1st)", ENROL_EARN, "EARN"),
                run("EARN (2nd)", ENROL_EARN, "EARN"),
                run("REVOKE_EARN", REVOKE, "REVOKE_EARN"),
                run("REVOKE_ENROL", REVOKE, "REVOKE_ENROL"),
            ]
            roofs = ceilings(url, s, ceiling_promo, args.batch)
            print("  phase                             HTTP cust/s  ceiling cust/s   ratio")
            ratios = {}
            for phase, roof in zip(phases, roofs, strict=True):
                ratio = phase.per_second / roof.per_second if roof.per_second else 0.0
                ratios[phase.name] = round(ratio, 3)
                print(
                    f"  {phase.name:<28} {phase.per_second:>12,.0f} {roof.per_second:>15,.0f}"
                    f" {ratio:>8.2f}"
                )
            ratio = ratios["REVOKE_EARN"]
            revoke = phases[3]
            print(
                f"  REVOKE_EARN / ceiling = {ratio:.2f}   p99 {revoke.pct(0.99):.1f} ms   "
                f"server CPU {revoke.server_cpu_ms:.1f} ms per 100-customer request"
            )
            auth = auth_compare(server, s, args) if args.auth_compare else None
            peak = server.peak_rss_mb()
            print(f"  peak server memory (VmHWM): {peak:.0f} MB")
        finally:
            server.stop()
    return {
        "database": args.database,
        "phases": [p.summary() for p in phases],
        "ceilings": [r.summary() for r in roofs],
        "ratios": ratios,
        "revoke_earn_ratio": ratio,
        "auth": auth,
        "peak_rss_mb": round(peak),
    }


def cli_upgrade(url: str) -> None:
    subprocess.run(
        [PROMOLEDGER, "--database-url", url, "db", "upgrade"], check=True, capture_output=True
    )


def auth_compare(server: Server, s: Setup, args: argparse.Namespace) -> dict[str, Any]:
    """The same REVOKE_EARN work on two DIRECT_ISSUE promotions, one per authentication style."""
    results: dict[str, Any] = {}
    for label, headers in (("basic", s.headers), ("oauth", s.oauth_headers)):
        with httpx.Client(base_url=server.base, headers=s.headers) as c:
            promo = promotion(c, s.program_id, "DIRECT_ISSUE", earns=1)
        seeded = drive(
            f"directEarn (seeds {label})",
            server.base,
            s.headers,
            "/v2/promotion/bulk/directEarn",
            bulk_bodies(s.customer_ids, s.program_id, promo, None, args.batch),
            args.clients,
            server.proc.pid,
        )
        print(seeded.row())
        phase = drive(
            f"REVOKE_EARN via {label}",
            server.base,
            headers,
            REVOKE,
            bulk_bodies(s.customer_ids, s.program_id, promo, "REVOKE_EARN", args.batch),
            args.clients,
            server.proc.pid,
        )
        print(phase.row())
        results[label] = phase.summary()
    overhead = results["oauth"]["per_second"] / max(results["basic"]["per_second"], 1) - 1
    print(
        f"  Basic auth costs {overhead:+.1%} throughput against OAuth on the revoke path "
        "(positive: Basic is slower; the target is at most +10%)"
    )
    results["basic_overhead"] = round(overhead, 3)
    return results


def growth_run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The REVOKE_EARN figure on a fixed working set while the stored customers grow."""
    print(f"\n== growth on {args.database}: REVOKE_EARN on {args.working_set:,} customers")
    rows = []
    for scale in args.scale:
        with fresh_database(args.database, f"scale{scale}") as url:
            cli_upgrade(url)
            _org_id, program_id, promo, ids = seed_scale(url, scale, args.working_set)
            server = Server(url)
            try:
                phase = drive(
                    f"{scale:>9,} stored",
                    server.base,
                    basic_headers(),
                    REVOKE,
                    bulk_bodies(ids, program_id, promo, "REVOKE_EARN", args.batch),
                    args.clients,
                    server.proc.pid,
                )
            finally:
                server.stop()
            print(phase.row())
            rows.append({"stored_customers": scale, **phase.summary()})
    base = rows[0]["per_second"]
    for row in rows:
        row["vs_smallest"] = round(row["per_second"] / base, 3) if base else 0
    print("  stored customers | cust/s | vs smallest")
    for row in rows:
        print(
            f"  {row['stored_customers']:>16,} | {row['per_second']:>6,} | {row['vs_smallest']:.0%}"
        )
    return rows


def seed_scale(url: str, scale: int, working: int) -> tuple[int, int, int, list[int]]:
    """Bulk-load `scale` customers in SQL (the API path is measured by the main run)."""
    org = org_with_till(url, "growth")
    engine = build_engine(Settings(database_url=url))
    now = datetime.now(UTC)
    org_id = int(org["id"])
    with engine.begin() as conn:
        program_id = conn.execute(
            insert(t.programs)
            .values(org_id=org_id, name="growth", created_at=now)
            .returning(t.programs.c.id)
        ).scalar_one()
        promo = conn.execute(
            insert(t.promotions)
            .values(
                org_id=org_id,
                program_id=program_id,
                identifier="growth",
                name="growth",
                type="ENROL_AND_ISSUE",
                active=True,
                enrolments_per_customer=1,
                earns_per_customer=1,
                created_at=now,
                updated_at=now,
            )
            .returning(t.promotions.c.id)
        ).scalar_one()
    chunk = 20_000
    for start in range(0, scale, chunk):
        with engine.begin() as conn:
            ids = (
                conn.execute(
                    insert(t.customers).returning(t.customers.c.id, sort_by_parameter_order=True),
                    [
                        {"org_id": org_id, "mobile": f"8{k:011d}", "created_at": now}
                        for k in range(start, min(scale, start + chunk))
                    ],
                )
                .scalars()
                .all()
            )
            conn.execute(
                insert(t.customer_sources), [{"customer_id": i, "source": "INSTORE"} for i in ids]
            )
            conn.execute(
                insert(t.program_members),
                [{"program_id": program_id, "customer_id": i, "joined_at": now} for i in ids],
            )
    with engine.connect() as conn:
        # Spread the working set over the whole table, not just its first rows.
        all_ids = conn.execute(select(t.customers.c.id).order_by(t.customers.c.id)).scalars().all()
    step = max(1, len(all_ids) // working)
    working_ids = list(all_ids[::step][:working])
    seed_ledger_sql(engine, org_id, promo, working_ids)
    if not is_sqlite(engine):
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    return org_id, int(program_id), int(promo), working_ids


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--customers", type=int, default=30_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument(
        "--auth-compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Basic vs OAuth on the revoke path (default on).",
    )
    p.add_argument(
        "--scale",
        type=lambda v: [int(x) for x in v.split(",")],
        default=None,
        help="Comma list of stored-customer counts for the growth table, "
        "e.g. 10000,100000,1000000.",
    )
    p.add_argument("--working-set", type=int, default=10_000)
    p.add_argument(
        "--workers", type=int, default=None, help="serve --workers N (default: serve's default)."
    )
    p.add_argument("--skip-main", action="store_true", help="Only the growth table.")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="Record the (main run's) server with py-spy into this collapsed-stack file.",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    Server.profile = args.profile
    Server.workers = args.workers
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "runs": [],
    }
    for database in databases:
        run_args = argparse.Namespace(**{**vars(args), "database": database})
        entry: dict[str, Any] = {"database": database}
        if not args.skip_main:
            entry["main"] = main_run(run_args)
        if args.scale:
            entry["growth"] = growth_run(run_args)
        report["runs"].append(entry)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
