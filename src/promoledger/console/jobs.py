"""Bulk jobs from the console: upload a file, watch its progress, download the results,
cancel, undo.

The upload is the job file itself as the request body (the page's script sends the chosen
file with ``fetch``, its CSRF token in the ``X-CSRF-Token`` header), streamed into
``services.jobs.submit`` piece by piece exactly as ``POST /admin/v1/jobs`` does: server memory
does not grow with the file. The job page polls ``/console/jobs/{id}/progress`` every second.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio.from_thread
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from promoledger.api.deps import get_runtime, request_id
from promoledger.api.errors import status_for
from promoledger.console.choices import promotion_choices
from promoledger.console.sessions import ConsoleSession
from promoledger.console.web import (
    SECURITY_HEADERS,
    Form,
    PageError,
    Viewer,
    console_router,
    csrf_refused,
    current_session,
    render,
    require_access,
)
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import PayloadTooLarge, PromoledgerError
from promoledger.domain.vocabulary import Access, Resource
from promoledger.jobs import results as report
from promoledger.jobs.actions import BULK_ACTIONS
from promoledger.jobs.model import Job
from promoledger.services import jobs as service
from promoledger.services.jobs import REVOKE_ACTIONS
from promoledger.store.types import utcnow

router = console_router()
UPLOAD_PATH = "/console/jobs/upload"  # exempt from the API's body limit (see app.py)
CSRF_HEADER = "x-csrf-token"
IDENTIFIER_NAMES = ("id", "mobile", "email")
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Progress:
    """What the progress bar shows: counts, rows per second so far, the ETA."""

    status: str
    processed: int
    total: int
    succeeded: int
    failed: int
    percent: int
    rate: float | None  # rows/s since the job started (until it finished)
    eta_seconds: int | None
    finished: bool
    cancel_requested: bool

    @classmethod
    def of(cls, job: Job, now: datetime) -> Progress:
        rate = None
        if job.started_at is not None and job.processed:
            elapsed = ((job.finished_at or now) - job.started_at).total_seconds()
            rate = round(job.processed / elapsed, 1) if elapsed > 0 else None
        percent = 100 * job.processed // job.total if job.total else 0
        return cls(
            status=job.status.value,
            processed=job.processed,
            total=job.total,
            succeeded=job.succeeded,
            failed=job.failed,
            percent=percent,
            rate=rate,
            eta_seconds=job.eta_seconds(now),
            finished=job.status.finished,
            cancel_requested=job.cancel_requested,
        )

    def wire(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "processed": self.processed,
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "percent": self.percent,
            "rate": "—" if self.rate is None else f"{self.rate:,.1f}",
            "eta": eta_text(self.eta_seconds),
            "finished": self.finished,
        }


def eta_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def _ctx(request: Request, principal: Principal) -> Context:
    return Context.for_principal(principal, request_id=request_id(request))


@router.get("/jobs")
async def jobs_page(request: Request, session: Viewer) -> Response:
    runtime = get_runtime(request)
    ctx = _ctx(request, session.principal)
    cursor = request.query_params.get("cursor") or None
    page = await run_in_threadpool(
        lambda: service.list_jobs(runtime.uow, ctx, limit=PAGE_SIZE, cursor=cursor)
    )
    can_submit = session.principal.allows(Resource.CUSTOMER, Access.WRITE)
    choices = await run_in_threadpool(promotion_choices, runtime, session.principal.org_id)
    return render(
        request,
        "jobs.html",
        session=session,
        page=page,
        can_submit=can_submit,
        choices=choices if can_submit else [],
        actions=list(BULK_ACTIONS),
        identifier_names=IDENTIFIER_NAMES,
        upload_path=UPLOAD_PATH,
        max_size=size_text(runtime.settings.job_max_bytes),
    )


async def header_session(
    request: Request, session: Annotated[ConsoleSession, Depends(current_session)]
) -> ConsoleSession:
    """A signed-in session whose CSRF token came in the X-CSRF-Token header (a raw-body POST)."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise csrf_refused()
    return session


@router.post("/jobs/upload")
async def upload(
    request: Request, session: Annotated[ConsoleSession, Depends(header_session)]
) -> Response:
    """The file as the raw body; the job's parameters in the query, as for the API."""
    await require_access(request, session.principal, Resource.CUSTOMER, Access.WRITE)
    runtime = get_runtime(request)
    settings = runtime.settings
    params = request.query_params
    program_id, _, promotion_id = params.get("promotion", "").partition(":")
    job_request = service.JobRequest(
        action=params.get("action") or None,
        program_id=program_id or None,
        promotion_id=promotion_id or None,
        promo_identifier=None,
        identifier_name=params.get("identifierName") or None,
        dry_run=params.get("dryRun", "").lower() in ("true", "1", "on"),
    )
    ctx = _ctx(request, session.principal)
    stream = request.stream()

    def body() -> Iterator[bytes]:
        # Pulled from the event loop piece by piece by the submitting thread.
        while True:
            try:
                piece: bytes = anyio.from_thread.run(_next, stream)
            except StopAsyncIteration:
                return
            if piece:
                yield piece

    try:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.job_max_bytes:
            raise PayloadTooLarge
        job = await run_in_threadpool(
            lambda: service.submit(
                runtime.uow,
                ctx,
                request=job_request,
                content_type=request.headers.get("content-type"),
                body=body(),
                max_bytes=settings.job_max_bytes,
                chunk_rows=settings.job_chunk_rows,
            )
        )
    except PromoledgerError as exc:
        # The API's code and message, shown on the upload form by the page's script.
        message = f"{exc.error.code}: {exc.message}"
        raise PageError(status_for(exc), "Upload refused", message) from exc
    location = f"/console/jobs/{job.public_id}"
    return JSONResponse(
        {"id": job.public_id, "location": location},
        status_code=202,
        headers={**SECURITY_HEADERS, "Location": location},
    )


async def _next(stream: AsyncIterator[bytes]) -> bytes:
    return await stream.__anext__()


async def _job(request: Request, principal: Principal, job_id: str) -> Job:
    uow = get_runtime(request).uow
    return await run_in_threadpool(service.get, uow, _ctx(request, principal), job_id)


@router.get("/jobs/{job_id}")
async def job_page(request: Request, session: Viewer, job_id: str) -> Response:
    job = await _job(request, session.principal, job_id)
    spec = job.spec
    undoable = job.status.finished and spec.action in REVOKE_ACTIONS and not spec.dry_run
    return render(
        request,
        "job.html",
        session=session,
        job=job,
        progress=Progress.of(job, utcnow()).wire(),
        undoable=undoable and job.succeeded > 0,
        undo_key=uuid.uuid4().hex,
    )


@router.get("/jobs/{job_id}/progress")
async def job_progress(request: Request, session: Viewer, job_id: str) -> Response:
    """What the page's script polls: the progress bar's numbers, as JSON."""
    job = await _job(request, session.principal, job_id)
    return JSONResponse(Progress.of(job, utcnow()).wire(), headers=SECURITY_HEADERS)


@router.get("/jobs/{job_id}/results.csv")
async def job_results(request: Request, session: Viewer, job_id: str) -> Response:
    """The per-row report, the same CSV as ``GET /admin/v1/jobs/{id}/results``, streamed."""
    runtime = get_runtime(request)
    status = request.query_params.get("status") or None
    ctx = _ctx(request, session.principal)
    rows = await run_in_threadpool(lambda: service.results(runtime.uow, ctx, job_id, status=status))
    name = f"{job_id}-results{'-' + status.lower() if status else ''}.csv"
    return StreamingResponse(
        report.as_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, submitted: Form, job_id: str) -> Response:
    principal = submitted.session.principal
    await require_access(request, principal, Resource.CUSTOMER, Access.WRITE)
    runtime = get_runtime(request)
    job = await run_in_threadpool(service.cancel, runtime.uow, _ctx(request, principal), job_id)
    return RedirectResponse(f"/console/jobs/{job.public_id}", status_code=303)
