"""The HTTP server's limits, on a real socket against a real ``promoledger serve``: oversized
heads get 431, silent and slow clients are cut off, open connections are capped."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.servers import Server

pytestmark = pytest.mark.slow

DEADLINE = 1.0  # the server's header/body read deadline in these tests
CAP = 20  # open connections the server accepts in these tests
GENEROUS = 30.0  # bound on waits, far above the deadlines: never depends on machine speed


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    shutil.copyfile(sqlite_template, folder / "promoledger.db")
    env = {
        "PROMOLEDGER_HEADER_TIMEOUT_SECONDS": str(DEADLINE),
        "PROMOLEDGER_BODY_TIMEOUT_SECONDS": str(DEADLINE),
        "PROMOLEDGER_MAX_CONNECTIONS": str(CAP),
        "PROMOLEDGER_KEEP_ALIVE_SECONDS": "300",  # held connections stay open during the test
    }
    srv = Server(f"sqlite:///{folder / 'promoledger.db'}", env=env).start(folder)
    yield srv
    srv.stop()


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=GENEROUS)


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _request(header_bytes: int) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * header_bytes + b"\r\n\r\n"


def test_a_few_kb_of_headers_pass_and_tens_of_kb_get_431(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(_request(8 * 1024))
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
    with _connect(server) as sock:
        sock.sendall(_request(100 * 1024))
        answer = _read_all(sock)  # and the server closes the connection
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_streamed_huge_header_is_cut_off_early(server: Server) -> None:
    """The reviewer's 200 MB header: refused after the first tens of KB, not buffered."""
    sent = 0
    refused = False
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        try:
            while sent < 200 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            refused = True  # the server closed on us
    assert refused
    assert sent < 64 * 1024 * 1024
    assert httpx2.get(f"{server.url}/healthz", timeout=GENEROUS).status_code == 200


def test_a_silent_connection_is_closed_after_the_header_deadline(server: Server) -> None:
    started = time.monotonic()
    with _connect(server) as sock:
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408")
    assert DEADLINE <= time.monotonic() - started + 0.1 < GENEROUS


def test_a_slow_header_is_closed_after_the_deadline(server: Server) -> None:
    """Trickling one header line at a time does not reset the deadline."""
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        try:
            while time.monotonic() - started < GENEROUS:
                sock.sendall(b"X-Slow: 1\r\n")
                time.sleep(DEADLINE / 10)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        assert closed


def test_a_slow_body_is_closed_after_the_deadline(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /v3/oauth/token/generate HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408")


def test_open_connections_are_capped_and_the_server_recovers(server: Server) -> None:
    held: list[socket.socket] = []
    try:
        for _ in range(CAP):  # each sends its request at once (a silent one would get 408)
            sock = _connect(server)
            held.append(sock)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        with _connect(server) as extra:
            assert _read_all(extra).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + GENEROUS
    while True:
        try:
            if httpx2.get(f"{server.url}/healthz", timeout=GENEROUS).status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server never accepted connections again"
        time.sleep(0.05)
