"""docs/parity.md: every row marked *same* names a test that pins it, and that test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "parity.md"
REF = re.compile(r"`(test_\w+\.py)(?:::(test_\w+?)(\*)?)?`")


def _rows() -> list[list[str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and "---" not in line:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[1:2] != ["status"]:  # not a header row
                rows.append(cells)
    return rows


def test_every_same_row_names_an_existing_test() -> None:
    same = [row for row in _rows() if len(row) == 4 and row[1].startswith("same")]
    assert len(same) > 40
    for item, _, _, pinned in same:
        refs = REF.findall(pinned)
        if pinned == "same test":
            continue  # the row above names it
        assert refs, f"a 'same' row without a test: {item}"
        for module, name, prefix in refs:
            source = (ROOT / "tests" / module).read_text(encoding="utf-8")
            if name:
                boundary = "" if prefix else r"\b"
                pattern = rf"def {name}{boundary}"
                assert re.search(pattern, source), f"{module}::{name} named for {item}"


def test_every_row_has_a_status() -> None:
    statuses = ("same", "extension", "not supported")
    for row in _rows():
        if len(row) == 4:
            assert row[1].startswith(statuses), row
