"""A lone surrogate or a number beyond a double refuses its object alone, naming the property (issue 10 item 5).

Before, either made the whole bundle or envelope ``invalid_json``, good objects included.
"""

from __future__ import annotations

import pytest

from pacte.edge.bodies import parse_json
from pacte.errors import InvalidJSON
from pacte.stix.validate import Refused

GOOD = b'{"type":"malware","id":"malware--0f4a4b3c-7c2d-4a57-9a2e-4cf3b0b6e8a1","is_family":false}'
BAD_ID = "malware--3f4a4b3c-7c2d-4a57-9a2e-4cf3b0b6e8a1"


def _objects(bad: bytes) -> list[object]:
    body = b'{"type":"bundle","id":"bundle--0f4a4b3c-7c2d-4a57-9a2e-4cf3b0b6e8a1","objects":[' + GOOD + b"," + bad + b"]}"
    doc = parse_json(body, 16)
    return list(doc["objects"])


@pytest.mark.parametrize(("value", "field", "reason"), [
    (b'"\\ud800"', "description", "surrogate"), (b'"\\udc00\\ud800"', "description", "surrogate"),
    (b'{"a":[1,"\\ud800x"]}', "description", "surrogate"), (b"1e400", "description", "infinity"),
    (b"-" + b"9" * 100_000, "description", "infinity"), (b"1e" + b"9" * 5000, "description", "infinity"),
])
def test_value_the_parser_refuses_refuses_its_object_alone(value: bytes, field: str, reason: str) -> None:
    bad = b'{"type":"malware","id":"' + BAD_ID.encode() + b'","x":1,"' + field.encode() + b'":' + value + b',"y":2}'
    good, refused = _objects(bad)
    assert isinstance(good, dict) and not isinstance(good, Refused)
    assert isinstance(refused, Refused)
    assert (refused.get("id"), refused.field) == (BAD_ID, field) and reason in refused.reason


def test_surrogate_in_a_property_name_is_named_as_such() -> None:
    _, refused = _objects(b'{"type":"malware","id":"' + BAD_ID.encode() + b'","x_\\ud800":1}')
    assert isinstance(refused, Refused) and refused.field == "" and "property name" in refused.reason


@pytest.mark.parametrize("body", [b'[1e400]', b'{"type":"bundle","x":"\\ud800","objects":[]}', b'"\\ud800"'])
def test_value_error_outside_the_objects_refuses_the_document(body: bytes) -> None:
    with pytest.raises(InvalidJSON):
        parse_json(body, 16)
