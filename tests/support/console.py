"""Driving the console's forms from a test client: sign in, read the CSRF token of a page."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.support.factories import Caller

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_KEY = re.compile(r'name="idempotencyKey" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html[:2000]
    return match.group(1)


def key_of(html: str) -> str:
    match = _KEY.search(html)
    assert match, html[:2000]
    return match.group(1)


def sign_in(
    client: TestClient, caller: Caller, *, kind: str = "till", password: str | None = None
) -> Any:
    form = client.get("/console/signin")
    assert form.status_code == 200
    return client.post(
        "/console/signin",
        data={
            "csrf": csrf_of(form.text),
            "kind": kind,
            "name": caller.name,
            "password": caller.secret if password is None else password,
            "next": "",
        },
        follow_redirects=False,
    )


def page_csrf(client: TestClient, path: str = "/console/customers") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
