"""Sign in (a till code and password, or an OAuth client's key and secret) and sign out.

Both are verified by the API's own code (``Authenticator.authenticate_secret``, over the same
``PasswordChecker.login`` as Basic headers and token requests): throttling, the audit of
failures and the verified-secret cache behave exactly as for a Basic header or a token request.
A till's password is hashed as a Capillary client hashes it (lowercase hex MD5) before that.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from promoledger.api.deps import client_address, get_runtime, request_id
from promoledger.console import sessions
from promoledger.console.web import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Form,
    Viewer,
    console_router,
    csrf_refused,
    idle,
    read_form,
    require_access,
    set_cookie,
    signin_page,
)
from promoledger.domain.errors import AuthenticationFailed
from promoledger.domain.vocabulary import Access, CredentialKind, Resource
from promoledger.services.passwords import md5_hex

router = console_router()
HOME = "/console/customers"


@router.get("")
async def home(request: Request, session: Viewer) -> Response:
    return RedirectResponse(HOME, status_code=303, headers=SECURITY_HEADERS)


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return signin_page(request, next_path=request.query_params.get("next", ""))


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await read_form(request)
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
        raise csrf_refused()
    kind = CredentialKind.CLIENT if form.get("kind") == "client" else CredentialKind.TILL
    name, secret = form.get("name", "").strip(), form.get("password", "")
    next_path = form.get("next", "")
    if kind is CredentialKind.TILL and secret:
        secret = md5_hex(secret)  # what a Capillary client sends in its Basic header
    runtime = get_runtime(request)
    try:
        principal = await runtime.auth.authenticate_secret(
            kind, name, secret, client=client_address(request), request_id=request_id(request)
        )
    except AuthenticationFailed:
        return signin_page(request, status=401, error=_FAILED, next_path=next_path)
    await require_access(request, principal, Resource.CONFIG, Access.READ)
    token = await run_in_threadpool(sessions.start, runtime.uow, principal, idle=idle(request))
    target = next_path if next_path.startswith("/console/") and "//" not in next_path else HOME
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    set_cookie(request, response, SESSION_COOKIE, token, path="/console")
    response.delete_cookie(SIGNIN_COOKIE, path="/console")
    return response


_FAILED = "Sign-in failed. Please check the name and password."


@router.post("/signout")
async def signout(request: Request, submitted: Form) -> Response:
    runtime = get_runtime(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(sessions.end, runtime.uow, token)
    response = signin_page(request, error=None)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
