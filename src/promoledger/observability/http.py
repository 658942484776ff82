"""The access line and the HTTP metrics of every request, in one pure ASGI middleware.

It stays off the hot path: the route template comes from the route the router already matched
(``scope["route"]``), labelled metric children are cached, and only the Capillary bulk calls
have their envelope read (for ``totalCount``/``failureCount`` and the per-entry counts).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promoledger.observability.logs import ACCESS_LOGGER
from promoledger.observability.metrics import Metrics

BULK_PREFIX = "/v2/promotion/bulk/"
UNMATCHED = "<unmatched>"
_ACTION = re.compile(rb'"bulkAction"\s*:\s*"([A-Za-z_]{1,32})"')
_TOTALS = re.compile(rb'"totalCount":(\d+),"failureCount":(\d+)\}$')
_FIRST_ERROR_CODE = re.compile(rb'\{"errors":\[\{"status":false,"code":(-?\d+)')
# Every bulkAction spelling the endpoints accept, as counted; anything else is "invalid".
_ACTIONS = {
    b"ENROL": "ENROL",
    b"EARN": "EARN",
    b"REVOKE_ENROL": "REVOKE_ENROL",
    b"REVOKE_ISSUAL": "REVOKE_ENROL",
    b"REVOKE_EARN": "REVOKE_EARN",
}
# What an endpoint does when the body names no bulkAction.
_DEFAULT_ACTION = {"directEarn": "EARN", "revokeDirectEarn": "REVOKE_EARN"}

access_log = logging.getLogger(ACCESS_LOGGER)


class ObservabilityMiddleware:
    """Outermost middleware: times the request, counts it, writes one access line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500
        bulk = scope["path"].startswith(BULK_PREFIX)
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        counted = True  # replays and dry runs changed nothing: not counted again

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
            return message

        async def send_status(message: Message) -> None:
            nonlocal status, counted
            if message["type"] == "http.response.start":
                status = message["status"]
                if bulk:
                    for name, _ in message.get("headers", ()):
                        if name in (b"idempotent-replayed", b"x-dry-run"):
                            counted = False
            elif bulk and message["type"] == "http.response.body":
                response_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_body if bulk else receive, send_status)
        finally:
            elapsed = perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            totals = (
                self._bulk(route, request_body, response_body, counted)
                if bulk and status in (200, 400)
                else None
            )
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, route, status, elapsed, totals)

    def _bulk(
        self, route: str, request_body: list[bytes], response_body: list[bytes], counted: bool
    ) -> tuple[int, int] | None:
        # The envelope is read as bytes, not parsed: orjson writes it compactly in the order
        # response, totalCount, failureCount, and a failed entry starts with its first error.
        # Parsing a 100-entry answer again cost more than the rest of this middleware together.
        body = b"".join(response_body)
        tail = _TOTALS.search(body, max(0, len(body) - 80))
        if tail is None:
            return None
        total, failed = int(tail.group(1)), int(tail.group(2))
        if counted:
            endpoint = route.rsplit("/", 1)[-1]
            found = _ACTION.search(b"".join(request_body))
            action = (
                _ACTIONS.get(found.group(1).upper(), "invalid")
                if found
                else _DEFAULT_ACTION.get(endpoint, "none")
            )
            codes = Counter(_FIRST_ERROR_CODE.findall(body)) if failed else Counter[bytes]()
            tally = [((endpoint, action, "failure", c.decode()), n) for c, n in codes.items()]
            if total > failed:
                tally.append(((endpoint, action, "success", "0"), total - failed))
            self.metrics.count_bulk(tally)
        return total, failed


def _log_access(
    scope: Scope, route: str, status: int, elapsed: float, totals: tuple[int, int] | None
) -> None:
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    fields: dict[str, Any] = {
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "request_id": state.get("request_id"),
        "credential": (
            f"{principal.kind.value}:{principal.credential_id}" if principal is not None else None
        ),
        "org": principal.org_id if principal is not None else None,
    }
    if totals is not None:
        fields["totalCount"], fields["failureCount"] = totals
    access_log.info("request", extra=fields)
