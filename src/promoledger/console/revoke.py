"""Revoke from the console: choose the promotion and action, paste identifiers (or start from a
customer's page), Preview (a dry run of the same service) and Confirm.

Confirm carries an Idempotency-Key generated when the preview was rendered and goes through the
API's idempotency service under the signed-in credential, so a double click (or a reload of the
outcome page) revokes once and shows the same stored outcome. The stored answer is the same
envelope ``POST /v2/promotion/bulk/revokeEnrolAndEarn`` answers with.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promoledger.api.capillary import bulk_envelope
from promoledger.api.deps import get_runtime, request_id
from promoledger.api.errors import ErrorFamily
from promoledger.console import once
from promoledger.console.choices import promotion_choices
from promoledger.console.web import (
    Form,
    PageError,
    Viewer,
    console_router,
    render,
    require_access,
)
from promoledger.domain.bulk import REVOKE_ACTIONS, parse_bulk_request
from promoledger.domain.context import Context
from promoledger.domain.outcomes import BatchResult
from promoledger.domain.vocabulary import Access, Resource
from promoledger.runtime import Runtime
from promoledger.services import idempotency
from promoledger.services import revoke as service
from promoledger.store.uow import UnitOfWork

router = console_router()
ACTIONS = ("REVOKE_ENROL", "REVOKE_EARN")
IDENTIFIER_NAMES = ("id", "mobile", "email")
CONFIRM_PATH = "/console/revoke/confirm"
_SPLIT = re.compile(r"[\s,;]+")


@router.get("/revoke")
async def revoke_form(request: Request, session: Viewer) -> Response:
    await require_access(request, session.principal, Resource.CUSTOMER, Access.WRITE)
    params = request.query_params
    chosen = {
        "promotion": params.get("promotion", ""),
        "action": params.get("action", "REVOKE_ENROL"),
        "identifierName": params.get("identifierName", "id"),
        "identifiers": params.get("identifiers", ""),
    }
    return render(
        request,
        "revoke.html",
        session=session,
        chosen=chosen,
        choices=await run_in_threadpool(
            promotion_choices, get_runtime(request), session.principal.org_id
        ),
        actions=ACTIONS,
        identifier_names=IDENTIFIER_NAMES,
    )


@router.post("/revoke/preview")
async def preview(request: Request, submitted: Form) -> Response:
    session = submitted.session
    await require_access(request, session.principal, Resource.CUSTOMER, Access.WRITE)
    payload, lines = _payload(submitted.form)
    runtime = get_runtime(request)
    ctx = Context.for_principal(session.principal, request_id=request_id(request), dry_run=True)
    result = await run_in_threadpool(_run, runtime, runtime.uow, ctx, payload)
    return render(
        request,
        "revoke_preview.html",
        session=session,
        form=submitted.form,
        rows=_rows(lines, bulk_envelope(result)),
        promotion=result.promotion,
        action=payload["bulkAction"],
        idempotency_key=uuid.uuid4().hex,
    )


@router.post("/revoke/confirm")
async def confirm(request: Request, submitted: Form) -> Response:
    session = submitted.session
    await require_access(request, session.principal, Resource.CUSTOMER, Access.WRITE)
    key = submitted.form.get("idempotencyKey", "")
    if not 0 < len(key) <= 255:
        raise PageError(400, "Missing confirmation key", "Preview the revoke again, then confirm.")
    payload, lines = _payload(submitted.form)
    runtime = get_runtime(request)
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    fingerprint = idempotency.request_fingerprint("POST", CONFIRM_PATH, "", body)
    claim = await once.claim(runtime, session.principal.credential_id, key, fingerprint)
    if isinstance(claim, idempotency.Replay):
        envelope = _stored(claim)
        replayed = True
    else:
        ctx = Context.for_principal(
            session.principal, request_id=request_id(request), idempotency_key=key
        )
        envelope = await _execute(runtime, ctx, claim, payload)
        replayed = False
    return render(
        request,
        "revoke_result.html",
        session=session,
        rows=_rows(lines, envelope),
        envelope=envelope,
        form=submitted.form,
        replayed=replayed,
        undo_key=uuid.uuid4().hex,
    )


# --- steps ------------------------------------------------------------------------------------
def _payload(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The Capillary bulk body the form stands for, and the pasted line of each entry."""
    program_id, _, promotion_id = form.get("promotion", "").partition(":")
    if not (program_id.isdigit() and promotion_id.isdigit()):
        raise PageError(400, "Choose a promotion", "Pick the promotion to revoke in.")
    action = form.get("action", "")
    identifier_name = form.get("identifierName", "")
    if action not in ACTIONS or identifier_name not in IDENTIFIER_NAMES:
        raise PageError(400, "Invalid choice", "Pick an action and an identifier type.")
    lines = [line.strip() for line in form.get("identifiers", "").splitlines() if line.strip()]
    if not lines:
        raise PageError(400, "No customers", "Paste at least one identifier, one per line.")
    entries = []
    for line in lines:
        value, *earn_ids = _SPLIT.split(line)
        entry: dict[str, Any] = {"identifierValue": value}
        if action == "REVOKE_EARN" and earn_ids:
            entry["earnIds"] = [int(e) if e.isdigit() else e for e in earn_ids]
        entries.append(entry)
    payload = {
        "type": "CUSTOMER",
        "bulkAction": action,
        "identifierName": identifier_name,
        "promotionDetails": {"programId": int(program_id), "promotionId": int(promotion_id)},
        "customers": entries,
    }
    return payload, lines


def _run(runtime: Runtime, uow: UnitOfWork, ctx: Context, payload: dict[str, Any]) -> BatchResult:
    bulk = parse_bulk_request(
        payload,
        actions=REVOKE_ACTIONS,
        batch_limit=runtime.settings.batch_limit,
        with_earn_ids=True,
    )
    return service.revoke(uow, ctx, request=bulk)


async def _execute(
    runtime: Runtime, ctx: Context, claim: idempotency.Claim, payload: dict[str, Any]
) -> dict[str, Any]:
    # The stored outcome names the revoke's request id, so the outcome page (even a replayed
    # one) can offer to undo exactly this revoke.
    stored = await once.run_sealed(
        runtime,
        claim,
        lambda uow: _run(runtime, uow, ctx, payload),
        lambda r: orjson.dumps({**bulk_envelope(r), "requestId": ctx.request_id}),
        ErrorFamily.BULK,
    )
    return _stored(stored)


def _stored(replay: idempotency.Replay) -> dict[str, Any]:
    answer: dict[str, Any] = orjson.loads(replay.body)
    if replay.status != 200:
        errors = answer.get("errors") or [{}]
        message = str(errors[0].get("message", "The revoke was refused."))
        raise PageError(replay.status, "Revoke refused", message)
    return answer


def _rows(lines: list[str], envelope: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per pasted line: its outcome in plain words."""
    rows = []
    for line, entry in zip(lines, envelope["response"], strict=True):
        result = entry.get("result")
        if result is None:
            reasons = "; ".join(f"{e['code']}: {e['message']}" for e in entry["errors"])
            rows.append({"line": line, "ok": False, "customerId": None, "detail": reasons})
            continue
        if "revokedIssualId" in result:
            detail = f"enrolment {result['revokedIssualId']}"
        else:
            detail = "earns " + ", ".join(str(i) for i in result.get("revokedEarnIds", []))
        rows.append({"line": line, "ok": True, "customerId": result["entityId"], "detail": detail})
    return rows
