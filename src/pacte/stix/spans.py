"""A bundle or envelope too deep to parse whole, split into its objects so that each is judged alone.

orjson refuses a whole document nesting deeper than 1024 levels. One such object in an envelope
must not cost its siblings: this scanner finds the byte span of each top-level value and of each
element of ``objects`` without building anything (strings and brackets only), parses the spans
one by one, and stands a :class:`~pacte.stix.validate.Refused` in for each object that is still
too deep, naming its id and the property that nests too deeply when the scan can tell.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from pacte.errors import Detail, InvalidJSON, TooDeep
from pacte.stix.validate import Refused

# A whole string (escapes included) or one structural byte; everything else is skipped in C.
# Runs of brackets are one token each, so that a body of nothing but brackets is scanned in C too.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|\[+|\]+|[{}:,]', re.DOTALL)
_SPACE = b" \t\r\n"


def _malformed(reason: str) -> InvalidJSON:
    return InvalidJSON("malformed JSON", [Detail(reason=reason)])


class _Scanner:
    """Walks the structural tokens of a JSON document, tracking depth with a counter (no recursion)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.tokens = _TOKEN.finditer(raw)

    def next(self) -> re.Match[bytes]:
        m = next(self.tokens, None)
        if m is None:
            raise _malformed("unexpected end of the document")
        return m

    def value_end(self, first: re.Match[bytes], limit: int) -> tuple[int, str | None, str | None]:
        """Skip the string or container starting at ``first``; return (end, its own "id", the key nesting past limit)."""
        tok = first.group()
        if tok[:1] not in (b"{", b"["):
            return first.end(), None, None
        key: str | None = None  # the current key of the value itself (its depth 1)
        deep_key: str | None = None
        obj_id: str | None = None
        expect_key = is_object = tok == b"{"
        pending_id = False
        m = first
        depth = len(tok)
        if depth > limit:
            deep_key = ""
        while depth:
            m = self.next()
            t = m.group()
            c = t[:1]
            if c == b"[" or c == b"{":
                depth += len(t)
                if depth > limit and deep_key is None:
                    deep_key = key or ""
                pending_id = False
            elif c == b"]" and len(t) > depth:  # the value ends inside this run: resume just after its end
                end = m.start() + depth
                self.tokens = _TOKEN.finditer(self.raw, end)
                return end, obj_id, deep_key
            elif c == b"]" or c == b"}":
                depth -= len(t)
            elif t == b",":
                expect_key = depth == 1
                pending_id = False
            elif t == b":":
                expect_key = False
            elif depth == 1 and is_object:  # a string at the value's own level
                if expect_key:
                    key = _text(t)
                    pending_id = key == "id"
                    expect_key = False
                elif pending_id:
                    obj_id = _text(t)
                    pending_id = False
        return m.end(), obj_id, deep_key


# Parser errors about one value of a well-formed document (a lone surrogate escape, invalid UTF-8 in a string,
# a number beyond a double): the object holding it is refused alone, like a deep one.
_VALUE_ERRORS = ("surrogate", "not valid UTF-8", "infinity")


def is_value_error(message: str) -> bool:
    """Return True if a parser error is about one value (the document's structure is sound)."""
    return any(word in message for word in _VALUE_ERRORS)


def _unparsable_key(span: bytes) -> str | None:
    """Return the top-level property of the JSON object ``span`` whose value does not parse (None if a key)."""
    scanner = _Scanner(span)
    scanner.next()  # the object's "{"
    while True:
        m = scanner.next()
        if m.group() == b"}":
            return None
        if m.group() == b",":
            continue
        key = _text(m.group())
        if key is None:
            return None  # the property name itself does not parse
        colon = scanner.next()
        first = scanner.next()
        if first.group() in (b",", b"}"):
            end = first.start()
            scanner.tokens = _TOKEN.finditer(span, first.start())
        else:
            end, _, _ = scanner.value_end(first, 1 << 30)
        try:
            orjson.loads(span[colon.end():end])
        except orjson.JSONDecodeError:
            return key


def _text(token: bytes) -> str | None:
    try:
        value = orjson.loads(token)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


def parse_split(raw: bytes, max_depth: int) -> dict[str, Any]:
    """Parse a document whose ``objects`` nest too deeply for a whole parse, object by object.

    Returns the top-level object with ``objects`` holding parsed objects and, in place of each
    object that cannot be parsed for depth, a ``Refused`` naming why. A top-level property other
    than ``objects`` that is too deep makes the whole document TooDeep, naming that property.
    """
    scanner = _Scanner(raw)
    if raw.lstrip(_SPACE)[:1] != b"{" or scanner.next().group() != b"{":
        raise TooDeep("JSON nests too deeply to parse", [Detail(reason="the body is not a JSON object")])
    doc: dict[str, Any] = {}
    while True:
        m = scanner.next()
        if m.group() == b"}":
            break
        if m.group() == b",":
            continue
        key = _text(m.group())
        colon = scanner.next()
        if key is None or colon.group() != b":":
            raise _malformed("a property name is expected in the top-level object")
        first = scanner.next()
        if first.group() in (b",", b"}"):  # a number, true, false or null
            doc[key] = _load(raw[colon.end():first.start()], key)
            if first.group() == b"}":
                break
            continue
        if key == "objects" and first.group() == b"[":
            doc[key] = _elements(scanner, first.end(), max_depth)
            continue
        end, _, _ = scanner.value_end(first, max_depth + 1)
        try:
            doc[key] = orjson.loads(raw[first.start():end])
        except orjson.JSONDecodeError as exc:
            if "recursion" in exc.msg or "depth" in exc.msg:
                raise TooDeep(f"JSON nests deeper than {max_depth} levels", [Detail(
                    reason=f"nests deeper than {max_depth} levels", field=key)]) from None
            raise _malformed(f"{exc.msg} in property {key}") from None
    return doc


def _load(segment: bytes, where: str) -> Any:
    try:
        return orjson.loads(segment)
    except orjson.JSONDecodeError as exc:
        raise _malformed(f"{exc.msg} in {where}") from None


def _elements(scanner: _Scanner, start: int, max_depth: int) -> list[Any]:
    """Parse the elements of the ``objects`` array one by one, from ``start`` (just after its '[')."""
    out: list[Any] = []
    raw = scanner.raw
    prev = start
    while True:
        m = scanner.next()
        t = m.group()
        if t in (b",", b"]"):
            segment = raw[prev:m.start()].strip(_SPACE)
            if segment:  # a scalar element (not an object: validation refuses it by index)
                out.append(_load(segment, f"objects[{len(out)}]"))
            prev = m.end()
            if t == b"]":
                return out
            continue
        end, obj_id, deep_key = scanner.value_end(m, max_depth + 1)
        prev = end
        try:
            out.append(orjson.loads(raw[m.start():end]))
        except orjson.JSONDecodeError as exc:
            if "recursion" in exc.msg or "depth" in exc.msg:
                out.append(Refused(obj_id, deep_key or "", f"nests deeper than {max_depth} levels"))
            elif is_value_error(exc.msg):
                key = _unparsable_key(raw[m.start():end]) if t[:1] == b"{" else ""
                where = " in a property name" if key is None else ""
                out.append(Refused(obj_id, key or "", f"{exc.msg.split(':')[0]}{where}"))
            else:
                raise _malformed(f"{exc.msg} in objects[{len(out)}]") from None
