"""Dependencies every route shares: the runtime, the caller's identity and permission check."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from promoledger.domain.context import Principal
from promoledger.domain.errors import AuthenticationFailed, PermissionDenied
from promoledger.domain.vocabulary import Access, Resource
from promoledger.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def request_id(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


def client_address(request: Request) -> str | None:
    """The peer address failures are counted against (the proxy's, behind a proxy)."""
    return request.client.host if request.client is not None else None


async def authenticate(request: Request, runtime: Runtime) -> Principal:
    """Basic (till) or OAuth token, exactly as Capillary clients send them; once per request.

    Awaited, not run on the thread pool: a password hash on a cache miss must never hold a
    thread that other requests need (see ``services/hashing.py``).
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    rid = request_id(request)
    token = request.headers.get("x-cap-api-oauth-token", "").strip()
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if token:
        principal = await runtime.auth.authenticate_token(token, request_id=rid)
    elif scheme.lower() == "basic" and value:
        principal = await runtime.auth.authenticate_basic(
            value, client=client_address(request), request_id=rid
        )
    elif scheme.lower() == "bearer" and value:
        principal = await runtime.auth.authenticate_token(value, request_id=rid)
    else:
        raise AuthenticationFailed()
    request.state.principal = principal
    return principal


def require(
    resource: Resource, level: Access
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the caller and checks one access-group permission.

    Deny by default: a route is reachable only through one of the annotated dependencies
    below (a test walks every route and asserts 401 without credentials).
    """

    async def dependency(request: Request) -> Principal:
        runtime = get_runtime(request)
        principal = await authenticate(request, runtime)
        if not principal.allows(resource, level):
            detail = {
                "method": request.method,
                "path": request.url.path,
                "needs": f"{resource}:{level.name}",
            }
            await run_in_threadpool(
                runtime.auth.record_denied,
                principal,
                request_id=request_id(request),
                detail=detail,
            )
            raise PermissionDenied()
        return principal

    dependency.__name__ = f"require_{resource.value.lower()}_{level.name.lower()}"
    return dependency


CustomerRead = Annotated[Principal, Depends(require(Resource.CUSTOMER, Access.READ))]
CustomerWrite = Annotated[Principal, Depends(require(Resource.CUSTOMER, Access.WRITE))]
ConfigRead = Annotated[Principal, Depends(require(Resource.CONFIG, Access.READ))]
ConfigWrite = Annotated[Principal, Depends(require(Resource.CONFIG, Access.WRITE))]
