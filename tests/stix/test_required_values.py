"""Required properties given JSON null, and a marking definition that is not an object, are refused by name.

Found by the malformed-body corpus (issue 10 item 5): ``is_family: null`` and ``definition: 7`` were stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from pacte.stix.validate import ObjectInvalid, prepare

MALWARE: dict[str, Any] = {"type": "malware", "spec_version": "2.1", "id": "malware--0f4a4b3c-7c2d-4a57-9a2e-4cf3b0b6e8a1",
                           "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                           "name": "m", "is_family": True}
MARKING: dict[str, Any] = {"type": "marking-definition", "spec_version": "2.1",
                           "id": "marking-definition--3b5e4f2a-9c1d-4e8f-a7b6-2d4c6e8f0a1b",
                           "created": "2024-01-01T00:00:00.000Z", "definition_type": "statement",
                           "definition": {"statement": "Copyright"}}
AS: dict[str, Any] = {"type": "autonomous-system", "spec_version": "2.1",
                      "id": "autonomous-system--f720c34b-98ae-597f-ade5-27ef187498e1", "number": 15139}


@pytest.mark.parametrize(("obj", "field"), [
    ({**MALWARE, "is_family": None}, "is_family"),
    ({**AS, "number": None}, "number"),
    ({**MARKING, "definition": 7}, "definition"),
    ({**MARKING, "definition": None}, "definition"),
    ({**MARKING, "definition": ["statement"]}, "definition"),
    ({**MARKING, "definition": "Copyright"}, "definition"),
])
def test_null_or_mistyped_required_value_is_refused_by_name(obj: dict[str, Any], field: str) -> None:
    with pytest.raises(ObjectInvalid) as exc:
        prepare(obj)
    assert exc.value.detail.field == field


@pytest.mark.parametrize("obj", [MALWARE, MARKING, AS, {k: v for k, v in MARKING.items() if k != "definition"}])
def test_well_typed_values_pass(obj: dict[str, Any]) -> None:
    assert prepare(dict(obj)).id == obj["id"]
