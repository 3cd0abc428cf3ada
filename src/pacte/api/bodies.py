"""Reading request bodies: size limit, JSON parsing, depth limit, with errors that say where."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from pacte.errors import Detail, InvalidJSON, InvalidSTIX, TooDeep, TooLarge
from pacte.stix.validate import depth_exceeds, is_stix_id


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
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "recursion" in exc.msg:
            raise TooDeep("JSON nests too deeply to parse", [Detail(reason=exc.msg)]) from None
        raise InvalidJSON("malformed JSON", [Detail(reason=f"{exc.msg} at line {exc.lineno} column {exc.colno}")]) from None


def objects_of(doc: Any, max_depth: int, *, envelope: bool = False) -> list[Any]:
    """Return the objects of a STIX bundle (or TAXII envelope); raise naming what is wrong."""
    kind = "envelope" if envelope else "bundle"
    if not isinstance(doc, dict):
        raise InvalidSTIX(f"the body must be a STIX {kind} (a JSON object)", [Detail(reason="not a JSON object", field="")])
    if not envelope:
        if doc.get("type") != "bundle":
            raise InvalidSTIX("the body is not a STIX bundle", [Detail(reason='must be "bundle"', field="type")])
        bid = doc.get("id")
        if not isinstance(bid, str) or not is_stix_id(bid, "bundle"):
            raise InvalidSTIX("the bundle has no valid id", [Detail(reason="must be bundle--<uuid>", field="id")])
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise InvalidSTIX(f"the {kind}'s objects must be a list", [Detail(reason="must be a list", field="objects")])
    for key, value in doc.items():
        if key != "objects" and isinstance(value, dict | list) and depth_exceeds(value, max_depth):
            raise TooDeep(f"JSON nests deeper than {max_depth} levels", [Detail(
                reason=f"nests deeper than {max_depth} levels", field=key)])
    return objects
