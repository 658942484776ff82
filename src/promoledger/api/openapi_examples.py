"""Request and response examples for the OpenAPI entries: the bulk operations, the issue and
promotionData endpoints, and the error envelopes of /admin/v1 and the token endpoint
(``tests/test_openapi.py`` checks each against the answers the server really sends).

The revoke examples are Capillary's own (the bulk revoke reference page, with its ``//``
comments removed); the siblings' examples reuse the same customers, program and promotion ids,
in the shapes those endpoints answer (``docs/parity.md``).
"""

from __future__ import annotations

from typing import Any

from promoledger.domain import errors as E
from promoledger.domain.errors import ErrorDef

PROGRAM = 2714
CUSTOMER_A = "423927867"
CUSTOMER_B = "423927868"
PROMO_IDENTIFIER = "95c77d88-470c-4dd3-bde4-606ae1b64277"


def _request(action: str | None, details: dict[str, Any], customers: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "CUSTOMER"}
    if action is not None:
        body["bulkAction"] = action
    body.update({"promotionDetails": details, "identifierName": "id", "customers": customers})
    return body


def _customers(*ids: str) -> list[dict[str, Any]]:
    return [{"identifierValue": cid, "source": "instore"} for cid in ids]


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    return {"result": {"entityType": "CUSTOMER", **result}, "errors": [], "warnings": []}


def _failed(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": False, "message": message, "code": code}], "warnings": []}


def _envelope(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "response": list(entries),
        "totalCount": len(entries),
        "failureCount": sum(1 for e in entries if e["errors"]),
    }


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


_BY_ID = {"programId": PROGRAM, "promotionId": "202779"}
_BY_IDENTIFIER = {"programId": PROGRAM, "promoIdentifier": PROMO_IDENTIFIER}
_MIXED_IDENTIFIER = {
    "programId": PROGRAM,
    "promoIdentifier": "1d9e540d-ae2c-443f-9d0d-7ac146bf93f2",
}

_REVOKE_ENROL = _request("REVOKE_ENROL", _BY_ID, _customers(CUSTOMER_A))
_REVOKE_ENROL_MANY = _request("REVOKE_ENROL", _BY_ID, _customers(CUSTOMER_A, CUSTOMER_B))
_REVOKE_EARN = _request("REVOKE_EARN", _BY_IDENTIFIER, _customers(CUSTOMER_A))
_REVOKE_EARN_IDS = _request(
    "REVOKE_EARN",
    _MIXED_IDENTIFIER,
    [
        {"identifierValue": "423927848", "source": "instore", "earnIds": [959]},
        {"identifierValue": "423927855", "source": "instore", "earnIds": [960, 963]},
        {"identifierValue": "423927856", "source": "instore"},
    ],
)

_ENROLLED = _envelope(
    *(
        _ok({"entityId": entity, "promotionId": 202188, "programId": PROGRAM, "issualId": issual})
        for entity, issual in (
            (423926199, "847"),
            (423926198, "848"),
            (423926200, "849"),
            (423926201, "850"),
        )
    )
)
_REVOKED_EARNS = _envelope(
    _ok(
        {
            "entityId": 423927867,
            "promoIdentifier": PROMO_IDENTIFIER,
            "programId": PROGRAM,
            "revokedEarnIds": [974],
        }
    ),
    _ok(
        {
            "entityId": 423927868,
            "promoIdentifier": PROMO_IDENTIFIER,
            "programId": PROGRAM,
            "revokedEarnIds": [975, 977],
        }
    ),
)
_REVOKED_SOME = _envelope(
    _ok(
        {
            "entityId": 423927848,
            "promoIdentifier": "1d9e540d-ae2c-443f-9d0d-7ac146bf93f2",
            "programId": PROGRAM,
            "revokedEarnIds": [957],
        }
    )
)
_NOT_FOUND = "Customer not found for the given identifiers"
_PARTIAL = _envelope(
    _ok({"entityId": 555567088, "promotionId": 74230, "programId": 753, "revokedEarnIds": [111]}),
    _failed(8015, _NOT_FOUND),
    _failed(8015, _NOT_FOUND),
)
_INVALID_CUSTOMER = _envelope(
    _failed(8896, "Error occurred while issuing promotion to the customer")
)

_COMMON_400 = {
    "8901": _example(
        "type other than CUSTOMER", _envelope(_failed(8901, "invalid entity type passed"))
    ),
    "1101": _example("unknown program", _envelope(_failed(1101, "invalid programId passed"))),
    "8874": _example(
        "unknown promotion", _envelope(_failed(8874, "promotion id passed is invalid"))
    ),
    "8892": _example("inactive promotion", _envelope(_failed(8892, "promotion is inactive"))),
}
_REVOKE_8902 = _example(
    "action not allowed on the promotion type",
    _envelope(
        _failed(8902, "revoke bulk action passed not supported for loyalty/generic promotion type")
    ),
)
_ACTION_8902 = _example(
    "action not allowed on the promotion type",
    _envelope(_failed(8902, "bulk action passed not supported for loyalty/generic promotion type")),
)

_EARNED = _envelope(
    _ok(
        {
            "entityId": 423927867,
            "promotionId": 202779,
            "programId": PROGRAM,
            "issualId": "847",
            "earnedId": "974",
        }
    ),
    _ok(
        {
            "entityId": 423927868,
            "promotionId": 202779,
            "programId": PROGRAM,
            "issualId": "848",
            "earnedId": "975",
        }
    ),
)
_DIRECT_EARNED = _envelope(
    *(
        _ok(
            {
                "entityId": int(entry["result"]["entityId"]),
                "promotionId": 202779,
                "programId": PROGRAM,
                "promotionName": "10% off after a purchase",
                "issualId": entry["result"]["issualId"],
                "earnedId": entry["result"]["earnedId"],
            }
        )
        for entry in _EARNED["response"]
    )
)
_LIMIT_WARNING = {
    "result": {
        "entityType": "CUSTOMER",
        "entityId": 423927867,
        "promotionId": 202779,
        "programId": PROGRAM,
    },
    "errors": [],
    "warnings": [
        {
            "status": False,
            "message": "promotion not issued due to config issues or customer exhausted limits",
            "code": 8890,
        }
    ],
}

# path -> {"request": {name: example}, "200": {...}, "400": {...}}
BULK_EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "/v2/promotion/bulk/revokeEnrolAndEarn": {
        "request": {
            "revokeEnrol": _example("REVOKE_ENROL, one customer", _REVOKE_ENROL),
            "revokeEnrolMany": _example("REVOKE_ENROL, two customers", _REVOKE_ENROL_MANY),
            "revokeEarn": _example("REVOKE_EARN by promoIdentifier, all earns", _REVOKE_EARN),
            "revokeEarnIds": _example("REVOKE_EARN, chosen earnIds", _REVOKE_EARN_IDS),
        },
        "200": {
            "revokedEnrolments": _example("enrolments revoked", _ENROLLED),
            "revokedEarns": _example("earns revoked", _REVOKED_EARNS),
            "revokedEarnIds": _example("chosen earns revoked", _REVOKED_SOME),
            "partialFailure": _example("two customers not found", _PARTIAL),
            "invalidCustomer": _example("invalid customer id", _INVALID_CUSTOMER),
        },
        "400": {"8902": _REVOKE_8902, **_COMMON_400},
    },
    "/v2/promotion/bulk/revokeDirectEarn": {
        "request": {
            "revokeEarn": _example("all earns", {**_REVOKE_EARN}),
            "revokeEarnIds": _example("chosen earnIds", _REVOKE_EARN_IDS),
            "withoutBulkAction": _example(
                "bulkAction omitted",
                {k: v for k, v in _REVOKE_EARN.items() if k != "bulkAction"},
            ),
        },
        "200": {
            "revokedEarns": _example("earns revoked", _REVOKED_EARNS),
            "revokedEarnIds": _example("chosen earns revoked", _REVOKED_SOME),
            "partialFailure": _example("two customers not found", _PARTIAL),
        },
        "400": {"8902": _REVOKE_8902, **_COMMON_400},
    },
    "/v2/promotion/bulk/enrolAndEarn": {
        "request": {
            "enrol": _example("ENROL", _request("ENROL", _BY_ID, _customers(CUSTOMER_A))),
            "earn": _example("EARN", _request("EARN", _BY_ID, _customers(CUSTOMER_A, CUSTOMER_B))),
        },
        "200": {
            "enrolled": _example("enrolled (issualId per customer)", _ENROLLED),
            "earned": _example("earned (issualId and earnedId)", _EARNED),
            "limitReached": _example("per-customer limit reached", _envelope(_LIMIT_WARNING)),
        },
        "400": {"8902": _ACTION_8902, **_COMMON_400},
    },
    "/v2/promotion/bulk/directEarn": {
        "request": {
            "directEarn": _example(
                "issue to two customers",
                _request(None, _BY_ID, _customers(CUSTOMER_A, CUSTOMER_B)),
            ),
        },
        "200": {
            "earned": _example("issued (dummy enrolment as issualId)", _DIRECT_EARNED),
            "partialFailure": _example(
                "one customer not found",
                _envelope(_DIRECT_EARNED["response"][0], _failed(8015, _NOT_FOUND)),
            ),
        },
        "400": {"8902": _ACTION_8902, **_COMMON_400},
    },
}


# --- POST /v2/promotion/issue ------------------------------------------------------------------
def _issue_answer(
    *,
    warnings: list[Any] | None = None,
    errors: list[Any] | None = None,
    effects: list[Any] | None = None,
) -> dict[str, Any]:
    return {"warnings": warnings or [], "errors": errors or [], "sideEffects": effects or []}


def _item(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "code": code, "message": message}


ISSUE_EXAMPLES: dict[str, dict[str, Any]] = {
    "request": {
        "byPromotionId": _example(
            "?identifierName=id&identifierValue=423927867&source=INSTORE",
            {"programId": PROGRAM, "promotionId": 202779},
        ),
    },
    "200": {
        "enrolled": _example(
            "ENROL_AND_ISSUE: the customer is enrolled (no earnedId)",
            _issue_answer(
                effects=[
                    {
                        "programId": PROGRAM,
                        "promotionId": 202779,
                        "issualId": 847,
                        "type": "LOYALTY_EARNING",
                    }
                ]
            ),
        ),
        "issued": _example(
            "DIRECT_ISSUE: issued under the customer's dummy enrolment",
            _issue_answer(
                effects=[
                    {
                        "programId": PROGRAM,
                        "promotionId": 202780,
                        "issualId": 848,
                        "earnedId": 975,
                        "type": "LOYALTY",
                    }
                ]
            ),
        ),
        "limitReached": _example(
            "per-customer limit reached: nothing changes",
            _issue_answer(
                warnings=[
                    _item(
                        8890,
                        "promotion not issued due to config issues or customer exhausted limits",
                    )
                ]
            ),
        ),
    },
    "400": {
        "8015": _example("customer not found", _issue_answer(errors=[_item(8015, _NOT_FOUND)])),
        "11013": _example(
            "a required query parameter is missing",
            _issue_answer(
                errors=[_item(11013, "identifierName, identifierValue, source can not be empty")]
            ),
        ),
        "8874": _example(
            "unknown promotion",
            _issue_answer(errors=[_item(8874, "promotion id passed is invalid")]),
        ),
    },
}


# --- GET /v2/customers/lookup/promotionData (and /v2.1) ----------------------------------------
_WHEN = "2026-11-30T10:15:00.000Z"
_LOOKUP_FOUND: dict[str, Any] = {
    "pageDetails": {"pageNumber": 0, "pageSize": 10, "totalEntries": 1, "pageCount": 1},
    "customerId": int(CUSTOMER_A),
    "promotions": [
        {
            "promotionId": 202779,
            "promotionName": "Welcome offer",
            "programId": PROGRAM,
            "identifier": PROMO_IDENTIFIER,
            "description": None,
            "active": True,
            "eventName": None,
            "startDate": _WHEN,
            "endDate": None,
            "promotionMetadata": [],
            "limits": {
                "maxPointsPerEvent": 0,
                "pointsPerCustomer": 0,
                "numberOFTimesPerCustomer": 5,
                "totalPointsInPromotion": 0,
            },
            "customerUsage": {
                "currentPointsPerCustomer": 0,
                "currentNumberOfTimesPerCustomer": 1,
                "currentTotalPointsInPromotion": 0,
            },
            "pointsOfferType": "LOYALTY_EARNING",
            "promotionRestriction": {
                "issualRestrictions": [
                    {
                        "kpi": "NUMBER_OF_ISSUALS",
                        "maxLimit": 1,
                        "currentCustomerUsage": 1,
                        "limitOn": "CUSTOMER",
                        "type": "NON_PERIOD_BASED",
                    }
                ],
                "earnRestrictions": [
                    {
                        "kpi": "NUMBER_OF_EARNS",
                        "maxLimit": 5,
                        "currentCustomerUsage": 1,
                        "limitOn": "CUSTOMER",
                        "type": "NON_PERIOD_BASED",
                    }
                ],
                "redemptionRestrictions": [],
            },
            "customerPromotionTimelines": [
                {
                    "enrollmentId": 847,
                    "enrollmentDate": _WHEN,
                    "enrollmentExpiryDate": None,
                    "enrollEventLogId": 1201,
                    "status": "ACTIVE",
                    "issuedDetails": [
                        {
                            "issualId": 974,
                            "issualDate": _WHEN,
                            "issualExpiryDate": None,
                            "issualEventLogId": 1202,
                            "redeemedCount": 0,
                            "status": "ACTIVE",
                        }
                    ],
                }
            ],
        }
    ],
    "warnings": [],
}


_NOT_ENROLLED = {
    **_LOOKUP_FOUND["promotions"][0],
    "customerUsage": {
        "currentPointsPerCustomer": 0,
        "currentNumberOfTimesPerCustomer": 0,
        "currentTotalPointsInPromotion": 0,
    },
    "promotionRestriction": {
        "issualRestrictions": [
            {
                "kpi": "NUMBER_OF_ISSUALS",
                "maxLimit": 1,
                "currentCustomerUsage": 0,
                "limitOn": "CUSTOMER",
                "type": "NON_PERIOD_BASED",
            }
        ],
        "earnRestrictions": [
            {
                "kpi": "NUMBER_OF_EARNS",
                "maxLimit": 5,
                "currentCustomerUsage": 0,
                "limitOn": "CUSTOMER",
                "type": "NON_PERIOD_BASED",
            }
        ],
        "redemptionRestrictions": [],
    },
    "customerPromotionTimelines": [],
}


def _lookup_failure(code: int, message: str) -> dict[str, Any]:
    return {"errors": [_item(code, message)], "warnings": []}


LOOKUP_EXAMPLES: dict[str, dict[str, Any]] = {
    "200": {
        "enrolledAndEarned": _example(
            "one promotion: enrolled (enrollmentId = issualId) and earned once", _LOOKUP_FOUND
        ),
        "notEnrolled": _example(
            "a member not enrolled yet: the program's promotions, no timeline",
            {**_LOOKUP_FOUND, "customerId": int(CUSTOMER_B), "promotions": [_NOT_ENROLLED]},
        ),
    },
    "400": {
        "8013": _example(
            "identifierName missing or unknown",
            _lookup_failure(8013, "Invalid identifier name passed"),
        ),
        "8015": _example("customer not found", _lookup_failure(8015, _NOT_FOUND)),
        "9002": _example(
            "DATA-SCOPE other than SELF (also a bad limit, offset or filter)",
            _lookup_failure(
                9002,
                "DATA-SCOPE header: only SELF is supported (connected orgs are not modelled)",
            ),
        ),
    },
}


# --- /admin/v1 and the token endpoint: their error envelopes, from the error catalogue ---------
def _admin(error: ErrorDef, message: str | None = None, field: str | None = None) -> dict[str, Any]:
    return {"errors": [{"code": error.code, "message": message or error.message, "field": field}]}


def _token(error: ErrorDef, message: str | None = None) -> dict[str, Any]:
    return {"data": None, "errors": [_item(error.code, message or error.message)]}


# status -> {name: example}; ``api/openapi.py`` picks the statuses each operation can answer.
ADMIN_ERROR_EXAMPLES: dict[str, dict[str, Any]] = {
    "400": {"9400": _example("the body is not JSON", _admin(E.INVALID_JSON))},
    "401": {"401": _example("no credential, or a wrong or disabled one", _admin(E.AUTH_FAILED))},
    "403": {"4000": _example("the access group lacks the permission", _admin(E.ACCESS_DENIED))},
    "404": {
        "9404": _example(
            "no such resource in the caller's org (another org's answers the same)",
            _admin(E.NOT_FOUND, "program not found"),
        )
    },
    "409": {
        "9409": _example(
            "a unique identifier is taken",
            _admin(
                E.DUPLICATE, "customers.0.mobile 917010000000 already exists", "customers.0.mobile"
            ),
        ),
        "9432": _example(
            "the first request with this Idempotency-Key is still running",
            _admin(E.IDEMPOTENCY_IN_FLIGHT),
        ),
    },
    "413": {"9413": _example("body over PROMOLEDGER_MAX_BODY_BYTES", _admin(E.BODY_TOO_LARGE))},
    "422": {
        "9422": _example(
            "the body or a parameter breaks a rule",
            _admin(E.VALIDATION, "name: String should have at least 1 character", "name"),
        ),
        "9431": _example(
            "Idempotency-Key reused with another body",
            _admin(E.IDEMPOTENCY_MISMATCH),
        ),
    },
    "503": {"9503": _example("database unavailable; nothing changed", _admin(E.DB_UNAVAILABLE))},
}

TOKEN_EXAMPLES: dict[str, dict[str, Any]] = {
    "request": {"credentials": _example("a client's key and secret", {"key": "k", "secret": "s"})},
    "200": {
        "issued": _example(
            "a token, sent back as X-CAP-API-OAUTH-TOKEN",
            {
                "data": {"accessToken": "eyJhbGciOiJIUzI1NiIs...", "ttlSeconds": 3600},
                "errors": None,
            },
        )
    },
    "400": {
        "9400": _example("the body is not JSON", _token(E.INVALID_JSON)),
        "9002": _example(
            "key or secret missing, empty or not a string",
            _token(E.INVALID_FIELD, "key and secret are required strings"),
        ),
    },
    "401": {"401": _example("wrong key or secret, or a disabled client", _token(E.AUTH_FAILED))},
    "429": {"9429": _example("throttled: see Retry-After", _token(E.THROTTLED))},
    "503": {"9503": _example("database unavailable", _token(E.DB_UNAVAILABLE))},
}
