"""The extensions every mutating POST shares (contract 3.3): Idempotency-Key, ?dryRun, X-Request-ID.

A route hands ``mutate`` two things: ``run(uow, ctx)``, which parses the body and calls its
service, and ``render(result)``, which shapes the wire answer. With an Idempotency-Key the
unit of work gets a commit hook (``idempotency.Seal``) that stores the answer in the service's
own transaction, so a change and its replayable answer commit together; without one, the
answer is rendered after the commit, with the write lock already released. X-Request-ID is
echoed by the middleware and reaches the audit trail through ``ctx.request_id``.

Decisions:
- A dry run ignores Idempotency-Key entirely (it neither claims, replays nor stores), so a dry
  run followed by the real request with the same key runs the real request.
- The fingerprint is method + path + query + raw body bytes: a key reused on another endpoint,
  with another query or another body is a mismatch (422).
- Request-level 4xx answers are stored and replayed too (they are deterministic and changed
  nothing); 503 and unexpected failures release the key so a retry runs for real.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promoledger.api.deps import get_runtime, request_id
from promoledger.api.errors import domain_error_response, error_body, family_of, status_for
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import VALIDATION, Invalid, PromoledgerError
from promoledger.services import idempotency
from promoledger.store.uow import UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 255
log = logging.getLogger("promoledger")


def is_dry_run(request: Request) -> bool:
    return request.query_params.get("dryRun", "").lower() in ("true", "1")


async def mutate(
    request: Request,
    principal: Principal,
    *,
    body: bytes,
    run: Callable[[UnitOfWork, Context], T],
    render: Callable[[T], tuple[int, Any]],
) -> Response:
    runtime = get_runtime(request)
    dry_run = is_dry_run(request)
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise Invalid(
            VALIDATION, detail="Idempotency-Key must be 1..255 characters", field="Idempotency-Key"
        )

    def answer(result: T) -> tuple[int, bytes]:
        status, content = render(result)
        return status, orjson.dumps(content)

    uow = runtime.uow
    seal: idempotency.Seal | None = None
    if key is not None and not dry_run:
        fingerprint = idempotency.request_fingerprint(
            request.method, request.url.path, request.url.query, body
        )
        begun = await run_in_threadpool(
            idempotency.begin,
            uow,
            credential_id=principal.credential_id,
            key=key,
            fingerprint=fingerprint,
            ttl_hours=runtime.settings.idempotency_ttl_hours,
            stale_after=timedelta(seconds=runtime.settings.idempotency_stale_seconds),
        )
        if isinstance(begun, idempotency.Replay):
            return Response(
                begun.body,
                status_code=begun.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        seal = idempotency.Seal(begun, answer)
        uow = uow.with_commit_hook(seal)

    ctx = Context.for_principal(
        principal, request_id=request_id(request), idempotency_key=key, dry_run=dry_run
    )
    try:
        result = await run_in_threadpool(run, uow, ctx)
    except PromoledgerError as exc:
        if seal is not None:
            await _settle_failed_claim(request, seal.claim, exc, status_for(exc))
        if dry_run:
            response = domain_error_response(request, exc)
            response.headers["X-Dry-Run"] = "true"
            return response
        raise
    except BaseException:
        if seal is not None:
            await _release_quietly(request, seal.claim)
        raise

    if seal is not None and seal.stored is not None:
        status, payload = seal.stored
    else:
        status, payload = answer(result)
        if seal is not None:
            # A service that wrote without ``uow.apply`` (a bug) still answers, but its key
            # cannot replay: release it rather than leave it RUNNING.
            log.error("%s %s did not store its idempotent answer", request.method, request.url.path)
            await _release_quietly(request, seal.claim)
    headers = {"X-Dry-Run": "true"} if dry_run else {}
    return Response(payload, status_code=status, media_type="application/json", headers=headers)


async def _settle_failed_claim(
    request: Request, claim: idempotency.Claim, exc: PromoledgerError, status: int
) -> None:
    """Store a deterministic 4xx answer for replay; release the key after a 5xx."""
    if status >= 500:
        await _release_quietly(request, claim)
        return
    body = orjson.dumps(
        error_body(family_of(request.scope), status, exc.error, exc.message, exc.field)
    )
    try:
        await run_in_threadpool(
            idempotency.record_failure, get_runtime(request).uow, claim, status=status, body=body
        )
    except PromoledgerError:
        # The answer itself still goes out; the key stays RUNNING until the stale window
        # ends, then a retry takes it over (nothing was changed by this request).
        log.warning("could not store the idempotent answer of %s", request.url.path)


async def _release_quietly(request: Request, claim: idempotency.Claim) -> None:
    try:
        await run_in_threadpool(idempotency.release, get_runtime(request).uow, claim)
    except PromoledgerError:
        log.warning("could not release Idempotency-Key claim on %s", request.url.path)
