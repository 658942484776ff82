"""Routes: ``GET /v2/customers/lookup/promotionData`` and its ``/v2.1`` variant (customer READ).

This endpoint speaks Capillary's UI vocabulary: a timeline's ``enrollmentId`` is the bulk APIs'
``issualId`` (an enrolment) and ``issuedDetails[].issualId`` is their ``earnedId`` (an earn).
``pointsOfferType`` carries Capillary's type names (LOYALTY_EARNING, LOYALTY, GENERIC).

Answer, in Capillary's shape: ``{"pageDetails":{pageNumber, pageSize, totalEntries, pageCount},
"customerId", "promotions":[...], "warnings":[]}``, newest promotion first. Failures (8013,
11013, 8003, 8015; 9002 for a bad limit/offset/filter or a DATA-SCOPE other than SELF): HTTP 400
and ``{"errors":[{status, code, message}], "warnings":[]}`` (see ``api/errors.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from promoledger.api.deps import CustomerRead, get_runtime
from promoledger.api.errors import ErrorFamily, family_router
from promoledger.api.issue import CAPILLARY_TYPE
from promoledger.api.responses import OrjsonResponse, json_response
from promoledger.domain import errors as E
from promoledger.domain.bulk import MAX_DB_INT, parse_int
from promoledger.domain.context import Principal
from promoledger.domain.errors import RequestRejected
from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.lookup import (
    CustomerPromotion,
    CustomerPromotionStatus,
    PromotionSourceType,
    Restriction,
    Timeline,
)
from promoledger.domain.vocabulary import (
    SINGLE_CUSTOMER_IDENTIFIER_NAMES,
    IdentifierName,
    PromotionType,
    Source,
    canonical_promotion_type,
    parse_identifier_name,
    parse_source,
)
from promoledger.services import lookup as service

router = family_router(ErrorFamily.LOOKUP, tags=["capillary"])

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
DATA_SCOPE = "DATA-SCOPE"

_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "identifierName",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "enum": ["id", "cuid", "mobile", "email", "externalId"]},
    },
    {
        "name": "identifierValue",
        "in": "query",
        "required": True,
        # Blank (after trimming) is 11013.
        "schema": {"type": "string", "pattern": "\\S"},
    },
    {
        "name": "source",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": [s.value for s in Source]},
    },
    {
        "name": "promotionStatusForCustomer",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": [s.value for s in CustomerPromotionStatus]},
    },
    {"name": "promotionType", "in": "query", "required": False, "schema": {"type": "string"}},
    {"name": "programs", "in": "query", "required": False, "schema": {"type": "string"}},
    {
        "name": "sourceType",
        "in": "query",
        "required": False,
        "description": "Where the promotion was created. Every promoledger promotion is created "
        "through its config API: API keeps them all, UI and CAMPAIGN match none.",
        "schema": {"type": "string", "enum": [s.value for s in PromotionSourceType]},
    },
    {"name": "fetchAllUsage", "in": "query", "required": False, "schema": {"type": "boolean"}},
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
    },
]


@router.get(
    "/v2/customers/lookup/promotionData",
    summary="A customer's promotions with their limits, usage and enrolment/issue timelines",
    openapi_extra={"parameters": _PARAMETERS},
)
async def promotion_data(request: Request, principal: CustomerRead) -> OrjsonResponse:
    return await _answer(request, principal)


@router.get(
    "/v2.1/customers/lookup/promotionData",
    summary="promotionData for the caller's own org (DATA-SCOPE: SELF, the default)",
    openapi_extra={
        "parameters": [
            *_PARAMETERS,
            {
                "name": DATA_SCOPE,
                "in": "header",
                "required": False,
                "schema": {"type": "string", "enum": ["SELF"]},
            },
        ]
    },
)
async def promotion_data_v21(request: Request, principal: CustomerRead) -> OrjsonResponse:
    scope = request.headers.get(DATA_SCOPE, "SELF").strip().upper() or "SELF"
    if scope != "SELF":
        # Connected orgs are not modelled: OTHER and ALL would name data promoledger lacks.
        raise _invalid(
            f"{DATA_SCOPE} header: only SELF is supported (connected orgs are not modelled)"
        )
    return await _answer(request, principal)


async def _answer(request: Request, principal: Principal) -> OrjsonResponse:
    runtime = get_runtime(request)
    params = dict(request.query_params)
    query = parse_lookup_query(params)
    fetch_all = _flag(params, "fetchAllUsage")
    page = await run_in_threadpool(
        service.promotion_data, runtime.uow, org_id=principal.org_id, query=query
    )
    return json_response(
        {
            "pageDetails": {
                "pageNumber": page.offset // page.limit if page.limit else 0,
                "pageSize": page.limit,
                "totalEntries": page.total,
                "pageCount": math.ceil(page.total / page.limit) if page.limit else 0,
            },
            "customerId": page.customer_id,
            "promotions": [_promotion(item, fetch_all, page.event_ids) for item in page.items],
            "warnings": [],
        }
    )


def parse_lookup_query(params: dict[str, str]) -> service.LookupQuery:
    """The checks in order: 8013, 11013, 8003, then limit/offset/filters (9002)."""
    identifier = parse_identifier_name(
        params.get("identifierName"), SINGLE_CUSTOMER_IDENTIFIER_NAMES
    )
    if identifier is None:
        raise RequestRejected(E.INVALID_IDENTIFIER_NAME)
    value = params.get("identifierValue", "").strip()
    if not value:
        raise RequestRejected(E.EMPTY_CUSTOMERS)
    if identifier is IdentifierName.EMAIL:
        value = value.lower()
    source: Source | None = None
    if "source" in params:
        source = parse_source(params["source"])
        if source is None:
            raise RequestRejected(E.INVALID_SOURCE)
    status: CustomerPromotionStatus | None = None
    if params.get("promotionStatusForCustomer"):
        try:
            status = CustomerPromotionStatus(params["promotionStatusForCustomer"].strip().upper())
        except ValueError:
            raise _invalid(
                "promotionStatusForCustomer must be one of "
                + ", ".join(s.value for s in CustomerPromotionStatus)
            ) from None
    limit = _non_negative(params, "limit", DEFAULT_LIMIT)
    if limit > MAX_LIMIT:
        raise _invalid(f"limit must be between 0 and {MAX_LIMIT}")
    _flag(params, "fetchAllUsage")  # checked here, with the other filters
    return service.LookupQuery(
        identifier=identifier,
        value=value,
        customer_id=parse_int(value) if identifier is IdentifierName.ID else None,
        source=source,
        status=status,
        limit=limit,
        offset=_non_negative(params, "offset", 0),
        types=_promotion_types(params.get("promotionType", "")),
        programs=_programs(params.get("programs", "")),
        source_type=_source_type(params.get("sourceType", "")),
    )


def _items(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _promotion_types(raw: str) -> frozenset[PromotionType] | None:
    """``promotionType``: one type or a comma-separated list, Capillary's aliases accepted."""
    names = _items(raw)
    if not names:
        return None
    types = {canonical_promotion_type(name) for name in names}
    if None in types:
        raise _invalid("promotionType must be GENERIC, DIRECT_ISSUE or ENROL_AND_ISSUE")
    return frozenset(t for t in types if t is not None)


def _programs(raw: str) -> frozenset[int] | None:
    """``programs``: comma-separated program ids."""
    names = _items(raw)
    if not names:
        return None
    ids = [parse_int(name) for name in names]
    if any(i is None for i in ids):
        raise _invalid("programs must be a comma-separated list of program ids")
    return frozenset(i for i in ids if i is not None)


def _source_type(raw: str) -> PromotionSourceType | None:
    """``sourceType``: UI, API or CAMPAIGN (any case); empty means no filter."""
    if not raw.strip():
        return None
    try:
        return PromotionSourceType(raw.strip().upper())
    except ValueError:
        raise _invalid(
            "sourceType must be one of " + ", ".join(t.value for t in PromotionSourceType)
        ) from None


def _flag(params: dict[str, str], name: str) -> bool:
    raw = params.get(name, "").strip().lower()
    if raw not in ("", "true", "false"):
        raise _invalid(f"{name} must be true or false")
    return raw == "true"


def _non_negative(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    # Bounded like every id: the value is echoed in ``pageDetails``, which JSON encodes as int64.
    digits = raw.lstrip("0") or "0"
    if not (raw.isascii() and raw.isdigit()) or len(digits) > 19 or int(digits) > MAX_DB_INT:
        raise _invalid(f"{name} must be a non-negative integer")
    return int(raw)


def _invalid(detail: str) -> RequestRejected:
    return RequestRejected(E.INVALID_FIELD, detail=detail)


def _promotion(
    item: CustomerPromotion, fetch_all: bool, event_ids: Mapping[tuple[str, int], int]
) -> dict[str, Any]:
    p = item.promotion
    issual, earn = item.restrictions(fetch_all=fetch_all)
    shaped: dict[str, Any] = {
        "promotionId": p.id,
        "promotionName": p.name,
        "programId": p.program_id,
        "identifier": p.identifier,
        "description": None,  # promoledger's promotions carry no description
        "active": p.active,
        "eventName": None,  # no promotion is triggered by an event in promoledger
        # An open start is "since the promotion was created"; an open end stays null.
        "startDate": _date(p.start_date or p.created_at),
        "endDate": _date(p.end_date),
        "promotionMetadata": [],
        # promoledger issues no points: every points figure is 0.
        "limits": {
            "maxPointsPerEvent": 0,
            "pointsPerCustomer": 0,
            "numberOFTimesPerCustomer": p.earns_per_customer,
            "totalPointsInPromotion": 0,
        },
        "customerUsage": {
            "currentPointsPerCustomer": 0,
            "currentNumberOfTimesPerCustomer": item.earns_used,
            "currentTotalPointsInPromotion": 0,
        },
        "pointsOfferType": CAPILLARY_TYPE[p.type],
        "promotionRestriction": {
            "issualRestrictions": [_restriction(r) for r in issual],
            "earnRestrictions": [_restriction(r) for r in earn],
            "redemptionRestrictions": [],
        },
    }
    if p.type is not PromotionType.GENERIC:
        shaped["customerPromotionTimelines"] = [_timeline(t, event_ids) for t in item.timelines]
    return shaped


def _restriction(restriction: Restriction) -> dict[str, Any]:
    return {
        "kpi": restriction.kpi,
        "maxLimit": restriction.max_limit,
        "currentCustomerUsage": restriction.current_usage,
        "limitOn": "CUSTOMER",
        "type": "NON_PERIOD_BASED",
    }


def _timeline(timeline: Timeline, event_ids: Mapping[tuple[str, int], int]) -> dict[str, Any]:
    enrolment = timeline.enrolment
    return {
        "enrollmentId": enrolment.id if enrolment else None,
        "enrollmentDate": _date(enrolment.created_at) if enrolment else None,
        "enrollmentExpiryDate": _date(enrolment.expires_at) if enrolment else None,
        # The audit event that created the enrolment (None for one created without an event,
        # e.g. a direct-issue dummy enrolment added by migration 0005).
        "enrollEventLogId": event_ids.get(("ENROLMENT", enrolment.id)) if enrolment else None,
        "status": enrolment.status.value if enrolment else None,  # (ext)
        "issuedDetails": [_earn(e, event_ids) for e in timeline.earns],
    }


def _earn(earn: LedgerRecord, event_ids: Mapping[tuple[str, int], int]) -> dict[str, Any]:
    return {
        "issualId": earn.id,
        "issualDate": _date(earn.created_at),
        "issualExpiryDate": _date(earn.expires_at),
        "issualEventLogId": event_ids.get(("EARN", earn.id)),  # the audit event creating it
        "redeemedCount": 0,  # redemption is not modelled
        "status": earn.status.value,  # (ext)
    }


def _date(value: datetime | None) -> str | None:
    """Capillary's date format: ``YYYY-MM-DDTHH:MM:SS.000Z`` in UTC."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
