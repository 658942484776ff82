"""The Capillary wire layer: raw JSON in, the bulk envelope out; the only place saying issualId."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from promoledger.api.deps import get_runtime
from promoledger.api.errors import catalogue_item
from promoledger.api.extensions import mutate
from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction, BulkRequest, PromotionRef, parse_bulk_request
from promoledger.domain.context import Context, Principal
from promoledger.domain.errors import RequestRejected
from promoledger.domain.outcomes import BatchResult, EntryOutcome
from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import Source
from promoledger.store.uow import UnitOfWork


# The request body schema, for the OpenAPI document (the handlers parse raw JSON themselves so
# that the Capillary error codes, not pydantic's, answer malformed input).
def bulk_body_schema(
    actions: Iterable[str] | None = None, *, action_required: bool = False
) -> dict[str, Any]:
    """A bulk body; ``actions`` are the endpoint's bulkAction spellings (None: it takes none)."""
    properties: dict[str, Any] = {
        "type": {"type": "string", "enum": ["CUSTOMER", "USERGROUP2"], "example": "CUSTOMER"},
        "identifierName": {"type": "string", "enum": ["id", "mobile", "email"]},
        "promotionDetails": {
            "type": "object",
            "required": ["programId"],
            "properties": {
                "programId": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                "promotionId": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                "promoIdentifier": {"type": "string"},
                "identifierName": {"type": "string", "enum": ["id", "mobile", "email"]},
            },
        },
        "customers": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["identifierValue"],
                "properties": {
                    "identifierValue": {"type": "string"},
                    "source": {
                        "type": "string",
                        # Capillary's pages list the values in capitals and send them in lower
                        # case ("instore"); any case is accepted.
                        "enum": [s.value for s in Source] + [s.value.lower() for s in Source],
                        "description": "Matched case-insensitively.",
                    },
                    "earnIds": {"type": "array", "items": {"type": "integer"}},
                },
            },
        },
    }
    required = ["type", "promotionDetails", "customers"]
    if actions is not None:
        properties["bulkAction"] = {"type": "string", "enum": sorted(actions)}
        if action_required:
            required.append("bulkAction")
    return {"type": "object", "required": required, "properties": properties}


BULK_BODY_SCHEMA: dict[str, Any] = bulk_body_schema()


def openapi_body(schema: dict[str, Any] = BULK_BODY_SCHEMA) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(E.INVALID_JSON) from exc


async def read_json(request: Request) -> Any:
    return decode_json(await request.body())


async def bulk_mutation(
    request: Request,
    principal: Principal,
    *,
    actions: Mapping[str, BulkAction] | None,
    fixed_action: BulkAction | None = None,
    with_earn_ids: bool = False,
    with_promotion_name: bool = False,
    execute: Callable[[UnitOfWork, Context, BulkRequest], BatchResult],
) -> Response:
    """A Capillary bulk POST: parse (with the endpoint's bulkAction rules), execute, answer
    with the envelope (``with_promotion_name``: each result names the promotion, as
    directEarn's do).

    Parsing runs inside ``mutate``, so a request-level rejection (400) is answered, stored and
    replayed under an Idempotency-Key exactly like a processed request.
    """
    body = await request.body()
    batch_limit = get_runtime(request).settings.batch_limit

    def run(uow: UnitOfWork, ctx: Context) -> BatchResult:
        bulk = parse_bulk_request(
            decode_json(body),
            actions=actions,
            fixed_action=fixed_action,
            batch_limit=batch_limit,
            with_earn_ids=with_earn_ids,
        )
        return execute(uow, ctx, bulk)

    def render(result: BatchResult) -> tuple[int, Any]:
        return 200, bulk_envelope(result, with_promotion_name=with_promotion_name)

    return await mutate(request, principal, body=body, run=run, render=render)


def bulk_envelope(result: BatchResult, *, with_promotion_name: bool = False) -> dict[str, Any]:
    """``{"response":[...], "totalCount", "failureCount"}``, entry i answering customers[i]."""
    outcomes = result.outcomes
    name = result.promotion.name if with_promotion_name else None
    response = [_entry(result.ref, result.promotion, result.action, o, name) for o in outcomes]
    return {
        "response": response,
        "totalCount": len(response),
        "failureCount": sum(1 for o in outcomes if o.failed),
    }


def _entry(
    ref: PromotionRef,
    promotion: Promotion,
    action: BulkAction,
    outcome: EntryOutcome,
    promotion_name: str | None = None,
) -> dict[str, Any]:
    warnings = [catalogue_item(w) for w in outcome.warnings]
    if outcome.errors:
        return {"errors": [catalogue_item(e) for e in outcome.errors], "warnings": warnings}
    assert outcome.customer_id is not None
    result: dict[str, Any] = {"entityType": "CUSTOMER", "entityId": outcome.customer_id}
    # Echo the promotion key(s) the request used, as Capillary does.
    if ref.promotion_id is not None:
        result["promotionId"] = promotion.id
    if ref.promo_identifier is not None:
        result["promoIdentifier"] = promotion.identifier
    result["programId"] = promotion.program_id
    if promotion_name is not None:
        result["promotionName"] = promotion_name
    if action is BulkAction.REVOKE_ENROL:
        if outcome.enrolment_id is not None:
            result["issualId"] = str(outcome.enrolment_id)
            result["revokedIssualId"] = outcome.enrolment_id
    elif action is BulkAction.REVOKE_EARN:
        result["revokedEarnIds"] = outcome.revoked_earn_ids or []
    else:
        # EARN on DIRECT_ISSUE: the issualId is the customer's dummy enrolment.
        if outcome.enrolment_id is not None:
            result["issualId"] = str(outcome.enrolment_id)
        if outcome.earn_id is not None:
            result["earnedId"] = str(outcome.earn_id)
    return {"result": result, "errors": [], "warnings": warnings}
