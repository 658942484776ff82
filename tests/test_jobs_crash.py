"""kill -9 of a real ``promoledger serve`` in the middle of a job's chunk: another server
resumes the job from its last committed chunk; no row is applied twice, none is skipped."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, update

from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.support.db import wait_until_blocked
from tests.support.factories import World
from tests.support.jobs import csv_file, seed, wait_for
from tests.support.servers import Server
from tests.support.waiting import HANG_SECONDS
from tests.test_jobs_durability import assert_applied_exactly_once, shuffled_rows

pytestmark = pytest.mark.slow

SERVER_ENV = {"PROMOLEDGER_JOB_CHUNK_ROWS": "50", "PROMOLEDGER_JOB_LEASE_SECONDS": "1"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The test's own app runs no jobs: only the servers do.
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        job_workers=0,
    )


def test_kill_9_mid_chunk_then_another_server_resumes(
    world: World, database_url: str, tmp_path: Path
) -> None:
    c = seed(world, 1500)
    rows = shuffled_rows(c)
    first = Server(database_url, env=SERVER_ENV).start(tmp_path)
    try:
        answer = first.post(
            "/admin/v1/jobs",
            params=c.params("REVOKE_EARN"),
            content=csv_file(rows),
            headers={**c.caller.headers, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        number = int(job_id.removeprefix("job_"))

        def progress() -> tuple[str, int]:
            with world.uow.read() as conn:
                row = conn.execute(
                    select(t.jobs.c.status, t.jobs.c.processed).where(t.jobs.c.id == number)
                ).one()
            return row.status, row.processed

        wait_for(lambda: progress()[1] >= 100, "the server commits a few chunks")
        # Hold the job row (PostgreSQL) / the write lock (SQLite): the worker's next chunk
        # transaction blocks on its first statement; then the server dies mid-chunk.
        with world.uow.write() as conn:
            conn.execute(update(t.jobs).where(t.jobs.c.id == number).values(error=None))
            status, done = conn.execute(
                select(t.jobs.c.status, t.jobs.c.processed).where(t.jobs.c.id == number)
            ).one()
            assert status == "RUNNING", "the job finished before the kill: make it longer"
            assert done < len(rows)
            if world.runtime.uow.dialect == "postgresql":
                wait_until_blocked(database_url)
            first.kill_9()
    finally:
        first.stop()

    with world.uow.read() as conn:
        left = conn.execute(select(t.jobs.c.processed).where(t.jobs.c.id == number)).scalar_one()
    assert 100 <= left < len(rows)
    second = Server(database_url, env=SERVER_ENV).start(tmp_path)
    try:
        wait_for(lambda: progress()[0] == "SUCCEEDED", "the second server finishes the job")
        shown = second.get(f"/admin/v1/jobs/{job_id}", headers=c.caller.headers).json()
        assert (shown["processed"], shown["succeeded"], shown["failed"]) == (1500, 1500, 0)
        lines = second.get(
            f"/admin/v1/jobs/{job_id}/results",
            headers={**c.caller.headers, "Accept": "application/x-ndjson"},
        ).content.splitlines()
        assert [orjson.loads(x)["line"] for x in lines] == list(range(1, 1501))
    finally:
        second.stop()
    assert_applied_exactly_once(world, world.client, c, job_id, rows)


DEADLINE = 2.0  # the server's body timeout in the next test


def test_a_job_upload_may_outlast_the_body_timeout_but_not_stall(
    world: World, database_url: str, tmp_path: Path
) -> None:
    """For POST /admin/v1/jobs the body timeout is an idle timeout: a file that keeps coming
    is read to its end however long it takes; one that stops is cut off with 408."""
    c = seed(world, 3)
    env = {"PROMOLEDGER_BODY_TIMEOUT_SECONDS": str(DEADLINE), "PROMOLEDGER_JOB_WORKERS": "0"}
    server = Server(database_url, env=env).start(tmp_path)
    ids = [str(x.id) for x in c.customers]

    def trickle() -> Iterator[bytes]:
        yield b"identifierValue\n"
        deadline = time.monotonic() + 2 * DEADLINE
        while time.monotonic() < deadline:  # longer than the body timeout, never idle for it
            time.sleep(DEADLINE / 10)
            yield b"\n"
        yield "\n".join(ids).encode() + b"\n"

    try:
        answer = server.post(
            "/admin/v1/jobs",
            params=c.params("REVOKE_EARN"),
            content=trickle(),
            headers={**c.caller.headers, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["total"] == 3
        with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS) as sock:
            head = (
                f"POST /admin/v1/jobs?action=REVOKE_EARN&programId={c.program_id}"
                f"&promotionId={c.promotion.id}&identifierName=id HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {c.caller.headers['Authorization']}\r\n"
                "Content-Type: text/csv\r\nContent-Length: 1000\r\n\r\nidentifierValue\n"
            )
            sock.sendall(head.encode())  # ... and then nothing more
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 408")
    finally:
        server.stop()
    with world.uow.read() as conn:
        statuses = conn.execute(select(t.jobs.c.status)).scalars().all()
    assert statuses == ["QUEUED"]  # the stalled upload left nothing behind
