"""Display names of programs and promotions: trimmed, 1..200 characters."""

from __future__ import annotations

from promoledger.domain.errors import VALIDATION, Invalid

MAX_NAME = 200


def clean_name(name: str, field: str = "name") -> str:
    cleaned = name.strip()
    if not 0 < len(cleaned) <= MAX_NAME:
        raise Invalid(VALIDATION, detail=f"{field} must be 1..{MAX_NAME} characters", field=field)
    return cleaned
