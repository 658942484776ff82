"""Route: ``POST /v2/promotion/issue?identifierName=&identifierValue=&source=`` (one customer).

``identifierName`` is id (alias cuid), mobile, email or externalId; the three query parameters
are required (11013), ``type`` is optional and must be CUSTOMER (1212), ``accountId`` is optional.

Success: ``{"warnings":[],"errors":[],"sideEffects":[{programId, promotionId, issualId,
earnedId, type}]}`` with integer ids, never null (an enrolment has no ``earnedId``; a direct
issue's ``issualId`` is the customer's dummy enrolment) and ``type``
the Capillary name of the promotion type (LOYALTY_EARNING or LOYALTY). Over a limit: HTTP 200,
warning 8890, no side effect. Every failure (request-level or this customer's): HTTP 400 and
the same shape with ``errors`` set (see ``api/errors.py``); auth failures keep 401/403.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from promoledger.api.capillary import decode_json
from promoledger.api.deps import CustomerWrite
from promoledger.api.errors import ErrorFamily, error_item, family_router
from promoledger.api.extensions import mutate
from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction, BulkRequest, parse_bulk_request
from promoledger.domain.errors import RequestRejected
from promoledger.domain.vocabulary import SINGLE_CUSTOMER_IDENTIFIER_NAMES, PromotionType
from promoledger.services import issue as service

router = family_router(ErrorFamily.ISSUE, tags=["capillary"])

# Capillary's backend names for the promotion types (the bulk APIs accept them as aliases).
CAPILLARY_TYPE = {
    PromotionType.ENROL_AND_ISSUE: "LOYALTY_EARNING",
    PromotionType.DIRECT_ISSUE: "LOYALTY",
    PromotionType.GENERIC: "GENERIC",
}

ISSUE_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["programId"],
    "properties": {
        "programId": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "promotionId": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "promoIdentifier": {"type": "string"},
    },
    # The promotion is named by its id or by its identifier (Capillary accepts either).
    "anyOf": [{"required": ["promotionId"]}, {"required": ["promoIdentifier"]}],
}


ISSUE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "identifierName",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "enum": ["id", "mobile", "email", "externalId"]},
    },
    {"name": "identifierValue", "in": "query", "required": True, "schema": {"type": "string"}},
    {"name": "source", "in": "query", "required": True, "schema": {"type": "string"}},
    {
        "name": "type",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["CUSTOMER"]},
    },
    {"name": "accountId", "in": "query", "required": False, "schema": {"type": "string"}},
]

# The three query parameters Capillary requires; any of them missing or empty → 11013.
REQUIRED_PARAMS = ("identifierName", "identifierValue", "source")


@router.post(
    "/v2/promotion/issue",
    summary="Enrol one customer (ENROL_AND_ISSUE) or issue the promotion to them (DIRECT_ISSUE)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ISSUE_BODY_SCHEMA}},
        },
        "parameters": ISSUE_PARAMETERS,
    },
)
async def issue(request: Request, principal: CustomerWrite) -> Response:
    body = await request.body()
    query = dict(request.query_params)
    # Parsed inside ``mutate``, like the bulk routes: a rejected request is answered with
    # X-Dry-Run on a dry run, and stored and replayed under an Idempotency-Key.
    return await mutate(
        request,
        principal,
        body=body,
        run=lambda uow, ctx: service.issue(
            uow, ctx, request=parse_issue_request(query, decode_json(body))
        ),
        render=_render,
    )


def parse_issue_request(query: dict[str, str], body: Any) -> BulkRequest:
    """Read the query and body as a one-customer bulk request, so the same rules apply.

    This endpoint's own checks come first: the three query parameters (11013 with its own
    message) and ``type`` (1212; ``accountId`` is accepted and not used: one org, one account).
    """
    if not isinstance(body, dict):
        raise RequestRejected(E.INVALID_JSON)
    if any(not query.get(name, "").strip() for name in REQUIRED_PARAMS):
        raise RequestRejected(E.ISSUE_PARAMS_EMPTY)
    if query.get("type", "CUSTOMER") != "CUSTOMER":
        raise RequestRejected(E.ISSUE_ENTITY_TYPE)
    payload = {
        "type": "CUSTOMER",
        "promotionDetails": {
            key: body[key] for key in ("programId", "promotionId", "promoIdentifier") if key in body
        },
        "identifierName": query["identifierName"],
        "customers": [{"identifierValue": query["identifierValue"], "source": query["source"]}],
    }
    return parse_bulk_request(
        payload,
        actions=None,
        fixed_action=BulkAction.ENROL,
        batch_limit=1,
        identifier_names=SINGLE_CUSTOMER_IDENTIFIER_NAMES,
    )


def _render(result: service.IssueResult) -> tuple[int, Any]:
    outcome = result.outcome
    side_effects = []
    if not outcome.warnings:
        effect: dict[str, Any] = {
            "programId": result.promotion.program_id,
            "promotionId": result.promotion.id,
            "issualId": outcome.enrolment_id,  # on a direct issue, the dummy enrolment
        }
        if outcome.earn_id is not None:  # an enrolment creates no earn: no key, never null
            effect["earnedId"] = outcome.earn_id
        effect["type"] = CAPILLARY_TYPE[result.promotion.type]
        side_effects.append(effect)
    return 200, {
        "warnings": [error_item(w) for w in outcome.warnings],
        "errors": [],
        "sideEffects": side_effects,
    }
