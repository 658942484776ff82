"""A console action that must happen once: a form carrying an Idempotency-Key.

The key goes through the API's idempotency service under the signed-in credential, as an
``Idempotency-Key`` header would: the answer is stored in the action's own transaction (the
unit of work's commit hook), so a double click, a resubmitted form or a reload runs the action
once and shows the stored answer. A second submission while the first runs waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool

from promoledger.api.errors import ErrorFamily, error_body, status_for
from promoledger.console.web import PageError
from promoledger.domain.errors import IdempotencyInFlight, PromoledgerError
from promoledger.runtime import Runtime
from promoledger.services import idempotency
from promoledger.store.uow import UnitOfWork

T = TypeVar("T")
# How long a second click waits for the first one's outcome before saying it is still running.
IN_FLIGHT_WAIT = timedelta(seconds=30)
MAX_KEY_LENGTH = 255


def key_of(form: dict[str, str]) -> str:
    key = form.get("idempotencyKey", "")
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise PageError(400, "Missing confirmation key", "Open the page again, then confirm.")
    return key


async def claim(
    runtime: Runtime, credential_id: int, key: str, fingerprint: str
) -> idempotency.Claim | idempotency.Replay:
    """Claim the key; a second click waits for the first one's answer instead of failing."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_FLIGHT_WAIT.total_seconds()
    while True:
        try:
            return await run_in_threadpool(
                idempotency.begin,
                runtime.uow,
                credential_id=credential_id,
                key=key,
                fingerprint=fingerprint,
                ttl_hours=runtime.settings.idempotency_ttl_hours,
                stale_after=timedelta(seconds=runtime.settings.idempotency_stale_seconds),
            )
        except IdempotencyInFlight:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def run_once(
    runtime: Runtime,
    *,
    credential_id: int,
    key: str,
    fingerprint: str,
    run: Callable[[UnitOfWork], T],
    answer: Callable[[T], dict[str, Any]],
    refused: str,
) -> tuple[dict[str, Any], bool]:
    """``run`` under ``key`` (at most once); (its stored answer, whether it was a replay).

    ``answer`` shapes the result into what is stored (JSON). A refusal (4xx) is stored too and
    shown as a page titled ``refused``; a 503 or a crash releases the key for a real retry.
    """
    claimed = await claim(runtime, credential_id, key, fingerprint)
    if isinstance(claimed, idempotency.Replay):
        return _stored(claimed, refused), True
    try:
        stored = await run_sealed(
            runtime, claimed, run, lambda r: orjson.dumps(answer(r)), ErrorFamily.ADMIN
        )
    except PromoledgerError as exc:
        status = status_for(exc)
        if status >= 500:
            raise
        failure = error_body(ErrorFamily.ADMIN, status, exc.error, exc.message, exc.field)
        raise PageError(status, refused, _message(failure)) from exc
    return _stored(stored, refused), False


async def run_sealed(
    runtime: Runtime,
    claimed: idempotency.Claim,
    run: Callable[[UnitOfWork], T],
    render: Callable[[T], bytes],
    family: ErrorFamily,
) -> idempotency.Replay:
    """``run`` under an already claimed key; the answer ``render`` makes is stored at commit.

    A refusal (4xx) is stored as the key's answer, in ``family``'s envelope, and re-raised; a
    5xx or a crash releases the key for a real retry."""
    seal = idempotency.Seal(claimed, lambda r: (200, render(r)))
    try:
        await run_in_threadpool(run, runtime.uow.with_commit_hook(seal))
    except PromoledgerError as exc:
        status = status_for(exc)
        if status >= 500:
            await run_in_threadpool(idempotency.release, runtime.uow, claimed)
        else:
            failure = error_body(family, status, exc.error, exc.message, exc.field)
            await run_in_threadpool(
                idempotency.record_failure,
                runtime.uow,
                claimed,
                status=status,
                body=orjson.dumps(failure),
            )
        raise
    except BaseException:
        await run_in_threadpool(idempotency.release, runtime.uow, claimed)
        raise
    assert seal.stored is not None  # the service writes through uow.apply, which runs the seal
    return idempotency.Replay(*seal.stored)


def _stored(replay: idempotency.Replay, refused: str) -> dict[str, Any]:
    answer: dict[str, Any] = orjson.loads(replay.body)
    if replay.status != 200:
        raise PageError(replay.status, refused, _message(answer))
    return answer


def _message(body: dict[str, Any]) -> str:
    """``code: message`` of the first error of an admin-envelope body."""
    errors = body.get("errors") or [{}]
    first = errors[0]
    code = first.get("code")
    message = str(first.get("message", "Refused."))
    return f"{code}: {message}" if code is not None else message
