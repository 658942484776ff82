"""SQL for bulk jobs: the job row (progress, lease) and its chunks (input, outcomes).

Exactly-once per chunk: a chunk is done when its ``output`` is set, and that UPDATE (``WHERE
output IS NULL``) commits in the same transaction as the chunk's ledger changes and the job's
progress. The worker's lease is checked and renewed by the first statement of that transaction
(which also locks the job row on PostgreSQL, so a takeover waits for a chunk in flight).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, insert, or_, select, update

from promoledger.jobs.model import Job, JobSpec, JobStatus
from promoledger.store.tables import job_chunks, jobs

_ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def job_of(row: Row[Any]) -> Job:
    return Job(
        id=int(row.id),
        org_id=int(row.org_id),
        spec=JobSpec(
            action=row.action,
            program_id=int(row.program_id),
            promotion_id=int(row.promotion_id),
            by_promotion_id=bool(row.by_promotion_id),
            promo_identifier=row.promo_identifier,
            identifier_name=row.identifier_name,
            dry_run=bool(row.dry_run),
        ),
        status=JobStatus(row.status),
        total=int(row.total),
        chunks=int(row.chunks),
        next_chunk=int(row.next_chunk),
        processed=int(row.processed),
        succeeded=int(row.succeeded),
        failed=int(row.failed),
        cancel_requested=bool(row.cancel_requested),
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
    )


def create(
    conn: Connection,
    *,
    org_id: int,
    spec: JobSpec,
    actor_kind: str,
    actor_id: int | None,
    now: datetime,
) -> int:
    row = conn.execute(
        insert(jobs)
        .values(
            org_id=org_id,
            action=spec.action,
            program_id=spec.program_id,
            promotion_id=spec.promotion_id,
            by_promotion_id=spec.by_promotion_id,
            promo_identifier=spec.promo_identifier,
            identifier_name=spec.identifier_name,
            dry_run=spec.dry_run,
            status=JobStatus.UPLOADING.value,
            total=0,
            chunks=0,
            next_chunk=0,
            processed=0,
            succeeded=0,
            failed=0,
            cancel_requested=False,
            actor_kind=actor_kind,
            actor_id=actor_id,
            created_at=now,
        )
        .returning(jobs.c.id)
    ).one()
    return int(row.id)


def add_chunk(
    conn: Connection, job_id: int, seq: int, *, first_line: int, rows: int, data: bytes
) -> None:
    conn.execute(
        insert(job_chunks).values(
            job_id=job_id, seq=seq, first_line=first_line, rows=rows, input=data
        )
    )


def queue(conn: Connection, job_id: int, *, total: int, chunks: int) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(status=JobStatus.QUEUED.value, total=total, chunks=chunks)
    )


def discard(conn: Connection, job_id: int) -> None:
    """Forget a job whose upload was refused: it never existed for anyone."""
    conn.execute(delete(job_chunks).where(job_chunks.c.job_id == job_id))
    conn.execute(delete(jobs).where(jobs.c.id == job_id))


def get(conn: Connection, org_id: int, job_id: int) -> Job | None:
    row = conn.execute(
        select(jobs).where(
            jobs.c.id == job_id,
            jobs.c.org_id == org_id,
            jobs.c.status != JobStatus.UPLOADING.value,
        )
    ).one_or_none()
    return None if row is None else job_of(row)


def page(conn: Connection, org_id: int, *, limit: int, before_id: int | None) -> list[Job]:
    """Newest first; ``before_id`` is the keyset cursor."""
    stmt = select(jobs).where(jobs.c.org_id == org_id, jobs.c.status != JobStatus.UPLOADING.value)
    if before_id is not None:
        stmt = stmt.where(jobs.c.id < before_id)
    rows = conn.execute(stmt.order_by(jobs.c.id.desc()).limit(limit)).all()
    return [job_of(r) for r in rows]


def request_cancel(conn: Connection, org_id: int, job_id: int) -> None:
    """Flag the job: its worker stops at the next chunk boundary."""
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.org_id == org_id, jobs.c.status.in_(_ACTIVE))
        .values(cancel_requested=True)
    )


def _claimable(now: datetime, job_id: int | None) -> Any:
    free = or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now)
    stmt = select(jobs.c.id).where(jobs.c.status.in_(_ACTIVE), free)
    if job_id is not None:
        stmt = stmt.where(jobs.c.id == job_id)
    return stmt.order_by(jobs.c.id).limit(1)


def claimable(conn: Connection, now: datetime, job_id: int | None = None) -> bool:
    """Whether a claim could find a job (a read: polling never takes the write lock)."""
    return conn.execute(_claimable(now, job_id)).first() is not None


def claim(
    conn: Connection, owner: str, now: datetime, lease: float, job_id: int | None = None
) -> Job | None:
    """Take the oldest job that is queued, or running under a lapsed lease (its worker died).

    On PostgreSQL the candidate row is locked with SKIP LOCKED, so concurrent workers each take
    a different job; on SQLite the write lock already serialises claims.
    """
    free = or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now)
    stmt = _claimable(now, job_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    found = conn.execute(stmt).scalar_one_or_none()
    if found is None:
        return None
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == found, jobs.c.status.in_(_ACTIVE), free)
        .values(
            status=JobStatus.RUNNING.value,
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease),
        )
        .returning(jobs)
    ).one_or_none()
    if row is None:
        return None
    if row.started_at is None:
        conn.execute(update(jobs).where(jobs.c.id == found).values(started_at=now))
        row = conn.execute(select(jobs).where(jobs.c.id == found)).one()
    return job_of(row)


def hold(conn: Connection, job_id: int, owner: str, now: datetime, lease: float) -> Job | None:
    """Renew this worker's lease (locking the job row); None if another worker took it over
    or the job is no longer running."""
    row = conn.execute(
        update(jobs)
        .where(
            jobs.c.id == job_id,
            jobs.c.lease_owner == owner,
            jobs.c.status == JobStatus.RUNNING.value,
        )
        .values(lease_until=now + timedelta(seconds=lease))
        .returning(jobs)
    ).one_or_none()
    return None if row is None else job_of(row)


def chunk_input(conn: Connection, job_id: int, seq: int) -> tuple[int, bytes] | None:
    row = conn.execute(
        select(job_chunks.c.first_line, job_chunks.c.input).where(
            job_chunks.c.job_id == job_id, job_chunks.c.seq == seq, job_chunks.c.output.is_(None)
        )
    ).one_or_none()
    return None if row is None else (int(row.first_line), bytes(row.input))


def complete_chunk(
    conn: Connection,
    job: Job,
    seq: int,
    output: bytes,
    *,
    succeeded: int,
    failed: int,
) -> bool:
    """Store a chunk's outcomes and advance the job; False if the chunk was already done."""
    done = conn.execute(
        update(job_chunks)
        .where(
            job_chunks.c.job_id == job.id, job_chunks.c.seq == seq, job_chunks.c.output.is_(None)
        )
        .values(output=output)
    ).rowcount
    if done != 1:
        return False
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id, jobs.c.next_chunk == seq)
        .values(
            next_chunk=seq + 1,
            processed=jobs.c.processed + succeeded + failed,
            succeeded=jobs.c.succeeded + succeeded,
            failed=jobs.c.failed + failed,
        )
    )
    return True


def finish(
    conn: Connection, job_id: int, status: JobStatus, now: datetime, error: str | None = None
) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.in_(_ACTIVE))
        .values(status=status.value, finished_at=now, error=error, lease_owner=None)
    )


def release(conn: Connection, job_id: int, owner: str) -> None:
    """Give the lease up (a worker stopping politely): another may take the job at once."""
    conn.execute(
        update(jobs)
        .where(and_(jobs.c.id == job_id, jobs.c.lease_owner == owner))
        .values(lease_owner=None, lease_until=None)
    )


def outputs(conn: Connection, job_id: int, from_seq: int, limit: int) -> list[tuple[int, bytes]]:
    """Done chunks' outcomes from ``from_seq`` on, in file order (stops at the first not done)."""
    rows = conn.execute(
        select(job_chunks.c.seq, job_chunks.c.output)
        .where(job_chunks.c.job_id == job_id, job_chunks.c.seq >= from_seq)
        .order_by(job_chunks.c.seq)
        .limit(limit)
    ).all()
    found: list[tuple[int, bytes]] = []
    for row in rows:
        if row.output is None:
            break
        found.append((int(row.seq), bytes(row.output)))
    return found
