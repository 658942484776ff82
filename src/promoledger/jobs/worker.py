"""Running jobs: claim one under a lease, apply it chunk by chunk, one transaction per chunk.

Each chunk's transaction: renew the lease (first statement: on PostgreSQL it locks the job
row, so nobody takes the job over while a chunk is in flight) → apply the chunk's rows with
the bulk services (with ``ctx.request_id`` = the job's public id, so its audit rows and the
``ended_request_id`` of what it revoked name the job) → store the rows' outcomes → advance the
job's progress → commit. A process killed mid-chunk loses only that uncommitted chunk; once
the lease lapses any worker claims the job and carries on from ``next_chunk``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.errors import DatabaseUnavailable, PromoledgerError
from promoledger.jobs.actions import ACTIONS, RETRYABLE
from promoledger.jobs.model import Job, JobStatus, public_id
from promoledger.observability.metrics import Metrics
from promoledger.services import events
from promoledger.store import jobs as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

log = logging.getLogger("promoledger")

# Between two chunks the worker holds no lock for this long, so API writers queued for the
# database (SQLite's single writer above all) go first.
YIELD_SECONDS = 0.002
IDLE_SECONDS = 0.5  # how often an idle worker looks for a job
RETRY_SECONDS = 1.0  # after the database was unavailable
MAX_CHUNK_ATTEMPTS = 5


class _Step(Enum):
    NEXT = "next"
    DONE = "done"
    LOST = "lost"  # the lease went to another worker, or the job ended meanwhile


def record_finished(
    conn: Connection, job: Job, status: JobStatus, now: datetime, error: str | None = None
) -> None:
    """THE place a job reaches SUCCEEDED, FAILED or CANCELLED, inside the transaction that
    ends it (the last chunk's, or the cancel's). Whatever must commit with a job's end — a
    ``job.completed`` event — is written here. ``job`` was read in this transaction, so
    its counts are final."""
    store.finish(conn, job.id, status, now, error)
    ctx = Context(
        org_id=job.org_id,
        actor_kind=job.actor_kind,
        actor_id=job.actor_id,
        request_id=job.public_id,
    )
    events.job_completed(
        conn,
        ctx,
        job_id=job.public_id,
        promotion_id=job.spec.promotion_id,
        data={
            "status": status.value,
            "action": job.spec.action,
            "dryRun": job.spec.dry_run,
            "total": job.total,
            "processed": job.processed,
            "succeeded": job.succeeded,
            "failed": job.failed,
        },
    )


# Progress callback: (job after the chunk) → None. Used by the CLI's progress bar.
Progress = Callable[[Job], None]


class JobRunner:
    """Runs jobs in this thread; ``owner`` names this worker in the job's lease."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        lease_seconds: float,
        owner: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.uow = uow
        self.lease = lease_seconds
        self.owner = owner or f"{uuid.getnode():x}-{uuid.uuid4().hex[:12]}"
        self.metrics = metrics
        self.stopping = threading.Event()

    def run_next(self, job_id: int | None = None, progress: Progress | None = None) -> Job | None:
        """Claim a job (this one, if given) and run it until it ends, the lease is lost or
        the runner is stopped. Returns the job as last seen, None if there was none to claim."""
        job = self.uow.apply(
            lambda conn: store.claim(conn, self.owner, utcnow(), self.lease, job_id)
        )
        if job is None:
            return None
        log.info("job %s: claimed by %s at chunk %d", job.public_id, self.owner, job.next_chunk)
        while not self.stopping.is_set():
            step, seen = self._step_with_retries(job)
            if seen is not None:
                job = seen
                if progress is not None:
                    progress(job)
            if step is not _Step.NEXT:
                return job
            time.sleep(YIELD_SECONDS)
        self.uow.apply(lambda conn: store.release(conn, job.id, self.owner))
        return job

    def _step_with_retries(self, job: Job) -> tuple[_Step, Job | None]:
        moved = 0
        while True:
            try:
                return self.uow.apply(lambda conn: self._step(conn, job))
            except RETRYABLE:
                moved += 1
                log.info("job %s: ledger moved under a chunk (attempt %d)", job.public_id, moved)
                if moved == MAX_CHUNK_ATTEMPTS:
                    return self._fail(job, "the ledger kept changing under a chunk")
            except DatabaseUnavailable as exc:
                # An outage is not the job's fault: wait and try the same chunk again (the
                # lease may lapse meanwhile; then the chunk's first statement says so).
                log.warning(
                    "job %s: database unavailable (%s); retrying", job.public_id, exc.reason
                )
                if self.stopping.wait(RETRY_SECONDS):
                    return _Step.LOST, None
            except PromoledgerError as exc:
                # A request-level rule now refuses the job (the promotion was deactivated, say):
                # the committed chunks stay, the job ends FAILED with the reason.
                return self._fail(job, f"{exc.error.code}: {exc.message}")

    def _fail(self, job: Job, error: str) -> tuple[_Step, Job | None]:
        def work(conn: Connection) -> Job | None:
            held = store.hold(conn, job.id, self.owner, utcnow(), self.lease)
            if held is None:
                return None
            record_finished(conn, held, JobStatus.FAILED, utcnow(), error)
            return store.get(conn, held.org_id, held.id)

        log.warning("job %s: failed: %s", job.public_id, error)
        return _Step.DONE, self.uow.apply(work)

    def _step(self, conn: Connection, job: Job) -> tuple[_Step, Job | None]:
        now = utcnow()
        held = store.hold(conn, job.id, self.owner, now, self.lease)
        if held is None:
            return _Step.LOST, None
        if held.cancel_requested:
            record_finished(conn, held, JobStatus.CANCELLED, now)
            return _Step.DONE, store.get(conn, held.org_id, held.id)
        seq = held.next_chunk
        if seq >= held.chunks:
            record_finished(conn, held, JobStatus.SUCCEEDED, now)
            return _Step.DONE, store.get(conn, held.org_id, held.id)
        loaded = store.chunk_input(conn, held.id, seq)
        if loaded is None:  # cannot happen: next_chunk advances with the chunk's output
            raise DatabaseUnavailable(f"chunk {seq} of {held.public_id} is missing or done")
        first_line, data = loaded
        rows: list[Any] = orjson.loads(data)
        entries = self._apply(conn, held, rows, first_line, now)
        outcome = [
            [first_line + i, _identifier(row), entry]
            for i, (row, entry) in enumerate(zip(rows, entries, strict=True))
        ]
        failed = sum(1 for entry in entries if entry["errors"])
        if not store.complete_chunk(
            conn, held, seq, orjson.dumps(outcome), succeeded=len(rows) - failed, failed=failed
        ):
            return _Step.LOST, None
        if self.metrics is not None:
            self.metrics.count_job_rows(held.spec.action, len(rows) - failed, failed)
        return _Step.NEXT, store.get(conn, held.org_id, held.id)

    def _apply(
        self, conn: Connection, job: Job, rows: list[Any], first_line: int, now: datetime
    ) -> list[Any]:
        ctx = Context(
            org_id=job.org_id,
            actor_kind=job.actor_kind,
            actor_id=job.actor_id,
            request_id=public_id(job.id),
            dry_run=job.spec.dry_run,
        )
        action = ACTIONS[job.spec.action]
        if not job.spec.dry_run:
            # The enrolments and earns this chunk changes say, in their events, which job did it.
            events.tag_job(conn, job_id=job.public_id)
            return action.run(conn, ctx, job.spec, rows, first_line=first_line, now=now)
        # Dry run: decide for real inside a savepoint, keep only the answers.
        savepoint = conn.begin_nested()
        try:
            return action.run(conn, ctx, job.spec, rows, first_line=first_line, now=now)
        finally:
            savepoint.rollback()


def _identifier(row: Any) -> str:
    value = row.get("identifierValue") if isinstance(row, dict) else None
    return "" if value is None else str(value)


class WorkerPool:
    """``count`` background threads running jobs, started and stopped with the server."""

    def __init__(self, uow: UnitOfWork, *, count: int, lease_seconds: float, **kw: Any) -> None:
        self.runners = [JobRunner(uow, lease_seconds=lease_seconds, **kw) for _ in range(count)]
        self.threads = [
            threading.Thread(target=self._loop, args=(r,), name=f"promoledger-job-{i}", daemon=True)
            for i, r in enumerate(self.runners)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        for runner in self.runners:
            runner.stopping.set()
        for thread in self.threads:
            thread.join(timeout)

    @staticmethod
    def _loop(runner: JobRunner) -> None:
        while not runner.stopping.is_set():
            try:
                ran = runner.run_next()
            except DatabaseUnavailable as exc:
                log.warning("job worker: database unavailable (%s)", exc.reason)
                ran = None
            except Exception:  # a bug must not kill the worker thread for good
                log.exception("job worker: unexpected error")
                ran = None
            if ran is None:
                runner.stopping.wait(IDLE_SECONDS)
