"""The HTTP server's own limits: header size, header and body read timeouts, open connections.

uvicorn's httptools protocol has none of these: a client could stream a 200 MB header (held
in memory, parsed on the event loop), or keep thousands of silent sockets open until the
process runs out of file descriptors. This protocol adds them without touching the request
path: a few integer updates per socket read, one timer per connection.
"""

from __future__ import annotations

import logging
import time
from asyncio import TimerHandle, Transport
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("promoledger")
PROTOCOL = f"{__name__}:LimitedHttpToolsProtocol"
_WARN_EVERY_SECONDS = 60.0
# Uploads whose body timeout is an idle timeout (time without any data), not a deadline for
# the whole body: a bulk job's file may take far longer than a minute to send.
IDLE_BODY_POSTS = frozenset({"/admin/v1/jobs", "/console/jobs/upload"})


@dataclass(frozen=True, slots=True)
class Limits:
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 1000


class ServerConfig(uvicorn.Config):
    """uvicorn's config plus promoledger's limits (pickled into every worker process)."""

    def __init__(self, app: str, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, http=PROTOCOL, **kwargs)
        self.limits = limits


class _HeadTooLarge(Exception):
    """Stops httptools mid-parse once the head is over the limit (the 431 is already sent)."""


class _Warnings:
    last_refusal = 0.0


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a cap on the request head, read deadlines and a connection cap."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: Limits = getattr(config, "limits", Limits())
        self._reading_head = True
        self._head_bytes = 0
        self._partial_bytes = 0
        self._deadline: TimerHandle | None = None
        self._refused = False
        self._idle_body = False

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            now = time.monotonic()
            if now - _Warnings.last_refusal > _WARN_EVERY_SECONDS:
                _Warnings.last_refusal = now
                log.warning(
                    "connection refused: %d connections open (PROMOLEDGER_MAX_CONNECTIONS)",
                    self.limits.max_connections,
                )
            self._refuse(503, "Too many open connections")
            return
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own data_received, plus the head accounting; a refused connection reads
        # nothing more.
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if not self._refused:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._reading_head:
            # httptools holds a header it has not finished in memory: count what it holds.
            self._partial_bytes += len(data)
            if self._partial_bytes > self.limits.max_header_bytes:
                self._refuse(431, "Request header fields too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._head_bytes = 0
        self._partial_bytes = 0
        if self._deadline is None:
            self._arm(self.limits.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, "Request header fields too large")
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            scope = self.cycle.scope
            self._idle_body = scope["method"] == "POST" and scope["path"] in IDLE_BODY_POSTS
            self._arm(self.limits.body_timeout)

    def on_body(self, body: bytes) -> None:
        if self._idle_body and self._deadline is not None:
            self._arm(self.limits.body_timeout)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._reading_head and self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # answered already; the rest of the body never came
            return
        self._refuse(408, "Request not received in time")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with a JSON error and close the connection."""
        self._refused = True
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        body = orjson.dumps({"errors": [{"status": False, "code": status, "message": message}]})
        head = [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()
