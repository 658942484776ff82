"""Real ``promoledger serve`` processes for tests: start on a free port, wait for /readyz,
stop politely or ``kill -9``.

Each server runs in its own process group, so ``kill_9`` also takes down uvicorn's worker
processes (``--workers N``) at once, as a power cut or the OOM killer would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from tests.support.waiting import HANG_SECONDS

PROMOLEDGER = Path(sys.executable).with_name("promoledger")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One ``promoledger serve`` (possibly with several worker processes) on one port."""

    database_url: str
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_dir: Path) -> Server:
        self.port = self.port or free_port()
        self.log_path = log_dir / f"serve-{self.port}-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "PROMOLEDGER_DATABASE_URL": self.database_url,
            "PROMOLEDGER_DB_POOL_SIZE": "4",
            # Waiting for the SQLite write lock or a pooled connection is never a failure here.
            "PROMOLEDGER_SQLITE_BUSY_TIMEOUT_MS": str(int(HANG_SECONDS * 1000)),
            "PROMOLEDGER_DB_POOL_TIMEOUT": str(HANG_SECONDS),
            **self.env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(PROMOLEDGER),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Wait until /readyz answers 200 (or the process exits: then fail with its log)."""
        deadline = time.monotonic() + HANG_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.url}/readyz", timeout=HANG_SECONDS).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"server not ready after {HANG_SECONDS}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def kill_9(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no rollback, no flush."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=HANG_SECONDS)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=HANG_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill_9()

    def client(self, **kw: object) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, timeout=HANG_SECONDS, **kw)  # type: ignore[arg-type]

    def get(self, path: str, **kw: Any) -> httpx2.Response:
        with self.client() as http:
            return http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx2.Response:
        with self.client() as http:
            return http.post(path, **kw)


@contextlib.contextmanager
def running(
    database_url: str, log_dir: Path, *, count: int = 1, workers: int = 1, **env: str
) -> Iterator[list[Server]]:
    """``count`` servers on one database, stopped (or already killed) on exit."""
    servers: list[Server] = []
    try:
        for _ in range(count):
            servers.append(Server(database_url, workers=workers, env=dict(env)).start(log_dir))
        yield servers
    finally:
        for server in servers:
            server.stop()
