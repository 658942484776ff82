"""Schemathesis hooks for the CLI run in tests/test_schema_fuzz.py (``SCHEMATHESIS_HOOKS``).

A job's file may be NDJSON (``application/x-ndjson``), documented as a string: it goes on the
wire as the text it is, like ``text/csv``.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.transport.requests import text_serializer


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> Any:  # pragma: no cover - runs inside the `st` process
    return text_serializer(ctx, value)
