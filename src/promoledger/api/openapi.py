"""The OpenAPI document, completed where FastAPI cannot see what the Capillary routes do.

The ``/v2`` handlers read raw JSON (so Capillary's codes, not pydantic's, answer bad input), so
FastAPI knows neither their answers nor their failures. This fills them in once, when the
document is first built: the three ways to authenticate, the extension headers and ``dryRun``
of every mutating POST, and each operation's success and error envelopes as actually sent.
The ``/admin/v1`` operations and the token endpoint get every failure status they can answer,
in their own envelopes, with examples built from the error catalogue.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from promoledger.api.openapi_examples import (
    ADMIN_ERROR_EXAMPLES,
    BULK_EXAMPLES,
    ISSUE_EXAMPLES,
    LOOKUP_EXAMPLES,
    TOKEN_EXAMPLES,
)
from promoledger.domain.vocabulary import PROMOTION_TYPE_ALIASES

SECURITY_SCHEMES: dict[str, Any] = {
    "tillBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "Till credentials: base64(tillCode + ':' + md5hex(password)). The client "
        "sends the lowercase hex MD5 of the till password, as Capillary clients do.",
    },
    "capOAuthToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CAP-API-OAUTH-TOKEN",
        "description": "A token from POST /v3/oauth/token/generate.",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The same token as X-CAP-API-OAUTH-TOKEN, in the standard header "
        "(promoledger extension).",
    },
}
_SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

_ITEM = {
    "type": "object",
    "required": ["status", "code", "message"],
    "properties": {
        "status": {"type": "boolean"},
        "code": {"type": "integer"},
        "message": {"type": "string"},
    },
}
_ITEMS = {"type": "array", "items": {"$ref": "#/components/schemas/CapillaryError"}}
SCHEMAS: dict[str, Any] = {
    "CapillaryError": _ITEM,
    "AuthError": {
        "type": "object",
        "required": ["errors"],
        "properties": {"errors": _ITEMS},
    },
    "BulkResponse": {
        "type": "object",
        "required": ["response", "totalCount", "failureCount"],
        "properties": {
            "response": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["errors", "warnings"],
                    "properties": {
                        "result": {"type": "object"},
                        "errors": _ITEMS,
                        "warnings": _ITEMS,
                    },
                },
            },
            "totalCount": {"type": "integer"},
            "failureCount": {"type": "integer"},
        },
    },
    "IssueResponse": {
        "type": "object",
        "required": ["warnings", "errors", "sideEffects"],
        "properties": {
            "warnings": _ITEMS,
            "errors": _ITEMS,
            "sideEffects": {"type": "array", "items": {"type": "object"}},
        },
    },
    "PromotionData": {
        "type": "object",
        "required": ["pageDetails", "customerId", "promotions", "warnings"],
        "properties": {
            "pageDetails": {
                "type": "object",
                "properties": {
                    name: {"type": "integer"}
                    for name in ("pageNumber", "pageSize", "totalEntries", "pageCount")
                },
            },
            "customerId": {"type": "integer"},
            "promotions": {"type": "array", "items": {"type": "object"}},
            "warnings": _ITEMS,
        },
    },
    "AdminError": {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                        "field": {"type": ["string", "null"]},
                    },
                },
            }
        },
    },
    "TokenResponse": {
        "type": "object",
        "required": ["data", "errors"],
        "properties": {
            "data": {
                "type": "object",
                "required": ["accessToken", "ttlSeconds"],
                "properties": {
                    "accessToken": {"type": "string"},
                    "ttlSeconds": {"type": "integer"},
                },
            },
            "errors": {"type": "null"},
        },
    },
    "TokenError": {
        "type": "object",
        "required": ["data", "errors"],
        "properties": {"data": {"type": "null"}, "errors": _ITEMS},
    },
    "LookupError": {
        "type": "object",
        "required": ["errors", "warnings"],
        "properties": {"errors": _ITEMS, "warnings": _ITEMS},
    },
}

_MUTATING_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Replays the stored answer to a repeat with the same body (extension).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    {
        "name": "X-Request-ID",
        "in": "header",
        "required": False,
        "description": "Echoed (generated when absent) and stamped on the audit trail.",
        "schema": {"type": "string"},
    },
    {
        "name": "dryRun",
        "in": "query",
        "required": False,
        "description": "The exact answer, nothing committed; the answer has X-Dry-Run: true.",
        # Only true or 1 (any case) asks for a dry run; any other value is a real write.
        "schema": {"type": "string", "examples": ["true", "false"]},
    },
]


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _responses(path: str, method: str) -> dict[str, Any]:
    auth = {
        "401": _json("AuthError", "No credential or a wrong one (code 401)."),
        "403": _json("AuthError", "Authenticated but not permitted (code 4000)."),
    }
    if "/lookup/" in path:
        return {
            "200": _json("PromotionData", "The customer's promotions, newest first."),
            "400": _json("LookupError", "8013, 11013, 8003, 8015, 9002."),
            **auth,
        }
    idempotency = {
        "409": _json("AuthError", "The Idempotency-Key's first request still runs (9432)."),
        "422": _json(
            "AuthError", "Idempotency-Key malformed (9422) or reused with another body (9431)."
        ),
    }
    if path.endswith("/promotion/issue"):
        return {
            "200": _json("IssueResponse", "Enrolled or issued (or warning 8890)."),
            "400": _json("IssueResponse", "Any failure, with errors set."),
            **auth,
            **idempotency,
            "503": _json("IssueResponse", "Database unavailable; nothing changed."),
        }
    return {
        "200": _json("BulkResponse", "One entry per customer, in request order."),
        "400": _json("BulkResponse", "Request-level rejection: one failed entry."),
        **auth,
        **idempotency,
        "503": _json("AuthError", "Database unavailable; nothing changed (Retry-After)."),
    }


# What each /admin/v1 status means (the examples come from the error catalogue).
_ADMIN_STATUS = {
    "400": "The body is not JSON (code 9400), or a job's CSV names no known bulk action (9001).",
    "401": "No credential, or a wrong or disabled one (code 401).",
    "403": "Authenticated, but the access group lacks the permission (code 4000).",
    "404": "No such resource in the caller's org (code 9404).",
    "409": "A duplicate identifier (9409), or the Idempotency-Key's first request still runs "
    "(9432).",
    "413": "Body larger than PROMOLEDGER_MAX_BODY_BYTES (code 9413).",
    "422": "The body or a parameter breaks a rule (9422); Idempotency-Key reused with another "
    "body (9431).",
    "503": "Database unavailable; nothing changed; retry after Retry-After (code 9503).",
}


def _admin_responses(path: str, method: str, operation: dict[str, Any]) -> None:
    """The admin envelope for every failure an /admin/v1 operation can answer."""
    writes = method in ("post", "patch")
    statuses = ["401", "403"]
    if "{" in path or path.endswith("/reinstatements"):
        statuses.append("404")
    if writes:
        statuses = ["400", *statuses, "409", "413", "422"]
        operation.setdefault("parameters", []).extend(_MUTATING_PARAMETERS)
    elif "422" in operation.get("responses", {}):
        statuses.append("422")
    statuses.append("503")
    responses = operation.setdefault("responses", {})
    for status in statuses:
        examples = ADMIN_ERROR_EXAMPLES[status]
        if status == "422" and not writes:
            examples = {"9422": examples["9422"]}
        if status == "409" and method == "patch":
            examples = {"9432": examples["9432"]}
        responses[status] = _json("AdminError", _ADMIN_STATUS[status])
        responses[status]["content"]["application/json"]["examples"] = examples


def _token_responses(operation: dict[str, Any]) -> None:
    operation["responses"] = {
        "200": _json("TokenResponse", "A signed access token and its lifetime."),
        "400": _json("TokenError", "Malformed body (9400), or key/secret missing (9002)."),
        "401": _json("TokenError", "Wrong key or secret, or a disabled client (code 401)."),
        "429": _json("TokenError", "Too many failures for this key (9429); see Retry-After."),
        "503": _json("TokenError", "Database unavailable (9503)."),
    }
    _add_examples(operation, TOKEN_EXAMPLES)


def _add_examples(operation: dict[str, Any], examples: dict[str, dict[str, Any]]) -> None:
    """Named examples on the request body and on each documented response status."""
    for key, named in examples.items():
        if key == "request":
            target = operation.get("requestBody", {}).get("content", {}).get("application/json")
        else:
            target = operation["responses"].get(key, {}).get("content", {}).get("application/json")
        if target is not None:
            target["examples"] = named


_EXAMPLES = {
    "/v2/promotion/issue": ISSUE_EXAMPLES,
    "/v2/customers/lookup/promotionData": LOOKUP_EXAMPLES,
    "/v2.1/customers/lookup/promotionData": LOOKUP_EXAMPLES,
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Complete FastAPI's document for the Capillary operations (``/v2`` and ``/v2.1``)."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {}).update(SCHEMAS)
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/admin/"):
            for method, operation in operations.items():
                _admin_responses(path, method, operation)
            continue
        if path.startswith("/v3/oauth/"):
            for operation in operations.values():
                _token_responses(operation)
            continue
        if not path.startswith(("/v2/", "/v2.1/")):
            for operation in operations.values():
                # The validation failures FastAPI documents as {"detail": [...]} are answered
                # in the admin envelope (api/errors.py).
                if "422" in operation.get("responses", {}):
                    operation["responses"]["422"] = _json("AdminError", "Validation failed.")
            continue
        for method, operation in operations.items():
            operation["security"] = _SECURITY
            operation["responses"] = _responses(path, method)
            if method == "post":
                operation.setdefault("parameters", []).extend(_MUTATING_PARAMETERS)
            _add_examples(operation, _EXAMPLES.get(path) or BULK_EXAMPLES.get(path, {}))
    _input_rules(components["schemas"])
    _lax_inputs(schema)
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    return schema


# Rules of /admin/v1 input fields the models check in code, stated in the document too.
_WEBHOOK_URL = {"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$"}
_INPUT_RULES: dict[tuple[str, str], dict[str, Any]] = {
    ("WebhookCreate", "url"): _WEBHOOK_URL,
    ("WebhookUpdate", "url"): _WEBHOOK_URL,
    # Any case is read; the document lists the canonical spelling.
    ("PromotionCreate", "type"): {"enum": sorted(PROMOTION_TYPE_ALIASES)},
}


def _input_rules(schemas: dict[str, Any]) -> None:
    for (name, field), rule in _INPUT_RULES.items():
        prop = schemas.get(name, {}).get("properties", {}).get(field)
        if prop is None:
            continue
        for target in prop.get("anyOf", [prop]):
            if target.get("type") == "string":
                target.update(rule)


_DATETIME = {"type": "string", "format": "date-time"}
# What pydantic's lax mode reads as a boolean, besides true and false.
_BOOLEAN_SPELLINGS = [0, 1, "0", "1", "true", "false", "t", "f", "yes", "no", "y", "n", "on", "off"]


def _lax_inputs(schema: dict[str, Any]) -> None:
    """The /admin/v1 inputs as pydantic reads them: a date-time also takes Unix seconds, a
    boolean also 0/1 and the usual words (any case). Only input schemas change."""
    schemas = schema["components"]["schemas"]
    pending: list[Any] = []
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/admin/"):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _lax(parameter.get("schema"))
            pending.append(operation.get("requestBody"))
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    for name in seen:
        schemas[name] = _lax(schemas[name])


def _lax(node: Any) -> Any:
    if isinstance(node, list):
        return [_lax(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "string" and node.get("format") == "date-time":
        rest = {k: v for k, v in node.items() if k not in _DATETIME}
        return {**rest, "anyOf": [_DATETIME, {"type": "number"}]}
    if node.get("type") == "boolean":
        rest = {k: v for k, v in node.items() if k != "type"}
        return {**rest, "anyOf": [{"type": "boolean"}, {"enum": _BOOLEAN_SPELLINGS}]}
    return {key: _lax(value) for key, value in node.items()}


def install(app: FastAPI) -> None:
    """Build the document lazily, once, through ``document``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
