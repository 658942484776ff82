"""docs/errors.md is generated from the catalogue; this fails when the two disagree."""

from __future__ import annotations

from pathlib import Path

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


def test_the_revoke_codes_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for error in (
        E.REVOKE_NOT_SUPPORTED,
        E.EARN_IDS_INVALID,
        E.NO_ACTIVE_ENROLMENT,
        E.ACTIVE_EARNS_EXIST,
        E.CUSTOMER_NOT_FOUND,
        E.IDEMPOTENCY_MISMATCH,
        E.IDEMPOTENCY_IN_FLIGHT,
        E.DB_UNAVAILABLE,
    ):
        assert f"| {error.code} | {error.origin} | {error.message} |" in text
