"""The extensions every mutating POST shares (contract 3.3): Idempotency-Key, ?dryRun, X-Request-ID.

A route hands ``mutate`` two things: ``run(ctx)``, which parses the body and calls its service,
and ``render(result)``, which shapes the wire answer. The stored idempotent answer is written
inside the service's own transaction (through ``Context.seal``), so a change and its replayable
answer commit together. X-Request-ID is echoed by the middleware and reaches the audit trail
through ``ctx.request_id``.

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
from promoledger.api.errors import domain_error_response, error_body, status_for
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import VALIDATION, Invalid, PromoledgerError
from promoledger.services import idempotency

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
    run: Callable[[Context], T],
    render: Callable[[T], tuple[int, Any]],
) -> Response:
    runtime = get_runtime(request)
    dry_run = is_dry_run(request)
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise Invalid(
            VALIDATION, detail="Idempotency-Key must be 1..255 characters", field="Idempotency-Key"
        )

    claim: idempotency.Claim | None = None
    if key is not None and not dry_run:
        fingerprint = idempotency.request_fingerprint(
            request.method, request.url.path, request.url.query, body
        )
        begun = await run_in_threadpool(
            idempotency.begin,
            runtime.uow,
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
        claim = begun

    rendered: list[tuple[int, bytes]] = []

    def seal(conn: Any, result: Any) -> None:
        status, content = render(result)
        payload = orjson.dumps(content)
        rendered.append((status, payload))
        if claim is not None:
            idempotency.seal(conn, claim, status=status, body=payload)

    ctx = Context.for_principal(
        principal,
        request_id=request_id(request),
        idempotency_key=key,
        dry_run=dry_run,
        on_seal=seal,
    )
    try:
        result = await run_in_threadpool(run, ctx)
    except PromoledgerError as exc:
        status = status_for(exc)
        if claim is not None:
            await _settle_failed_claim(request, claim, exc, status)
        if dry_run:
            response = domain_error_response(request, exc)
            response.headers["X-Dry-Run"] = "true"
            return response
        raise
    except BaseException:
        if claim is not None:
            await _release_quietly(request, claim)
        raise

    if rendered:
        status, payload = rendered[0]
    else:
        # Dry runs skip the seal; a service that never seals (a bug) still answers, but its
        # key cannot replay, so release it rather than leave it RUNNING.
        status, content = render(result)
        payload = orjson.dumps(content)
        if claim is not None:
            log.error("%s %s did not seal its idempotent answer", request.method, request.url.path)
            await _release_quietly(request, claim)
    headers = {"X-Dry-Run": "true"} if dry_run else {}
    return Response(payload, status_code=status, media_type="application/json", headers=headers)


async def _settle_failed_claim(
    request: Request, claim: idempotency.Claim, exc: PromoledgerError, status: int
) -> None:
    """Store a deterministic 4xx answer for replay; release the key after a 5xx."""
    if status >= 500:
        await _release_quietly(request, claim)
        return
    body = orjson.dumps(error_body(request.url.path, status, exc.error, exc.message, exc.field))
    try:
        await run_in_threadpool(
            idempotency.record_failure, get_runtime(request).uow, claim, status=status, body=body
        )
    except PromoledgerError:
        # The answer itself still goes out; the key stays RUNNING until STALE_AFTER, then a
        # retry takes it over (nothing was changed by this request).
        log.warning("could not store the idempotent answer of %s", request.url.path)


async def _release_quietly(request: Request, claim: idempotency.Claim) -> None:
    try:
        await run_in_threadpool(idempotency.release, get_runtime(request).uow, claim)
    except PromoledgerError:
        log.warning("could not release Idempotency-Key claim on %s", request.url.path)
