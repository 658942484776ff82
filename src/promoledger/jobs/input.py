"""A job file, streamed in, cut into chunks of rows: memory holds one chunk, never the file.

CSV (UTF-8, BOM allowed): a header row naming ``identifierValue`` (required), ``source`` and
``earnIds`` (optional; ids separated by ``;`` or spaces; an empty cell means "not sent"); other
columns are ignored; header names match case-insensitively. NDJSON: one Capillary
``customers[]`` entry per line. Blank lines are skipped in both and are not counted: ``line``
numbers the data rows from 1. Every row becomes exactly the entry the bulk API would be sent.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from promoledger.domain import errors as E
from promoledger.domain.errors import PayloadTooLarge, RequestRejected
from promoledger.jobs.model import ChunkInput

CSV = "text/csv"
NDJSON = "application/x-ndjson"
_FORMATS = {
    CSV: CSV,
    "application/csv": CSV,
    NDJSON: NDJSON,
    "application/ndjson": NDJSON,
    "application/jsonl": NDJSON,
}
_EARN_ID_SEPARATORS = re.compile(r"[;\s]+")


def file_format(content_type: str | None) -> str:
    """``text/csv`` or ``application/x-ndjson`` (parameters such as charset ignored)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    found = _FORMATS.get(kind)
    if found is None:
        raise RequestRejected(E.JOB_CONTENT_TYPE)
    return found


def chunks(
    body: Iterable[bytes], kind: str, *, chunk_rows: int, max_bytes: int
) -> Iterator[ChunkInput]:
    """The file's rows as Capillary entries, ``chunk_rows`` at a time, in file order.

    Raises RequestRejected (not UTF-8, no identifierValue column) or PayloadTooLarge as soon as
    the problem is seen; the caller discards what it stored of the job.
    """
    lines = _lines(_text(body, max_bytes))
    rows = _csv_rows(lines) if kind == CSV else _ndjson_rows(lines)
    seq, line, batch = 0, 1, []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk_rows:
            yield ChunkInput(seq, line, batch)
            seq, line, batch = seq + 1, line + len(batch), []
    if batch:
        yield ChunkInput(seq, line, batch)


def _text(body: Iterable[bytes], max_bytes: int) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    seen = 0
    first = True
    try:
        for piece in body:
            seen += len(piece)
            if seen > max_bytes:
                raise PayloadTooLarge
            text = decoder.decode(piece)
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise RequestRejected(E.JOB_NOT_UTF8) from exc
    if tail:
        yield tail


def _lines(pieces: Iterator[str]) -> Iterator[str]:
    """Whole lines (with their line ends), whatever the pieces' boundaries."""
    pending = ""
    for piece in pieces:
        pending += piece
        if "\n" not in piece:
            continue
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    if pending:
        yield pending


def _csv_rows(lines: Iterator[str]) -> Iterator[Any]:
    reader = csv.reader(lines)
    header = next((r for r in reader if any(c.strip() for c in r)), None)
    names = [c.strip().lower() for c in header or []]
    if "identifiervalue" not in names:
        raise RequestRejected(E.JOB_NO_IDENTIFIER_COLUMN)
    value_at = names.index("identifiervalue")
    source_at = names.index("source") if "source" in names else None
    earn_at = next((names.index(n) for n in ("earnids",) if n in names), None)
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        entry: dict[str, Any] = {"identifierValue": _cell(cells, value_at) or ""}
        source = _cell(cells, source_at)
        if source:
            entry["source"] = source
        earn_ids = _cell(cells, earn_at)
        if earn_ids:
            entry["earnIds"] = [x for x in _EARN_ID_SEPARATORS.split(earn_ids) if x]
        yield entry


def _cell(cells: list[str], at: int | None) -> str | None:
    if at is None or at >= len(cells):
        return None
    return cells[at].strip()


def _ndjson_rows(lines: Iterator[str]) -> Iterator[Any]:
    for line in lines:
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            # Not an entry at all: answered like a non-object entry of the bulk API (11013).
            yield None
