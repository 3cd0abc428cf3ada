"""Reading request bodies: size limit, JSON parsing, depth limit, with errors that say where."""

from __future__ import annotations

from typing import Any

__all__ = ["objects_of", "parse_json", "read_body"]

import orjson
from fastapi import Request

from pacte.errors import Detail, InvalidJSON, TooDeep, TooLarge
from pacte.stix.bundle import objects_of, refuse_inexact_integers


async def read_body(request: Request, limit: int) -> bytes:
    """Return the request body, refusing it as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Return the parsed JSON body; raise InvalidJSON naming the position of the problem."""
    if not body.strip():
        raise InvalidJSON("the request body is empty", [Detail(reason="a JSON document is required")])
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "recursion" in exc.msg or "depth" in exc.msg:
            raise TooDeep("JSON nests too deeply to parse", [Detail(reason=exc.msg)]) from None
        raise InvalidJSON("malformed JSON", [Detail(reason=f"{exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    refuse_inexact_integers(body, doc)
    return doc
