"""Route: ``GET /v2/customers/lookup/promotionData`` (customer READ).

This endpoint speaks Capillary's UI vocabulary: a timeline's ``enrollmentId`` is the bulk APIs'
``issualId`` (an enrolment) and ``issuedDetails[].issualId`` is their ``earnedId`` (an earn).
``pointsOfferType`` carries Capillary's type names (LOYALTY_EARNING, LOYALTY, GENERIC).

Answer: ``{"pagination":{limit, offset, total}, "data":[...], "warnings":[], "errors":[]}``.
Failures (8013, 11013, 8003, 8015, 9002 for a bad limit/offset/filter): HTTP 400 and
``{"data":[], "warnings":[], "errors":[{status, code, message}]}`` (see ``api/errors.py``).
"""

from __future__ import annotations

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
from promoledger.domain.errors import RequestRejected
from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.lookup import CustomerPromotion, CustomerPromotionStatus, Timeline
from promoledger.domain.vocabulary import (
    SINGLE_CUSTOMER_IDENTIFIER_NAMES,
    IdentifierName,
    Source,
    parse_identifier_name,
    parse_source,
)
from promoledger.services import lookup as service

router = family_router(ErrorFamily.LOOKUP, tags=["capillary"])

MAX_LIMIT = 100
DEFAULT_LIMIT = 10


@router.get(
    "/v2/customers/lookup/promotionData",
    summary="A customer's promotions with their enrolment and issue timelines",
    openapi_extra={
        "parameters": [
            {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}
            for name, required in (
                ("identifierName", True),
                ("identifierValue", True),
                ("source", False),
                ("promotionStatusForCustomer", False),
                ("limit", False),
                ("offset", False),
            )
        ]
    },
)
async def promotion_data(request: Request, principal: CustomerRead) -> OrjsonResponse:
    runtime = get_runtime(request)
    query = parse_lookup_query(dict(request.query_params))
    page = await run_in_threadpool(
        service.promotion_data, runtime.uow, org_id=principal.org_id, query=query
    )
    return json_response(
        {
            "pagination": {"limit": page.limit, "offset": page.offset, "total": page.total},
            "data": [_promotion(item) for item in page.items],
            "warnings": [],
            "errors": [],
        }
    )


def parse_lookup_query(params: dict[str, str]) -> service.LookupQuery:
    """The checks in order: 8013, 11013, 8003, then limit/offset/filter (9002)."""
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
    return service.LookupQuery(
        identifier=identifier,
        value=value,
        customer_id=parse_int(value) if identifier is IdentifierName.ID else None,
        source=source,
        status=status,
        limit=limit,
        offset=_non_negative(params, "offset", 0),
    )


def _non_negative(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    # Bounded like every id: the value is echoed in ``pagination``, which JSON encodes as int64.
    digits = raw.lstrip("0") or "0"
    if not (raw.isascii() and raw.isdigit()) or len(digits) > 19 or int(digits) > MAX_DB_INT:
        raise _invalid(f"{name} must be a non-negative integer")
    return int(raw)


def _invalid(detail: str) -> RequestRejected:
    return RequestRejected(E.INVALID_FIELD, detail=detail)


def _promotion(item: CustomerPromotion) -> dict[str, Any]:
    p = item.promotion
    return {
        "promotionId": p.id,
        "promotionName": p.name,
        "programId": p.program_id,
        "identifier": p.identifier,
        "active": p.active,
        "startDate": _date(p.start_date),
        "endDate": _date(p.end_date),
        "pointsOfferType": CAPILLARY_TYPE[p.type],
        "customerPromotionTimelines": [_timeline(t) for t in item.timelines],
    }


def _timeline(timeline: Timeline) -> dict[str, Any]:
    enrolment = timeline.enrolment
    return {
        "enrollmentId": enrolment.id if enrolment else None,
        "enrollmentDate": _date(enrolment.created_at) if enrolment else None,
        "enrollmentExpiryDate": _date(enrolment.expires_at) if enrolment else None,
        "status": enrolment.status.value if enrolment else None,  # (ext)
        "issuedDetails": [_earn(e) for e in timeline.earns],
    }


def _earn(earn: LedgerRecord) -> dict[str, Any]:
    return {
        "issualId": earn.id,
        "issualDate": _date(earn.created_at),
        "issualExpiryDate": _date(earn.expires_at),
        "status": earn.status.value,  # (ext)
    }


def _date(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
