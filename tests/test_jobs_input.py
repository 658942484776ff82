"""Job files cut into chunks: CSV dialect details and NDJSON, whatever the read boundaries."""

from __future__ import annotations

import pytest

from promoledger.domain.errors import PayloadTooLarge, RequestRejected
from promoledger.jobs.input import CSV, NDJSON, chunks, file_format


def rows_of(
    data: bytes, kind: str, piece: int = 3, chunk_rows: int = 2
) -> list[tuple[int, list[object]]]:
    pieces = [data[i : i + piece] for i in range(0, len(data), piece)]
    return [
        (c.first_line, c.rows) for c in chunks(pieces, kind, chunk_rows=chunk_rows, max_bytes=10**6)
    ]


def test_csv_bom_crlf_quotes_case_and_extra_columns() -> None:
    data = (
        "\ufeffName,IDENTIFIERVALUE,Source,earnIDs\r\n"
        '"Doe, Jane",42,instore,"5; 6 7"\r\n'
        "\r\n"
        "x,43,,\r\n"
        '"multi\nline",é44,WEB_ENGAGE,\r\n'
    ).encode()
    assert rows_of(data, CSV) == [
        (1, [
            {"identifierValue": "42", "source": "instore", "earnIds": ["5", "6", "7"]},
            {"identifierValue": "43"},
        ]),
        (3, [{"identifierValue": "é44", "source": "WEB_ENGAGE"}]),
    ]  # fmt: skip


def test_ndjson_lines_blank_lines_and_junk() -> None:
    data = b'{"identifierValue":"1"}\n\n  \n[1]\nnope\n{"identifierValue":"2","earnIds":[3]}'
    assert rows_of(data, NDJSON, chunk_rows=10) == [
        (1, [{"identifierValue": "1"}, [1], None, {"identifierValue": "2", "earnIds": [3]}])
    ]


def test_refusals() -> None:
    with pytest.raises(RequestRejected) as no_column:
        rows_of(b"mobile\n1\n", CSV)
    assert no_column.value.error.code == 9460
    with pytest.raises(RequestRejected) as empty:
        rows_of(b"", CSV)
    assert empty.value.error.code == 9460
    with pytest.raises(RequestRejected) as cut:
        rows_of("identifierValue\né".encode()[:-1], CSV)  # ends inside a character
    assert cut.value.error.code == 9461
    with pytest.raises(PayloadTooLarge):
        list(chunks([b"identifierValue\n", b"1\n" * 100], CSV, chunk_rows=5, max_bytes=50))
    with pytest.raises(RequestRejected) as kind:
        file_format("application/json")
    assert kind.value.error.code == 9462
    assert file_format("text/csv; charset=utf-8") == CSV
    assert file_format("application/jsonl") == NDJSON
