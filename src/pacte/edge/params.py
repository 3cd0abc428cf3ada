"""What every HTTP surface reads from a request's query and writes back: JSON answers and time parameters."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from pacte.errors import Detail, InvalidInput
from pacte.stix import timestamps


def json_response(data: Any, status: int = 200) -> Response:
    """Return ``data`` as a JSON response (orjson) with this status."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def time_key(value: str | None, name: str) -> str | None:
    """Return a timestamp query parameter in the store's sortable form (None if absent); 400 naming it if invalid."""
    if value is None:
        return None
    key = timestamps.normalize(value)
    if key is None:
        raise InvalidInput(f"invalid {name}", [Detail(reason="an RFC 3339 UTC timestamp such as 2024-01-31T00:00:00Z",
                                                      field=name)])
    return key
