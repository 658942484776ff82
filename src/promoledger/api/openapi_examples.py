"""Request and response examples for the bulk operations' OpenAPI entries.

The revoke examples are Capillary's own (the bulk revoke reference page, with its ``//``
comments removed); the siblings' examples reuse the same customers, program and promotion ids,
in the shapes those endpoints answer (``docs/parity.md``).
"""

from __future__ import annotations

from typing import Any

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
