"""Bulk jobs, the use cases: submit a file, read a job, list, cancel, stream the results.

Submitting checks the request-level rules the bulk API would apply (with its parser and the
same promotion checks), then streams the file into chunks, one short transaction per chunk
while the job is ``UPLOADING`` (invisible to workers and readers), and queues it. A refused
upload (not UTF-8, no identifierValue column, too large, empty) leaves nothing behind.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection

from promoledger.domain import errors as E
from promoledger.domain.context import Context
from promoledger.domain.errors import Conflict, Invalid, NotFound, RequestRejected
from promoledger.domain.promotions import check_action
from promoledger.jobs import input as job_input
from promoledger.jobs.actions import action_named
from promoledger.jobs.model import ChunkInput, Job, JobSpec, JobStatus, parse_public_id
from promoledger.jobs.worker import record_finished
from promoledger.services.batch import resolve_promotion
from promoledger.store import jobs as store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

DEFAULT_PAGE = 50
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class JobRequest:
    """The submit's parameters, as sent (strings are checked here, by the bulk API's rules)."""

    action: str | None
    program_id: str | None
    promotion_id: str | None
    promo_identifier: str | None
    identifier_name: str | None
    dry_run: bool = False


def check(uow: UnitOfWork, ctx: Context, request: JobRequest) -> JobSpec:
    """The request-level checks, in the bulk API's order; raises its 400s."""
    if not request.action:
        raise RequestRejected(E.INVALID_BULK_ACTION)
    name, action = action_named(request.action)
    details = {
        "programId": request.program_id,
        "promotionId": request.promotion_id,
        "promoIdentifier": request.promo_identifier,
    }
    spec = JobSpec(
        action=name,
        program_id=0,
        promotion_id=0,
        by_promotion_id=bool(request.promotion_id),
        promo_identifier=request.promo_identifier or None,
        identifier_name=request.identifier_name or "",
        dry_run=request.dry_run,
    )
    bulk = action.check(details, request.identifier_name or "")
    with uow.read() as conn:
        promotion = resolve_promotion(conn, ctx.org_id, bulk.promotion)
    check_action(promotion, action.bulk_action, utcnow())
    if action.types is not None and promotion.type not in action.types:
        raise RequestRejected(E.ACTION_NOT_SUPPORTED)
    if bulk.deferred is not None:
        raise RequestRejected(bulk.deferred)
    assert bulk.identifier_name is not None
    return JobSpec(
        action=name,
        program_id=promotion.program_id,
        promotion_id=promotion.id,
        by_promotion_id=spec.by_promotion_id,
        promo_identifier=promotion.identifier if spec.promo_identifier else None,
        identifier_name=bulk.identifier_name.value,
        dry_run=request.dry_run,
    )


def submit(
    uow: UnitOfWork,
    ctx: Context,
    *,
    request: JobRequest,
    content_type: str | None,
    body: Iterable[bytes],
    max_bytes: int,
    chunk_rows: int,
) -> Job:
    """Check, store the file chunk by chunk, queue the job; 400/413 leave nothing behind."""
    kind = job_input.file_format(content_type)
    spec = check(uow, ctx, request)
    now = utcnow()
    job_id = uow.apply(
        lambda conn: store.create(
            conn,
            org_id=ctx.org_id,
            spec=spec,
            actor_kind=ctx.actor_kind,
            actor_id=ctx.actor_id,
            now=now,
        )
    )
    total = chunks = 0
    try:
        for chunk in job_input.chunks(body, kind, chunk_rows=chunk_rows, max_bytes=max_bytes):
            data = orjson.dumps(chunk.rows)

            def store_chunk(conn: Connection, c: ChunkInput = chunk, d: bytes = data) -> None:
                store.add_chunk(
                    conn, job_id, c.seq, first_line=c.first_line, rows=len(c.rows), data=d
                )

            uow.apply(store_chunk)
            total, chunks = total + len(chunk.rows), chunks + 1
        if total == 0:
            raise RequestRejected(E.EMPTY_CUSTOMERS)
    except BaseException:
        uow.apply(lambda conn: store.discard(conn, job_id))
        raise

    def queue(conn: Connection) -> Job:
        store.queue(conn, job_id, total=total, chunks=chunks)
        job = store.get(conn, ctx.org_id, job_id)
        assert job is not None
        return job

    return uow.apply(queue)


def job_id_of(value: str) -> int:
    found = parse_public_id(value)
    if found is None:
        raise NotFound("job")
    return found


def get(uow: UnitOfWork, ctx: Context, job_id: str) -> Job:
    number = job_id_of(job_id)
    with uow.read() as conn:
        job = store.get(conn, ctx.org_id, number)
    if job is None:
        raise NotFound("job")
    return job


REVOKE_ACTIONS = frozenset({"REVOKE_ENROL", "REVOKE_EARN"})


def revoke_request_id(uow: UnitOfWork, *, org_id: int, job_id: str) -> str:
    """The request id a revoke job's chunks ran under — what its audit events and the
    ``ended_request_id`` of everything it revoked carry — for undoing it.

    404 for an unknown or foreign job; 422 for a job that revoked nothing it could undo (not
    a revoke, or a dry run).
    """
    job = get(uow, Context(org_id=org_id, actor_kind="SYSTEM"), job_id)
    if job.spec.action not in REVOKE_ACTIONS or job.spec.dry_run:
        raise Invalid(
            E.VALIDATION,
            detail=f"{job.public_id} is not a revoke job that changed anything",
            field="jobId",
        )
    return job.public_id


@dataclass(frozen=True, slots=True)
class JobPage:
    jobs: list[Job]
    next_cursor: str | None


def list_jobs(uow: UnitOfWork, ctx: Context, *, limit: int, cursor: str | None) -> JobPage:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(E.VALIDATION, detail=f"limit must be 1..{MAX_PAGE}", field="limit")
    before = _decode(cursor) if cursor else None
    with uow.read() as conn:
        found = store.page(conn, ctx.org_id, limit=limit + 1, before_id=before)
    more = len(found) > limit
    found = found[:limit]
    return JobPage(found, _encode(found[-1].id) if more and found else None)


def cancel(uow: UnitOfWork, ctx: Context, job_id: str) -> Job:
    """A queued job ends CANCELLED at once; a running one at its next chunk boundary."""
    number = job_id_of(job_id)

    def work(conn: Connection) -> Job:
        job = store.get(conn, ctx.org_id, number)
        if job is None:
            raise NotFound("job")
        if job.status.finished:
            raise Conflict(E.JOB_FINISHED)
        store.request_cancel(conn, ctx.org_id, number)
        if job.status is JobStatus.QUEUED:
            record_finished(conn, job, JobStatus.CANCELLED, utcnow())
        seen = store.get(conn, ctx.org_id, number)
        assert seen is not None
        return seen

    return uow.apply(work)


RESULT_STATUSES = ("SUCCESS", "FAILED", "WARNING")


ResultRow = tuple[int, str, str, dict[str, object]]


@dataclass(frozen=True, slots=True)
class JobReport:
    job: Job  # as it was when the report was asked for (its action picks the CSV columns)
    rows: Iterator[ResultRow]


def results(
    uow: UnitOfWork, ctx: Context, job_id: str, *, status: str | None
) -> Iterator[ResultRow]:
    """(line, identifierValue, status, bulk-API entry) of every row applied so far, in file
    order; read chunk by chunk, each in its own short read transaction."""
    return job_report(uow, ctx, job_id, status=status).rows


def job_report(uow: UnitOfWork, ctx: Context, job_id: str, *, status: str | None) -> JobReport:
    """``results`` with the job they belong to."""
    job = get(uow, ctx, job_id)
    if status is not None and status not in RESULT_STATUSES:
        raise Invalid(
            E.VALIDATION, detail="status must be SUCCESS, FAILED or WARNING", field="status"
        )
    return JobReport(job, _rows(uow, job.id, status))


def _rows(
    uow: UnitOfWork, job_id: int, wanted: str | None
) -> Iterator[tuple[int, str, str, dict[str, object]]]:
    seq = 0
    while True:
        with uow.read() as conn:
            batch = store.outputs(conn, job_id, seq, 20)
        if not batch:
            return
        for _, data in batch:
            for line, value, entry in orjson.loads(data):
                state = row_status(entry)
                if wanted is None or state == wanted:
                    yield line, value, state, entry
        seq = batch[-1][0] + 1


def row_status(entry: dict[str, object]) -> str:
    if entry.get("errors"):
        return "FAILED"
    return "WARNING" if entry.get("warnings") else "SUCCESS"


def _encode(job_id: int) -> str:
    return base64.urlsafe_b64encode(str(job_id).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value = int(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(E.VALIDATION, detail="invalid cursor", field="cursor") from exc
    if value < 1:
        raise Invalid(E.VALIDATION, detail="invalid cursor", field="cursor")
    return value
