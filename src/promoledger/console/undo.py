"""Undo from the console: put back what a revoke request (or a revoke job) revoked.

The outcome page of a confirmed revoke and the page of a finished revoke job carry an *Undo*
form; ``/console/undo`` also takes a request id or a job id typed in. The form's
Idempotency-Key makes a double click undo once (a later undo would reinstate nothing anyway,
every item then being ``ALREADY_ACTIVE``). The service is ``services.undo``, as for
``POST /admin/v1/reinstatements``: an undo of more than ``PROMOLEDGER_REINSTATE_INLINE_MAX``
records runs as a REINSTATE job, and the page then goes to that job's progress.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import RedirectResponse, Response

from promoledger.api.admin_reinstatements import ReinstatementPublic
from promoledger.api.deps import get_runtime, request_id
from promoledger.console import once
from promoledger.console.web import Form, PageError, Viewer, console_router, render, require_access
from promoledger.domain.context import Context
from promoledger.domain.reinstate import Reason, Reinstatement
from promoledger.domain.vocabulary import Access, Resource
from promoledger.jobs.model import Job
from promoledger.jobs.wire import job_public
from promoledger.services import idempotency
from promoledger.services import undo as service
from promoledger.store.uow import UnitOfWork

router = console_router()
UNDO_PATH = "/console/undo"
MAX_ID = 200

REASONS = {
    Reason.ALREADY_ACTIVE.value: "not revoked any more (already put back)",
    Reason.REVOKED_AGAIN.value: "revoked again by another request since",
    Reason.EXPIRED.value: "expired; an expired record is never brought back",
    Reason.NOT_ENROLLED.value: "its enrolment is not active",
    Reason.LIMIT.value: "would exceed the promotion's per-customer limit",
}


@router.get("/undo")
async def undo_form(request: Request, session: Viewer) -> Response:
    await require_access(request, session.principal, Resource.CUSTOMER, Access.WRITE)
    params = request.query_params
    return render(
        request,
        "undo.html",
        session=session,
        request_id=params.get("requestId", "")[:MAX_ID],
        job_id=params.get("jobId", "")[:MAX_ID],
        idempotency_key=uuid.uuid4().hex,
    )


@router.post("/undo")
async def undo(request: Request, submitted: Form) -> Response:
    session = submitted.session
    await require_access(request, session.principal, Resource.CUSTOMER, Access.WRITE)
    key = once.key_of(submitted.form)
    target = _target(submitted.form)
    runtime = get_runtime(request)
    ctx = Context.for_principal(
        session.principal, request_id=request_id(request), idempotency_key=key
    )

    settings = runtime.settings

    def run(uow: UnitOfWork) -> Reinstatement | Job:
        return service.undo(
            uow,
            ctx,
            request_id=target.get("requestId"),
            job_id=target.get("jobId"),
            inline_max=settings.reinstate_inline_max,
            chunk_items=settings.job_chunk_rows,
        )

    body = orjson.dumps(target, option=orjson.OPT_SORT_KEYS)
    answer, replayed = await once.run_once(
        runtime,
        credential_id=session.principal.credential_id,
        key=key,
        fingerprint=idempotency.request_fingerprint("POST", UNDO_PATH, "", body),
        run=run,
        answer=_answer,
        refused="Undo refused",
    )
    if "job" in answer:
        # Too large to undo inline: a REINSTATE job does it; its page shows the progress.
        return RedirectResponse(f"/console/jobs/{answer['job']['id']}", status_code=303)
    return render(
        request,
        "undo_result.html",
        session=session,
        target=target,
        answer=answer,
        reasons=REASONS,
        replayed=replayed,
    )


def _answer(result: Reinstatement | Job) -> dict[str, Any]:
    """What is stored under the key: the API's 200 body, or ``{"job": …}`` for a job."""
    if isinstance(result, Job):
        return {"job": job_public(result)}
    return ReinstatementPublic.of(result).wire()


def _target(form: dict[str, str]) -> dict[str, Any]:
    """``{"requestId": …}`` or ``{"jobId": …}``: exactly one, as the API's body."""
    found = {
        name: form.get(name, "").strip()
        for name in ("requestId", "jobId")
        if form.get(name, "").strip()
    }
    if len(found) != 1 or any(len(v) > MAX_ID for v in found.values()):
        raise PageError(
            400,
            "Name one revoke",
            "Give either the revoke's request id or the revoke job's id (not both).",
        )
    return found
