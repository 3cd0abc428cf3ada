"""Reading request bodies: size limit, JSON parsing, depth limit, with errors that say where."""

from __future__ import annotations

from typing import Any

__all__ = ["objects_of", "parse_json", "read_body"]

import orjson
from fastapi import Request

from pacte.errors import Detail, InvalidJSON, TooDeep, TooLarge
from pacte.stix import bundle
from pacte.stix.bundle import refuse_inexact_integers, refuse_inexact_objects
from pacte.stix.spans import is_value_error, parse_split

# A body parsed into Python objects costs tens of bytes per JSON value, and each object of a batch a reply of
# hundreds: these bound what one request can make the server hold (ATT&CK has a comma every 54 bytes of JSON,
# a bundle of bare IPv4 observables one every 25; a list of "{}" one every 3).
MAX_OBJECTS = 100_000  # objects of one bundle or envelope
BYTES_PER_VALUE = 12  # a bundle holding more than one JSON value per this many bytes is refused unparsed
_FEW_VALUES = 10_000  # ... unless it holds so few that it does not matter


def objects_of(doc: Any, max_depth: int, *, envelope: bool = False) -> list[Any]:
    """Return the objects of a bundle or envelope received over HTTP; 413 beyond MAX_OBJECTS of them."""
    objects = bundle.objects_of(doc, max_depth, envelope=envelope)
    if len(objects) > MAX_OBJECTS:
        raise TooLarge(f"{len(objects)} objects in one request", [Detail(
            reason=f"at most {MAX_OBJECTS} objects per request: split the bundle", field="objects")])
    return objects


def _check_density(body: bytes) -> None:
    """Refuse, before parsing, a body of so many tiny values that parsing it would cost many times its size."""
    values = body.count(b",")  # every value of a container but its first follows a comma (nesting: see spans)
    if values > _FEW_VALUES and values > len(body) // BYTES_PER_VALUE:
        raise TooLarge(f"{values} JSON values in {len(body)} bytes", [Detail(
            reason=f"at most one JSON value per {BYTES_PER_VALUE} bytes of a bundle (STIX objects are far larger)",
            field="body")])


async def read_body(request: Request, limit: int) -> bytes:
    """Return the request body, refusing it as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes",
                       [Detail(reason=f"at most {limit} bytes", field="body")])
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is over the limit of {limit} bytes",
                           [Detail(reason=f"at most {limit} bytes", field="body")])
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, max_depth: int | None = None) -> Any:
    """Return the parsed JSON body; raise InvalidJSON naming the position of the problem.

    With ``max_depth`` the body is a bundle or envelope: when it nests too deeply to parse whole,
    its objects are parsed one by one and those still too deep are refused alone (see
    ``pacte.stix.spans``), as are those holding a lone surrogate or a number beyond a double; an
    integer too large to keep refuses the object holding it.
    """
    if not body.strip():
        raise InvalidJSON("the request body is empty", [Detail(reason="a JSON document is required")])
    if max_depth is not None:
        _check_density(body)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        deep = "recursion" in exc.msg or "depth" in exc.msg
        one_value = is_value_error(exc.msg) and body.lstrip()[:1] == b"{"
        if max_depth is not None and (deep or one_value):  # the objects at fault are refused alone
            try:
                doc = parse_split(body, max_depth)
            except InvalidJSON:
                if deep:
                    raise
                doc = None  # the value is outside the objects: the parser's own message says where
            if doc is not None:
                refuse_inexact_objects(body, doc)
                return doc
        if deep:
            raise TooDeep("JSON nests too deeply to parse", [Detail(reason=exc.msg)]) from None
        raise InvalidJSON("malformed JSON", [Detail(reason=f"{exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    if max_depth is not None:
        refuse_inexact_objects(body, doc)
    else:
        refuse_inexact_integers(body, doc)
    return doc
