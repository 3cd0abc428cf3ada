"""A body too deep for the JSON parser is split into its objects; only the deep ones are refused."""

from __future__ import annotations

import orjson
import pytest

from pacte.errors import InvalidJSON, TooDeep
from pacte.stix.spans import parse_split
from pacte.stix.validate import Refused

DEEP = b"[" * 2000 + b"]" * 2000
TRICKY = {"type": "note", "id": "note--1", "content": 'brackets [{ in "strings" }] \\ and \u00e9', "n": [1, 2.5, None]}


def test_objects_are_parsed_one_by_one() -> None:
    body = (b'{"type": "bundle", "id": "bundle--x", "objects": [ ' + orjson.dumps(TRICKY)
            + b', {"x_deep": {"k": ' + DEEP + b'}, "id": "note--2", "type": "note"}, 7, "s", true ,'
            + orjson.dumps({"id": "note--3"}) + b" ] , \"x\": null}")
    doc = parse_split(body, 32)
    assert (doc["type"], doc["id"], doc["x"]) == ("bundle", "bundle--x", None)
    first, deep, seven, text, true, last = doc["objects"]
    assert first == TRICKY and (seven, text, true) == (7, "s", True) and last == {"id": "note--3"}
    assert isinstance(deep, Refused) and deep == {"id": "note--2"}
    assert deep.field == "x_deep" and "32" in deep.reason


def test_a_deep_property_outside_the_objects_refuses_the_whole_body() -> None:
    with pytest.raises(TooDeep) as info:
        parse_split(b'{"objects": [], "x_meta": ' + DEEP + b"}", 32)
    assert info.value.details[0].field == "x_meta"


@pytest.mark.parametrize("body", [b'{"objects": [{"a": ' + DEEP, b'{"objects": [{"a": 1}}', b'[' + DEEP])
def test_malformed_or_truncated_bodies_are_4xx(body: bytes) -> None:
    with pytest.raises((InvalidJSON, TooDeep)):
        parse_split(body, 32)
