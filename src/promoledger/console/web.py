"""What every console page shares: the route class that turns failures into HTML pages, the
session and CSRF dependencies, form parsing and template rendering.

A page is one template plus one small route: ``router = console_router()``, a handler taking
``Viewer`` (signed in, CONFIG READ) or ``Actor`` (a checked POST form), and ``render(...)``.
Console routes call the same services as the API; they never call the API over HTTP.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from promoledger.api.deps import get_runtime, request_id
from promoledger.api.errors import status_for
from promoledger.console import sessions
from promoledger.console.sessions import ConsoleSession
from promoledger.domain.context import Principal
from promoledger.domain.errors import PromoledgerError, Throttled
from promoledger.domain.vocabulary import Access, Resource

SESSION_COOKIE = "promoledger_console"
SIGNIN_COOKIE = "promoledger_console_signin"  # the sign-in form's CSRF token (no session yet)
MAX_FORM_BYTES = 256 * 1024

_env = Environment(
    loader=PackageLoader("promoledger.console", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


class PageError(Exception):
    """A console refusal shown as a page: ``status`` with a title and an explanation."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class SignInRequired(Exception):
    """No live session: answer 401 with the sign-in form (and come back here afterwards)."""


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    session: ConsoleSession | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request, session=session, principal=session.principal if session else None,
        **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def signin_page(
    request: Request, *, status: int = 200, error: str | None = None, next_path: str = ""
) -> HTMLResponse:
    """The sign-in form, with a fresh sign-in CSRF token in a cookie and in the form."""
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        status=status,
        error=error,
        signin_token=token,
        next_path=next_path if _local_path(next_path) else "",
    )
    set_cookie(request, response, SIGNIN_COOKIE, token, path="/console")
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, *, path: str) -> None:
    """HttpOnly, SameSite=Strict; Secure when the request came over https (uvicorn applies a
    trusted proxy's X-Forwarded-Proto to the scheme, see docs/console.md)."""
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _local_path(path: str) -> bool:
    return path.startswith("/console") and not path.startswith("//") and "\\" not in path


class ConsoleRoute(APIRoute):
    """Domain errors, refusals and missing sessions become HTML pages, never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                next_path = request.url.path if request.method == "GET" else ""
                if next_path and request.url.query:
                    next_path += "?" + request.url.query
                return signin_page(request, status=401, next_path=next_path)
            except PageError as exc:
                return error_page(request, exc.status, exc.title, exc.message)
            except PromoledgerError as exc:
                response = error_page(request, status_for(exc), exc.error.message, exc.message)
                if isinstance(exc, Throttled):
                    response.headers["Retry-After"] = str(exc.retry_after)
                return response

        return guarded


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    session: ConsoleSession | None = getattr(request.state, "console_session", None)
    return render(
        request, "error.html", status=status, session=session, title=title, message=message
    )


def console_router() -> APIRouter:
    return APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (last value wins for a repeated name)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageError(413, "Form too large", "The form is larger than the console accepts.")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PageError(400, "Unreadable form", "The form could not be read.") from exc


def idle(request: Request) -> timedelta:
    return timedelta(minutes=get_runtime(request).settings.console_idle_minutes)


async def current_session(request: Request) -> ConsoleSession:
    """The signed-in session; 401 (sign-in page) without one, 403 without CONFIG READ."""
    known: ConsoleSession | None = getattr(request.state, "console_session", None)
    if known is not None:
        return known
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        raise SignInRequired()
    runtime = get_runtime(request)
    session = await run_in_threadpool(sessions.resume, runtime.uow, token, idle=idle(request))
    if session is None:
        raise SignInRequired()
    request.state.console_session = session
    await require_access(request, session.principal, Resource.CONFIG, Access.READ)
    return session


async def require_access(
    request: Request, principal: Principal, resource: Resource, level: Access
) -> None:
    """The API's access rule for this action; a refusal is audited as the API audits it."""
    if principal.allows(resource, level):
        return
    await run_in_threadpool(
        get_runtime(request).auth.record_denied,
        principal,
        request_id=request_id(request),
        detail={"method": request.method, "path": request.url.path,
                "needs": f"{resource}:{level.name}"},
    )  # fmt: skip
    raise PageError(
        403,
        "Access denied",
        f"{principal.name} needs {resource.value} {level.name} access for this page "
        "(Not authorized. Access is denied!).",
    )


@dataclass(frozen=True, slots=True)
class Submitted:
    """A POSTed console form whose CSRF token matched the session's."""

    session: ConsoleSession
    form: dict[str, str]


async def checked_form(
    request: Request, session: Annotated[ConsoleSession, Depends(current_session)]
) -> Submitted:
    form = await read_form(request)
    if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf_token.encode()):
        raise csrf_refused()
    return Submitted(session, form)


def csrf_refused() -> PageError:
    return PageError(
        403,
        "Form refused",
        "This form did not carry this session's security token (CSRF), so nothing was done. "
        "Reload the page and submit it again.",
    )


Viewer = Annotated[ConsoleSession, Depends(current_session)]
Form = Annotated[Submitted, Depends(checked_form)]
