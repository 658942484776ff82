"""Fast JSON responses: bulk results are plain dicts serialised by orjson (no jsonable_encoder)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> OrjsonResponse:
    return OrjsonResponse(content=content, status_code=status_code, headers=headers)
