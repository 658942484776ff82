"""docs/errors.md is generated from the catalogue; this fails when the two disagree."""

from __future__ import annotations

import re
from pathlib import Path

from promoledger.api.errors import status_for
from promoledger.domain import errors as E
from promoledger.domain.error_docs import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


def test_the_error_document_matches_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/errors.md is stale: run `python -m promoledger.domain.error_docs > docs/errors.md`"
    )


def test_every_catalogue_entry_is_a_row_of_the_document() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    table = rows[1:]  # after the header row
    assert len(table) == len(E.CATALOGUE)
    for error, row in zip(E.CATALOGUE, table, strict=True):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[:3] == [str(error.code), error.origin, error.message]


def test_the_catalogue_has_no_two_entries_alike() -> None:
    pairs = [(e.code, e.message) for e in E.CATALOGUE]
    assert len(pairs) == len(set(pairs))
    assert all(e.origin in ("capillary", "promoledger") for e in E.CATALOGUE)
    assert all(e.code >= 9000 for e in E.CATALOGUE if e.origin == "promoledger")
    assert all(e.message and e.meaning for e in E.CATALOGUE)


def _documented_statuses() -> dict[int, int]:
    """code -> HTTP status, as the document's prose states them: "9429 (HTTP 429 ...)" and
    "409 (9409)" / "422 (9422, 9423)"."""
    prose = DOC.read_text(encoding="utf-8").split("| code |")[0]
    statuses = {
        int(code): int(status) for code, status in re.findall(r"(\d{4}) \(HTTP (\d{3})", prose)
    }
    for status, codes in re.findall(r"\b(\d{3}) \((\d{4}(?:, \d{4})*)\)", prose):
        statuses.update({int(code): int(status) for code in codes.split(", ")})
    return statuses


def test_the_mapper_answers_each_code_with_the_status_the_document_gives_it() -> None:
    # The document's prose is written by hand (only the table is generated); this holds the
    # statuses it promises to the one exception-to-response mapper.
    raised = [
        E.PermissionDenied(),
        E.Throttled(retry_after=1),
        E.IdempotencyMismatch(),
        E.IdempotencyInFlight(),
        E.DatabaseUnavailable(),
        E.NotFound("program"),
        E.Conflict(E.DUPLICATE),
        E.Invalid(E.VALIDATION),
        E.Invalid(E.TYPE_IMMUTABLE),
    ]
    mapped = {exc.error.code: status_for(exc) for exc in raised}
    documented = _documented_statuses()
    assert {code: documented.get(code) for code in mapped} == mapped
    # The two the document names besides: answered by the body-size middleware and the
    # catch-all handler, not by the domain mapper.
    assert set(documented) - set(mapped) == {E.BODY_TOO_LARGE.code, E.INTERNAL.code}
