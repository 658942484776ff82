"""The extensions every mutating POST shares (contract 3.3): Idempotency-Key, ?dryRun, X-Request-ID.

A route hands ``mutate`` two things: ``run(ctx)``, which calls its service, and ``render(result)``,
which shapes the wire answer. The stored idempotent answer is written inside the service's own
transaction (through ``Context.seal``), so a change and its replayable answer commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promoledger.api.deps import get_runtime, request_id
from promoledger.api.errors import error_body, status_for
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import VALIDATION, Invalid, PromoledgerError
from promoledger.services import idempotency
from promoledger.store import idempotency as idempotency_store

T = TypeVar("T")
MAX_KEY_LENGTH = 255


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
    use_key = key is not None and not dry_run
    extra_headers: dict[str, str] = {"X-Dry-Run": "true"} if dry_run else {}

    if use_key:
        assert key is not None
        fingerprint = idempotency.request_fingerprint(
            request.method, request.url.path, request.url.query, body
        )
        replay = await run_in_threadpool(
            idempotency.begin,
            runtime.uow,
            credential_id=principal.credential_id,
            key=key,
            fingerprint=fingerprint,
            ttl_hours=runtime.settings.idempotency_ttl_hours,
        )
        if replay is not None:
            return Response(
                replay.body,
                status_code=replay.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )

    rendered: list[tuple[int, Any]] = []

    def seal(conn: Any, result: Any) -> None:
        status, content = render(result)
        rendered.append((status, content))
        idempotency_store.complete(
            conn,
            credential_id=principal.credential_id,
            key=key or "",
            status=status,
            body=orjson.dumps(content),
            headers=None,
        )

    ctx = Context.for_principal(
        principal,
        request_id=request_id(request),
        idempotency_key=key,
        dry_run=dry_run,
        on_seal=seal if use_key else None,
    )
    try:
        result = await run_in_threadpool(run, ctx)
    except PromoledgerError as exc:
        if use_key:
            assert key is not None
            status = status_for(exc)
            if status < 500:
                body_out = orjson.dumps(
                    error_body(request.url.path, status, exc.error, exc.message, exc.field)
                )
                await run_in_threadpool(
                    idempotency.record_failure,
                    runtime.uow,
                    credential_id=principal.credential_id,
                    key=key,
                    status=status,
                    body=body_out,
                )
            else:
                await run_in_threadpool(
                    idempotency.release, runtime.uow, credential_id=principal.credential_id, key=key
                )
        raise
    except BaseException:
        if use_key:
            assert key is not None
            await run_in_threadpool(
                idempotency.release, runtime.uow, credential_id=principal.credential_id, key=key
            )
        raise
    status, content = rendered[0] if rendered else render(result)
    return Response(
        orjson.dumps(content),
        status_code=status,
        media_type="application/json",
        headers=extra_headers,
    )
