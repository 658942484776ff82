"""A real HTTP webhook receiver for tests: a threaded server on 127.0.0.1 that records every
POST (headers and raw body) and answers as the test tells it to."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook

from tests.support.waiting import HANG_SECONDS


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = orjson.loads(self.body)["events"]
        return events

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """What ``standardwebhooks`` makes of it (raises if the signature is wrong)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    url: str = ""
    # The status to answer the n-th (0-based) request with; 204 by default.
    status: Callable[[int], int] = lambda n: 204
    # When set, requests wait until it is set before answering (a hung receiver).
    gate: threading.Event | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)  # every request, answered or not
    answered: list[tuple[Received, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[Received]:
        """The requests answered 2xx."""
        with self.lock:
            return [r for r, status in self.answered if 200 <= status < 300]

    def delivered_event_ids(self) -> list[int]:
        return [e["id"] for r in self.delivered() for e in r.events]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            got = Received({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            with receiver.lock:
                n = len(receiver.received)
                receiver.received.append(got)
            if receiver.gate is not None:
                receiver.gate.wait(HANG_SECONDS)
            status = receiver.status(n)
            self.send_response(status)
            for name, value in receiver.extra_headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()
            with receiver.lock:
                receiver.answered.append((got, status))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(**kw: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kw)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.gate is not None:
            receiver.gate.set()
        server.shutdown()
        server.server_close()


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    """Wait for ``condition()`` to be truthy (polling); fail only if it never comes."""
    deadline = time.monotonic() + HANG_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")
