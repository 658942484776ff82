"""Render ``docs/errors.md`` from the error catalogue, so the document can never drift from it.

Regenerate with ``python -m promoledger.domain.error_docs > docs/errors.md``; a test fails when
the committed document and the catalogue disagree.
"""

from __future__ import annotations

import sys

from promoledger.domain.errors import CATALOGUE, ErrorDef

HEADER = """\
# Error codes

<!-- Generated from promoledger.domain.errors.CATALOGUE by
     `python -m promoledger.domain.error_docs > docs/errors.md`. Do not edit by hand. -->

Every code promoledger can return: Capillary's own codes (origin `capillary`, same code and
message as Capillary sends) and promoledger's (origin `promoledger`, 9xxx).

How they reach the client:
- **Request-level** failures on the `/v2` bulk APIs (bad JSON, 8899, 8901, 8881, 1101, 8874, 8892,
  8902, 8013, 11013 for an empty list, 1060, 9001, 9002) answer HTTP 400 with the bulk envelope
  `{"response":[{"errors":[{"status":false,"code":C,"message":M}],"warnings":[]}],"totalCount":1,"failureCount":1}`
  and change nothing.
- **Per-entry** failures (8003, 8015, 8896, 8903, 2305, 9101, 9102, 11013 for an empty
  identifierValue) answer HTTP 200; only that entry has `errors`. 8890 is a warning: the entry
  succeeds without the new id.
- `POST /v2/promotion/issue` answers every failure but authentication and access with HTTP 400
  in its own shape, `{"warnings":[],"errors":[..],"sideEffects":[]}`: the codes above, and its
  own two — 11013 with the message naming its three query parameters when one of them is
  missing or empty, and 1212 for a `type` other than CUSTOMER.
- `GET /v2/customers/lookup/promotionData` (and `/v2.1`) answers its failures (8013, 11013,
  8003, 8015, 9002) with HTTP 400 and `{"errors":[..],"warnings":[]}`.
- Authentication 401, access 4000 (HTTP 403), throttling 9429 (HTTP 429 + Retry-After),
  Idempotency-Key 9431 (HTTP 422) and 9432 (HTTP 409), body too large 9413 (HTTP 413), database
  unavailable 9503 (HTTP 503 + Retry-After, nothing committed), internal 9500 (HTTP 500).
- `/admin/v1` answers `{"errors":[{"code":..,"message":..,"field":..}]}` with 404 (9404),
  409 (9409), 422 (9422, 9423).

A code may appear twice when Capillary uses it with two messages (8902 for revokes and for
enrol/earn; 401 for passwords and for tokens; 11013 for the bulk APIs and for
`/v2/promotion/issue`).

| code | origin | message | meaning |
|---:|---|---|---|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(error: ErrorDef) -> str:
    return f"| {error.code} | {error.origin} | {_cell(error.message)} | {_cell(error.meaning)} |"


def render() -> str:
    """The whole document, one row per catalogue entry in catalogue order."""
    return HEADER + "\n".join(_row(e) for e in CATALOGUE) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
