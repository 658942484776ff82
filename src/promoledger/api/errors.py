"""The one exception-to-response mapper. Services raise domain errors; only this module speaks HTTP.

Each router declares its error family (``family_router``); the mapper reads the family of the
route that matched, never the URL. The families keep the error shape their clients expect:
- ``BULK`` (Capillary bulk POSTs): request-level rejections use the bulk envelope; any other
  failure ``{"errors":[{"status":false,"code":..,"message":..}]}``.
- ``ISSUE`` and ``LOOKUP`` (Capillary's single-customer endpoints): every failure but 401/403
  in the shape of the endpoint's own success body, with ``errors`` set.
- ``TOKEN`` (``/v3/oauth/...``): ``{"data":null,"errors":[...]}``.
- ``ADMIN`` (``/admin/v1/...``): ``{"errors":[{"code":..,"message":..,"field":..}]}``.
A request that matched no route (an unknown path, a body refused before routing) takes the
family of the API its path prefix belongs to.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from enum import Enum
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.domain.errors import (
    INTERNAL,
    INVALID_FIELD,
    INVALID_JSON,
    NOT_FOUND,
    VALIDATION,
    AuthenticationFailed,
    Conflict,
    DatabaseUnavailable,
    ErrorDef,
    IdempotencyInFlight,
    IdempotencyMismatch,
    Invalid,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PromoledgerError,
    RequestRejected,
    Throttled,
)

log = logging.getLogger("promoledger")

_STATUS: tuple[tuple[type[PromoledgerError], int], ...] = (
    (RequestRejected, 400),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (IdempotencyInFlight, 409),
    (Invalid, 422),
    (PayloadTooLarge, 413),
    (IdempotencyMismatch, 422),
    (Throttled, 429),
    (DatabaseUnavailable, 503),
)
RETRY_AFTER_SECONDS = "1"


def status_for(exc: PromoledgerError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


class ErrorFamily(Enum):
    BULK = "bulk"
    ISSUE = "issue"
    LOOKUP = "lookup"
    TOKEN = "token"  # noqa: S105 - the OAuth token endpoint family, not a secret
    ADMIN = "admin"


def family_router(family: ErrorFamily, **kwargs: Any) -> APIRouter:
    """An APIRouter whose routes answer errors in ``family``'s shape."""
    route_class = type(f"{family.name.title()}Route", (APIRoute,), {"error_family": family})
    return APIRouter(route_class=route_class, **kwargs)


# Only for requests that matched no route: which API a path prefix belongs to.
_UNROUTED = (("/admin/", ErrorFamily.ADMIN), ("/v3/", ErrorFamily.TOKEN))


def family_of(scope: Any) -> ErrorFamily:
    family = getattr(scope.get("route"), "error_family", None)
    if isinstance(family, ErrorFamily):
        return family
    path: str = scope.get("path", "")
    return next((f for prefix, f in _UNROUTED if path.startswith(prefix)), ErrorFamily.BULK)


def error_item(error: ErrorDef, message: str | None = None) -> dict[str, Any]:
    """One Capillary error (or warning) item: ``{"status":false,"code":..,"message":..}``."""
    return {"status": False, "code": error.code, "message": message or error.message}


@functools.cache
def catalogue_item(error: ErrorDef) -> dict[str, Any]:
    """``error_item`` with the catalogue's message, built once per code: a bulk answer repeats
    the same few items for many entries. The shared dict is only ever serialised."""
    return error_item(error)


def capillary_envelope(error: ErrorDef, message: str | None = None) -> dict[str, Any]:
    """The bulk APIs' shape for a rejected request (HTTP 400): one failed entry."""
    return {
        "response": [{"errors": [error_item(error, message)], "warnings": []}],
        "totalCount": 1,
        "failureCount": 1,
    }


# Single-customer /v2 endpoints: a failure keeps the keys a client of that endpoint reads.
_OWN_SHAPE: dict[ErrorFamily, Callable[[dict[str, Any]], dict[str, Any]]] = {
    ErrorFamily.ISSUE: lambda item: {"warnings": [], "errors": [item], "sideEffects": []},
    ErrorFamily.LOOKUP: lambda item: {"errors": [item], "warnings": []},
}


def error_body(
    family: ErrorFamily, status: int, error: ErrorDef, message: str, field: str | None
) -> dict[str, Any]:
    if family is ErrorFamily.ADMIN:
        return {"errors": [{"code": error.code, "message": message, "field": field}]}
    if family is ErrorFamily.TOKEN:
        return {"data": None, "errors": [error_item(error, message)]}
    shape = _OWN_SHAPE.get(family)
    if shape is not None and status not in (401, 403):
        return shape(error_item(error, message))
    if status == 400:
        return capillary_envelope(error, message)
    return {"errors": [error_item(error, message)]}


def _respond(
    request: Request, status: int, error: ErrorDef, message: str, field: str | None = None
) -> OrjsonResponse:
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    return json_response(
        error_body(family_of(request.scope), status, error, message, field), status, headers
    )


async def _domain_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, PromoledgerError)
    return domain_error_response(request, exc)


def domain_error_response(request: Request, exc: PromoledgerError) -> OrjsonResponse:
    """The answer to a domain error, in the shape of the API family the request used."""
    status = status_for(exc)
    response = _respond(request, status, exc.error, exc.message, exc.field)
    if isinstance(exc, Throttled):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, IdempotencyInFlight):
        # The first request is still running (or died and its claim goes stale): retry later.
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    if isinstance(exc, DatabaseUnavailable):
        log.warning("database unavailable: %s", exc.reason)
    return response


async def _validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or None
    message = (
        f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg", "invalid"))
    )
    if first.get("type") == "json_invalid":
        return _respond(request, 400, INVALID_JSON, INVALID_JSON.message)
    if family_of(request.scope) is ErrorFamily.ADMIN:
        return _respond(request, 422, VALIDATION, message, field)
    return _respond(request, 400, INVALID_FIELD, message, field)


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    error = NOT_FOUND if exc.status_code == 404 else VALIDATION
    message = str(exc.detail) if exc.detail else error.message
    response = _respond(request, exc.status_code, error, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        # Starlette's 405 names the methods of the first route matching the path only; a path
        # served by several routes (GET, PATCH and DELETE of a customer) allows all of theirs.
        response.headers["Allow"] = ", ".join(_methods_of(request))
    return response


def _methods_of(request: Request) -> list[str]:
    """The methods some route fully matches this path with (asked through ``matches``, which
    also looks inside included routers)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


async def _unexpected(request: Request, exc: Exception) -> OrjsonResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(request, 500, INTERNAL, INTERNAL.message)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PromoledgerError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
