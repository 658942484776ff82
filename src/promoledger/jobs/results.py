"""A job's per-row report as CSV or NDJSON, produced row by row (never the whole file)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

CSV_HEADER = (
    "line",
    "identifierValue",
    "status",
    "code",
    "message",
    "entityId",
    "issualId",
    "earnedId",
    "revokedEarnIds",
)
Row = tuple[int, str, str, dict[str, Any]]  # line, identifierValue, status, bulk-API entry
_BATCH = 500  # rows per piece of the streamed answer


def csv_row(line: int, value: str, status: str, entry: dict[str, Any]) -> list[object]:
    """One CSV row: the first error (else the first warning) gives code and message."""
    problems = entry.get("errors") or entry.get("warnings") or []
    first = problems[0] if problems else {}
    result = entry.get("result") or {}
    revoked = result.get("revokedEarnIds")
    return [
        line,
        value,
        status,
        first.get("code", ""),
        first.get("message", ""),
        result.get("entityId", ""),
        result.get("issualId", ""),
        result.get("earnedId", ""),
        ";".join(str(x) for x in revoked) if revoked else "",
    ]


# A REINSTATE job's report: one row per revoked item, outcome REINSTATED or the skip reason.
REINSTATE_CSV_HEADER = ("line", "entityType", "entityId", "customerId", "outcome")


def reinstate_csv_row(line: int, value: str, status: str, entry: dict[str, Any]) -> list[object]:
    return [line, entry["entityType"], entry["entityId"], entry["customerId"], entry["outcome"]]


_CSV_FORMATS = {"REINSTATE": (REINSTATE_CSV_HEADER, reinstate_csv_row)}


def as_csv(rows: Iterable[Row], *, action: str | None = None) -> Iterator[bytes]:
    """The report of a job of ``action`` (the bulk actions' columns unless it has its own)."""
    header, row_of = _CSV_FORMATS.get(action or "", (CSV_HEADER, csv_row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow(row_of(*row))
        if count % _BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def as_ndjson(rows: Iterable[Row]) -> Iterator[bytes]:
    """``{"line": n, ...the bulk API entry}`` per line."""
    pieces: list[bytes] = []
    for line, _, _, entry in rows:
        pieces.append(orjson.dumps({"line": line, **entry}))
        if len(pieces) == _BATCH:
            yield b"\n".join(pieces) + b"\n"
            pieces = []
    if pieces:
        yield b"\n".join(pieces) + b"\n"
