"""Dependencies every route shares: the runtime, the caller's identity and permission check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from promoledger.api.runtime import Runtime
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import AuthenticationFailed, PermissionDenied
from promoledger.domain.vocabulary import Access, Resource
from promoledger.store import audit


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def request_id(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


def authenticate(request: Request, runtime: Runtime) -> Principal:
    """Basic (till) or OAuth token, exactly as Capillary clients send them."""
    token = request.headers.get("x-cap-api-oauth-token")
    if token:
        return runtime.auth.authenticate_token(token.strip())
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        return runtime.auth.authenticate_basic(value)
    if scheme.lower() == "bearer" and value:
        return runtime.auth.authenticate_token(value.strip())
    raise AuthenticationFailed()


def require(resource: Resource, level: Access) -> Callable[[Request], Principal]:
    """A dependency that authenticates the caller and checks one access-group permission."""

    def dependency(request: Request) -> Principal:
        runtime = get_runtime(request)
        principal = authenticate(request, runtime)
        if not principal.allows(resource, level):
            _audit_denied(runtime, request, principal, resource, level)
            raise PermissionDenied()
        request.state.principal = principal
        return principal

    return dependency


def _audit_denied(
    runtime: Runtime, request: Request, principal: Principal, resource: Resource, level: Access
) -> None:
    ctx = Context.for_principal(principal, request_id=request_id(request))
    change = audit.Change(
        action="ACCESS_DENIED",
        entity_type="REQUEST",
        detail={
            "method": request.method,
            "path": request.url.path,
            "needs": f"{resource}:{level.name}",
        },
    )
    with runtime.uow.write() as conn:
        audit.record(conn, ctx, [change])


CustomerRead = Annotated[Principal, Depends(require(Resource.CUSTOMER, Access.READ))]
CustomerWrite = Annotated[Principal, Depends(require(Resource.CUSTOMER, Access.WRITE))]
ConfigRead = Annotated[Principal, Depends(require(Resource.CONFIG, Access.READ))]
ConfigWrite = Annotated[Principal, Depends(require(Resource.CONFIG, Access.WRITE))]


def context_for(request: Request, principal: Principal) -> Context:
    """The audit context of this request: who, which request id, which idempotency key."""
    return Context.for_principal(
        principal,
        request_id=request_id(request),
        idempotency_key=request.headers.get("idempotency-key"),
    )
