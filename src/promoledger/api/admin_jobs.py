"""/admin/v1/jobs: submit a bulk job (the file as the raw body), follow it, read its report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio.from_thread
from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from promoledger.api.deps import CustomerRead, CustomerWrite, RuntimeDep, request_id
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.extensions import is_dry_run
from promoledger.api.responses import json_response
from promoledger.domain.context import Context
from promoledger.domain.errors import PayloadTooLarge
from promoledger.jobs import results as report
from promoledger.jobs.wire import job_public
from promoledger.services import jobs as service
from promoledger.store.types import utcnow

router = family_router(ErrorFamily.ADMIN, prefix="/admin/v1", tags=["admin: jobs"])

SUBMIT_PATH = "/admin/v1/jobs"  # its body limit is PROMOLEDGER_JOB_MAX_BYTES, not the API's
NDJSON = "application/x-ndjson"


def _context(request: Request, principal: Any) -> Context:
    return Context.for_principal(principal, request_id=request_id(request))


_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: CSV with a header row naming identifierValue (source and "
        "earnIds optional), or one Capillary customers[] entry per line. See docs/jobs.md.",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "identifierValue,earnIds\n9100000001,\n9100000002,5;6\n",
            },
            NDJSON: {
                "schema": {"type": "string"},
                "example": '{"identifierValue":"9100000001","source":"INSTORE"}\n',
            },
        },
    }
}


@router.post(
    "/jobs",
    status_code=202,
    summary="Submit a bulk job (CSV or NDJSON body)",
    openapi_extra=_FILE_BODY,
)
async def submit_job(
    *,
    request: Request,
    principal: CustomerWrite,
    runtime: RuntimeDep,
    action: Annotated[str | None, Query(max_length=40)] = None,
    program_id: Annotated[str | None, Query(alias="programId", max_length=40)] = None,
    promotion_id: Annotated[str | None, Query(alias="promotionId", max_length=40)] = None,
    promo_identifier: Annotated[str | None, Query(alias="promoIdentifier", max_length=200)] = None,
    identifier_name: Annotated[str | None, Query(alias="identifierName", max_length=40)] = None,
) -> Response:
    settings = runtime.settings
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.job_max_bytes:
        raise PayloadTooLarge
    stream = request.stream()

    def body() -> Iterator[bytes]:
        # The upload is pulled from the event loop piece by piece by the submitting thread.
        while True:
            try:
                piece: bytes = anyio.from_thread.run(_next, stream)
            except StopAsyncIteration:
                return
            if piece:
                yield piece

    job = await run_in_threadpool(
        lambda: service.submit(
            runtime.uow,
            _context(request, principal),
            request=service.JobRequest(
                action=action,
                program_id=program_id,
                promotion_id=promotion_id,
                promo_identifier=promo_identifier,
                identifier_name=identifier_name,
                dry_run=is_dry_run(request),
            ),
            content_type=request.headers.get("content-type"),
            body=body(),
            max_bytes=settings.job_max_bytes,
            chunk_rows=settings.job_chunk_rows,
        )
    )
    return json_response(job_public(job), 202, {"Location": f"{SUBMIT_PATH}/{job.public_id}"})


async def _next(stream: AsyncIterator[bytes]) -> bytes:
    return await stream.__anext__()


@router.get("/jobs", summary="The org's jobs, newest first")
def list_jobs(
    *,
    request: Request,
    principal: CustomerRead,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    page = service.list_jobs(runtime.uow, _context(request, principal), limit=limit, cursor=cursor)
    now = utcnow()
    return json_response(
        {"jobs": [job_public(j, now) for j in page.jobs], "nextCursor": page.next_cursor}
    )


@router.get("/jobs/{job_id}", summary="A job's status and progress")
def get_job(
    request: Request, principal: CustomerRead, runtime: RuntimeDep, job_id: str
) -> Response:
    return json_response(job_public(service.get(runtime.uow, _context(request, principal), job_id)))


@router.get("/jobs/{job_id}/results", summary="A job's per-row report (CSV, or NDJSON)")
def job_results(
    *,
    request: Request,
    principal: CustomerRead,
    runtime: RuntimeDep,
    job_id: str,
    status: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    found = service.job_report(runtime.uow, _context(request, principal), job_id, status=status)
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(report.as_ndjson(found.rows), media_type=NDJSON)
    csv = report.as_csv(found.rows, action=found.job.spec.action)
    return StreamingResponse(csv, media_type="text/csv; charset=utf-8")


@router.post("/jobs/{job_id}/cancel", summary="Stop a job at its next chunk boundary")
def cancel_job(
    request: Request, principal: CustomerWrite, runtime: RuntimeDep, job_id: str
) -> Response:
    return json_response(
        job_public(service.cancel(runtime.uow, _context(request, principal), job_id))
    )
