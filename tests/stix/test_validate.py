"""The ingest validator: what it accepts, and that each refusal names the field and reason."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from pacte.stix import timestamps
from pacte.stix.markings import TLP2_IDS, Tlp, marking_definition_level, tlp2_marking_object
from pacte.stix.validate import ObjectInvalid, prepare

INDICATOR: dict[str, Any] = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-02T00:00:00.000Z", "name": "C2",
    "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
    "object_marking_refs": [TLP2_IDS[Tlp.AMBER]], "x_vendor_score": {"a": [1, 2]},
}


def test_valid_indicator_prepared() -> None:
    p = prepare(copy.deepcopy(INDICATOR))
    assert p.id == INDICATOR["id"]
    assert p.version_key == "2024-01-02T00:00:00.000000000Z"
    assert p.markings == (TLP2_IDS[Tlp.AMBER],)
    assert orjson.loads(p.doc) == INDICATOR


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"id": "indicator--not-a-uuid"}, "id", "UUID"),
    ({"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}, "id", "indicator--"),
    ({"spec_version": "2.0"}, "spec_version", "2.1"),
    ({"spec_version": None}, "spec_version", "required"),
    ({"created": "2024-01-01 00:00:00"}, "created", "RFC 3339"),
    ({"modified": "2023-12-31T00:00:00.000Z"}, "modified", "earlier than created"),
    ({"valid_from": "2024-02-30T00:00:00Z"}, "valid_from", "RFC 3339"),
    ({"pattern": None}, "pattern", "required"),
    ({"created_by_ref": "identity--bad"}, "created_by_ref", "identifier"),
    ({"created_by_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}, "created_by_ref", "identity"),
    ({"object_marking_refs": ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}, "object_marking_refs[0]",
     "marking-definition"),
    ({"confidence": 101}, "confidence", "0 to 100"),
    ({"labels": "x"}, "labels", "list of strings"),
    ({"Bad-Name": 1}, "Bad-Name", "property names"),
])
def test_invalid_field_named(change: dict[str, Any], field: str, reason: str) -> None:
    obj = copy.deepcopy(INDICATOR)
    for key, value in change.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    with pytest.raises(ObjectInvalid) as info:
        prepare(obj)
    assert info.value.detail.field == field
    assert reason in info.value.detail.reason


def test_depth_limit_names_the_property() -> None:
    obj = copy.deepcopy(INDICATOR)
    deep: Any = "x"
    for _ in range(40):
        deep = {"k": deep}
    obj["x_deep"] = deep
    with pytest.raises(ObjectInvalid) as info:
        prepare(obj, max_depth=32)
    assert info.value.detail.field == "x_deep"
    assert info.value.detail.object_id == INDICATOR["id"]
    obj["x_deep"] = {"k": {"k": "v"}}
    assert prepare(obj, max_depth=32).id == INDICATOR["id"]


def test_sco_without_spec_version_or_timestamps_is_accepted() -> None:
    p = prepare({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"})
    assert p.version_key == ""


def test_marking_definition_levels() -> None:
    for level in (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED):
        assert marking_definition_level(tlp2_marking_object(level)) == level
    statement = {"type": "marking-definition", "id": "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
                 "definition_type": "statement", "definition": {"statement": "(c) MITRE"}}
    assert marking_definition_level(statement) == -1
    custom_red = {"type": "marking-definition", "id": "marking-definition--11111111-2222-4333-8444-555555555555",
                  "definition_type": "tlp", "definition": {"tlp": "red"}}
    assert marking_definition_level(custom_red) == Tlp.RED


def test_timestamps_sort_across_precisions() -> None:
    a = timestamps.normalize("2024-01-01T00:00:00Z")
    b = timestamps.normalize("2024-01-01T00:00:00.5Z")
    c = timestamps.normalize("2024-01-01T00:00:00.123456789Z")
    assert a is not None and b is not None and c is not None
    assert a < c < b
    assert timestamps.normalize("2023-02-29T00:00:00Z") is None
    assert timestamps.normalize("2024-02-29T00:00:00Z") is not None


def nested_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("key", ["name", "description", "pattern", "lang", "pattern_type", "relationship_type",
                                 "revoked", "confidence", "is_family", "x_custom", "external_references",
                                 "kill_chain_phases", "extensions", "granular_markings"])
def test_depth_or_type_is_checked_under_every_key(key: str) -> None:
    """Regression: standard keys skipped the depth scan; 300 levels under one made orjson.dumps raise (a 500)."""
    obj = copy.deepcopy(INDICATOR)
    obj[key] = nested_list(300)
    with pytest.raises(ObjectInvalid) as info:
        prepare(obj, max_depth=32)
    assert info.value.detail.field is not None and info.value.detail.field.startswith(key)
    assert info.value.detail.object_id == INDICATOR["id"]


def test_a_depth_limit_above_the_serialiser_is_still_a_refusal() -> None:
    obj = copy.deepcopy(INDICATOR)
    obj["x_deep"] = nested_list(300)
    with pytest.raises(ObjectInvalid) as info:
        prepare(obj, max_depth=10_000)
    assert info.value.detail.reason == "nests deeper than 250 levels"
    obj["x_deep"] = nested_list(1000)  # as deep as the parser lets through: no RecursionError in the scan
    with pytest.raises(ObjectInvalid):
        prepare(obj, max_depth=10_000)


@pytest.mark.parametrize(("created", "ok"), [
    ("2024-01-01T00:00:00.000Z", True), ("2024-01-01T00:00:00.123456Z", True), ("2024-01-01T00:00:00Z", False),
    ("2024-01-01T00:00:00.1Z", False), ("2024-01-01T00:00:00.12Z", False)])
def test_created_and_modified_are_precise_to_the_millisecond(created: str, ok: bool) -> None:
    for key in ("created", "modified"):
        obj = {**copy.deepcopy(INDICATOR), "created": "2024-01-01T00:00:00.000Z", key: created}
        if ok:
            prepare(obj)
            continue
        with pytest.raises(ObjectInvalid) as info:
            prepare(obj)
        assert (info.value.detail.field, "millisecond" in info.value.detail.reason) == (key, True)
    # other timestamps keep any precision
    assert prepare({**copy.deepcopy(INDICATOR), "valid_from": "2024-01-01T00:00:00Z"})


@pytest.mark.parametrize(("change", "field"), [
    ({"pattern": "[ipv4-addr:value = '198.51.100.1'"}, "pattern"),
    ({"pattern": "[file:hashes.MD5 = '123']"}, "pattern"),
    ({"pattern": 5}, "pattern"),
    ({"pattern_version": "2.0"}, "pattern_version"),
    ({"pattern_type": ["stix"]}, "pattern_type"),
])
def test_stix_patterns_are_parsed(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ObjectInvalid) as info:
        prepare({**copy.deepcopy(INDICATOR), **change})
    assert info.value.detail.field == field


def test_other_pattern_languages_are_not_parsed() -> None:
    assert prepare({**copy.deepcopy(INDICATOR), "pattern_type": "sigma", "pattern": "title: x\n["})
    assert prepare({**copy.deepcopy(INDICATOR), "pattern_version": "2.1"})


def test_object_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pacte.stix import validate

    monkeypatch.setattr(validate, "MAX_OBJECT_BYTES", 2000)
    with pytest.raises(ObjectInvalid) as info:
        prepare({**copy.deepcopy(INDICATOR), "description": "x" * 3000})
    assert "at most 2000 bytes" in info.value.detail.reason
    assert prepare({**copy.deepcopy(INDICATOR), "description": "x" * 1000})


def test_refused_stand_in_fails_with_its_reason() -> None:
    from pacte.stix.validate import Refused

    with pytest.raises(ObjectInvalid) as info:
        prepare(Refused("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "x_a", "nests deeper than 32 levels"))
    assert (info.value.detail.object_id, info.value.detail.field) == (INDICATOR["id"], "x_a")
