"""The one error catalogue: every code promoledger can return, Capillary's and its own.

Services raise the exceptions at the bottom of this module; ``api/errors.py`` is the only
place that turns them into HTTP responses. ``docs/errors.md`` is generated from ``CATALOGUE``
(a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorDef:
    code: int
    message: str
    meaning: str
    origin: str = "capillary"  # or "promoledger" for our own codes


def _c(code: int, message: str, meaning: str) -> ErrorDef:
    return ErrorDef(code, message, meaning)


def _own(code: int, message: str, meaning: str) -> ErrorDef:
    return ErrorDef(code, message, meaning, origin="promoledger")


# --- authentication and access -------------------------------------------------------------
AUTH_FAILED = _c(
    401,
    "Authentication failed. Please check username and password.",
    "No credential, a wrong one, or a disabled one.",
)
TOKEN_INVALID = _c(
    401,
    "Authentication failed. The access token is invalid or expired.",
    "An OAuth token that is expired, tampered, unsigned (alg none) or from another issuer.",
)
ACCESS_DENIED = _c(
    4000,
    "Not authorized. Access is denied!",
    "Authenticated, but the credential's access group lacks the permission.",
)
THROTTLED = _own(
    9429,
    "Too many failed authentication attempts. Retry later.",
    "Repeated failures for one credential name; see the Retry-After header.",
)

# --- request-level (HTTP 400, whole request rejected) ---------------------------------------
INVALID_JSON = _own(9400, "Malformed JSON request body", "The body is not a JSON object.")
USER_GROUP = _c(8899, "Cannot enrol/issue to the user group.", "type USERGROUP2 is not supported.")
INVALID_ENTITY_TYPE = _c(
    8901, "invalid entity type passed", "type is not exactly CUSTOMER (case-sensitive)."
)
INSUFFICIENT_PARAMS = _c(
    8881,
    "Insufficient parameters passed; program ID and one of the promotion ID/identifiers are "
    "required",
    "promotionDetails.programId, or both promotionId and promoIdentifier, are missing.",
)
INVALID_PROGRAM = _c(
    1101, "invalid programId passed", "No program with that id in the caller's org."
)
INVALID_PROMOTION = _c(
    8874,
    "promotion id passed is invalid",
    "No such promotion in the program, or promotionId and promoIdentifier disagree.",
)
PROMOTION_INACTIVE = _c(
    8892,
    "promotion is inactive",
    "The promotion is deactivated, or (for ENROL/EARN) outside its date window.",
)
REVOKE_NOT_SUPPORTED = _c(
    8902,
    "revoke bulk action passed not supported for loyalty/generic promotion type",
    "REVOKE_ENROL on a DIRECT_ISSUE promotion, or any revoke on GENERIC.",
)
ACTION_NOT_SUPPORTED = _c(
    8902,
    "bulk action passed not supported for loyalty/generic promotion type",
    "ENROL on a DIRECT_ISSUE promotion, directEarn on ENROL_AND_ISSUE, anything on GENERIC.",
)
INVALID_IDENTIFIER_NAME = _c(
    8013,
    "Invalid identifier name passed",
    "identifierName is missing or not one of id, mobile, email (bulk APIs); id, cuid, mobile, "
    "email, externalId (/v2/promotion/issue and promotionData).",
)
EMPTY_CUSTOMERS = _c(
    11013,
    "Customer identifier is empty",
    "customers is missing or empty (request-level), or an identifierValue is empty (entry).",
)
ISSUE_PARAMS_EMPTY = _c(
    11013,
    "identifierName, identifierValue, source can not be empty",
    "POST /v2/promotion/issue: a query parameter identifierName, identifierValue or source is "
    "missing or empty.",
)
ISSUE_ENTITY_TYPE = _c(
    1212,
    "Entity type invalid",
    "POST /v2/promotion/issue: the type query parameter is given and is not CUSTOMER.",
)
BATCH_LIMIT = _c(
    1060, "Batch limit size exceeded", "More customers than the batch limit (default 100)."
)
INVALID_BULK_ACTION = _own(
    9001,
    "invalid bulk action passed",
    "bulkAction is missing or not valid for this endpoint.",
)
INVALID_FIELD = _own(
    9002,
    "Invalid value passed",
    "A field has the wrong type or shape (for example earnIds is not a list of integers), a "
    "promotionData filter is invalid, or the v2.1 DATA-SCOPE header is not SELF.",
)

# --- per customer (HTTP 200, the entry fails) -----------------------------------------------
INVALID_SOURCE = _c(8003, "Invalid source", "source is not one of the supported sources.")
CUSTOMER_NOT_FOUND = _c(
    8015,
    "Customer not found for the given identifiers",
    "No such customer in the org, not a member of the program, or not registered in the source.",
)
ISSUE_FAILED = _c(
    8896,
    "Error occurred while issuing promotion to the customer",
    "With identifierName id, the value is not a positive integer.",
)
EARN_IDS_INVALID = _c(
    8903,
    "Earn IDs passed are either invalid or already revoked",
    "An earnId is not an ACTIVE earn of this customer in this promotion, or earnIds is [].",
)
NO_ACTIVE_ENROLMENT = _c(
    2305,
    "Active issued promotion is not available for the customer.",
    "Nothing active to revoke: no active enrolment (REVOKE_ENROL) or no active earns "
    "(REVOKE_EARN without earnIds).",
)
ACTIVE_EARNS_EXIST = _own(
    9101,
    "Active earns exist for the customer; revoke the earns before the enrolment",
    "REVOKE_ENROL while the customer still has ACTIVE earns in the promotion. Nothing changes.",
)
NOT_ENROLLED = _own(
    9102,
    "Customer is not enrolled in the promotion",
    "EARN on an ENROL_AND_ISSUE promotion needs an ACTIVE enrolment. Nothing is earned.",
)

# --- warnings -------------------------------------------------------------------------------
LIMIT_EXHAUSTED = _c(
    8890,
    "promotion not issued due to config issues or customer exhausted limits",
    "Warning: the per-customer enrolment or earn limit is reached; nothing changes.",
)

# --- /admin/v1 and extensions ---------------------------------------------------------------
NOT_FOUND = _own(9404, "Not found", "No such resource in the caller's org.")
VALIDATION = _own(9422, "Invalid request", "The body or a parameter failed validation.")
DUPLICATE = _own(9409, "Duplicate identifier", "A unique identifier is already taken.")
TYPE_IMMUTABLE = _own(9423, "A promotion's type cannot be changed", "PATCH tried to change type.")
IDEMPOTENCY_MISMATCH = _own(
    9431,
    "Idempotency-Key was already used with a different request body",
    "Reusing a key with another body is refused (HTTP 422).",
)
IDEMPOTENCY_IN_FLIGHT = _own(
    9432,
    "A request with this Idempotency-Key is still being processed",
    "Retry after the first request finishes (HTTP 409).",
)
BODY_TOO_LARGE = _own(9413, "Request body too large", "The body exceeds the configured maximum.")
DB_UNAVAILABLE = _own(
    9503,
    "Service temporarily unavailable; nothing was changed. Retry later.",
    "The database failed or timed out; the request was rolled back (HTTP 503, Retry-After).",
)
INTERNAL = _own(9500, "Internal error; nothing was changed", "A bug. The request was rolled back.")

# --- bulk jobs (POST /admin/v1/jobs) ---------------------------------------------------------
JOB_NO_IDENTIFIER_COLUMN = _own(
    9460,
    "The file has no identifierValue column",
    "A CSV job file's header row must name an identifierValue column.",
)
JOB_NOT_UTF8 = _own(9461, "The file is not UTF-8 text", "A job file must be UTF-8 (BOM allowed).")
JOB_CONTENT_TYPE = _own(
    9462,
    "Unsupported job file type",
    "A job file is sent as text/csv or application/x-ndjson.",
)
JOB_FINISHED = _own(
    9470, "The job has already finished", "Only a QUEUED or RUNNING job can be cancelled."
)

CATALOGUE: tuple[ErrorDef, ...] = tuple(
    v for v in dict(globals()).values() if isinstance(v, ErrorDef)
)


# --- exceptions services raise --------------------------------------------------------------
class PromoledgerError(Exception):
    """Base of every domain error. ``field`` names the offending input where there is one."""

    def __init__(self, error: ErrorDef, *, detail: str | None = None, field: str | None = None):
        super().__init__(detail or error.message)
        self.error = error
        self.detail = detail
        self.field = field

    @property
    def message(self) -> str:
        return self.detail or self.error.message


class RequestRejected(PromoledgerError):
    """A Capillary request-level failure: HTTP 400, nothing changes."""


class AuthenticationFailed(PromoledgerError):
    def __init__(self, error: ErrorDef = AUTH_FAILED, *, detail: str | None = None):
        super().__init__(error, detail=detail)


class PermissionDenied(PromoledgerError):
    def __init__(self) -> None:
        super().__init__(ACCESS_DENIED)


class Throttled(PromoledgerError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(THROTTLED)
        self.retry_after = retry_after


class NotFound(PromoledgerError):
    def __init__(self, what: str) -> None:
        super().__init__(NOT_FOUND, detail=f"{what} not found")


class PayloadTooLarge(PromoledgerError):
    """A body over its configured maximum (413)."""

    def __init__(self) -> None:
        super().__init__(BODY_TOO_LARGE)


class Conflict(PromoledgerError):
    """A duplicate identifier (409)."""


class Invalid(PromoledgerError):
    """Input that parses but breaks a rule (422 on /admin/v1)."""


class IdempotencyMismatch(PromoledgerError):
    def __init__(self) -> None:
        super().__init__(IDEMPOTENCY_MISMATCH)


class IdempotencyInFlight(PromoledgerError):
    def __init__(self) -> None:
        super().__init__(IDEMPOTENCY_IN_FLIGHT)


class DatabaseUnavailable(PromoledgerError):
    def __init__(self, detail: str | None = None) -> None:
        super().__init__(DB_UNAVAILABLE)
        self.reason = detail
