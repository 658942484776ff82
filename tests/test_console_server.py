"""The console behind a TLS-terminating proxy, against a real ``promoledger serve``: the session
cookie is Secure when the trusted proxy says the client used https."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.console import csrf_of
from tests.support.factories import World
from tests.support.servers import running

pytestmark = pytest.mark.slow


def _session_cookie(headers: list[str]) -> str:
    return next(h for h in headers if h.startswith("promoledger_console="))


def test_the_cookie_is_secure_only_when_the_proxy_says_https(
    world: World, database_url: str, tmp_path: Path
) -> None:
    till = world.till(world.org())
    with running(database_url, tmp_path) as (server,):
        for proto, secure in (("https", True), ("http", False)):
            with server.client() as http:
                form = http.get("/console/signin", headers={"X-Forwarded-Proto": proto})
                # Sent by hand: the client itself talks plain http to the server, so it would
                # keep a Secure cookie to itself.
                signin_cookie = form.headers["set-cookie"].split(";")[0]
                assert ("Secure" in form.headers["set-cookie"]) is secure
                http.cookies.clear()
                answer = http.post(
                    "/console/signin",
                    data={"csrf": csrf_of(form.text), "kind": "till", "name": till.name,
                          "password": till.secret},
                    headers={"X-Forwarded-Proto": proto, "Cookie": signin_cookie},
                )  # fmt: skip
            assert answer.status_code == 303, answer.text
            cookie = _session_cookie(answer.headers.get_list("set-cookie"))
            assert ("Secure" in cookie) is secure, cookie
            assert "HttpOnly" in cookie
