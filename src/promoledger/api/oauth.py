"""``POST /v3/oauth/token/generate``: OAuth client credentials → a signed access token.

The only route besides the health checks that takes no credential. Errors answer in the v3
shape, ``{"data": null, "errors": [...]}`` (see ``api/errors.py``): 400 for a malformed body,
401 for a wrong key or secret, 429 while the key is throttled.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from promoledger.api.capillary import read_json
from promoledger.api.deps import RuntimeDep, client_address, request_id
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.domain.errors import INVALID_FIELD, RequestRejected

router = family_router(ErrorFamily.TOKEN, tags=["oauth"])

GENERATE_PATH = "/v3/oauth/token/generate"

_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["key", "secret"],
    "properties": {
        "key": {"type": "string", "description": "The client key printed by `client create`."},
        "secret": {"type": "string", "description": "The client secret (shown once)."},
    },
}


@router.post(
    GENERATE_PATH,
    summary="Exchange an OAuth client's key and secret for an access token",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
)
async def generate_token(request: Request, runtime: RuntimeDep) -> OrjsonResponse:
    body = await read_json(request)
    key = body.get("key") if isinstance(body, dict) else None
    secret = body.get("secret") if isinstance(body, dict) else None
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
        # Never echo the body: it may carry the secret.
        raise RequestRejected(INVALID_FIELD, detail="key and secret are required strings")
    # argon2 on a cache miss is slow on purpose: it runs on the hash executor, awaited.
    issued = await runtime.auth.issue_token(
        key, secret, client=client_address(request), request_id=request_id(request)
    )
    return json_response(
        {
            "data": {"accessToken": issued.access_token, "ttlSeconds": issued.ttl_seconds},
            "errors": None,
        }
    )
