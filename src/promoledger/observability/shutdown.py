"""A second Ctrl-C must not abandon requests in flight.

uvicorn treats a second SIGINT during shutdown as "exit now": requests still running are
cancelled, their clients get a plain-text 500 and an Idempotency-Key claim may be left RUNNING.
promoledger finishes them instead (each is bounded by the pool and statement timeouts, and the
whole shutdown by ``graceful_shutdown_seconds``); ``kill -9`` remains the way to abandon them.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger("promoledger")


def finish_requests_on_repeated_interrupt() -> None:
    """Wrap the running uvicorn server's SIGINT handler (called from the app's start-up)."""
    if threading.current_thread() is not threading.main_thread():
        return  # not under `serve` (e.g. a test client): there is no signal handler to wrap
    handler = signal.getsignal(signal.SIGINT)
    server: Any = getattr(handler, "__self__", None)
    if not callable(handler) or not hasattr(server, "server_state"):
        return

    def on_interrupt(sig: int, frame: FrameType | None) -> None:
        running = len(server.server_state.tasks)
        if server.should_exit and running:
            log.warning(
                "already shutting down: %d request(s) still running will finish first", running
            )
            return
        handler(sig, frame)

    signal.signal(signal.SIGINT, on_interrupt)
