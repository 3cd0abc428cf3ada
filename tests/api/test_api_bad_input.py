"""Issue 2 item 7: bad input gets a clear 4xx JSON error naming object, field and reason; nothing unreported is stored."""

from __future__ import annotations

from typing import Any

import pytest

from api.conftest import Api, assert_error
from helpers import TLP2, bundle, sdo, sid
from pacte.policy import Role

GOOD = sdo("threat-actor", "valid-sibling", 1)


@pytest.mark.parametrize("body", [b"{", b'{"type": "bundle",}', b"[1, 2", b"\xff\xfe", b"", b"   ", b"nul"],
                         ids=["open-brace", "trailing-comma", "unclosed-array", "not-utf8", "empty", "blank", "nul"])
def test_malformed_json_is_400_invalid_json(api: Api, body: bytes) -> None:
    err = assert_error(api.post(api.alpha, "community", body), 400, "invalid_json")
    assert err["details"] and err["details"][0]["reason"]
    assert api.everything() == set()


@pytest.mark.parametrize(("doc", "field"), [
    ([GOOD], ""),
    ("bundle", ""),
    ({"type": "report", "id": sid("bundle", "x"), "objects": [GOOD]}, "type"),
    ({"id": sid("bundle", "x"), "objects": [GOOD]}, "type"),
    ({"type": "bundle", "id": "bundle--nope", "objects": [GOOD]}, "id"),
    ({"type": "bundle", "objects": [GOOD]}, "id"),
    ({"type": "bundle", "id": sid("bundle", "x"), "objects": {"0": GOOD}}, "objects"),
], ids=["array", "string", "wrong-type", "no-type", "bad-bundle-id", "no-bundle-id", "objects-not-list"])
def test_body_that_is_not_a_bundle_is_400_naming_the_field(api: Api, doc: Any, field: str) -> None:
    err = assert_error(api.post(api.alpha, "community", doc), 400, "invalid_stix")
    assert err["details"][0]["field"] == field
    assert err["details"][0]["reason"]
    assert api.everything() == set()


def mutate(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**obj, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


DROP = object()
BASE = sdo("indicator", "checked", 3)

INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("id-not-uuid", mutate(BASE, id="indicator--1234"), "id", "uuid"),
    ("id-other-type", mutate(BASE, id=sid("malware", "m")), "id", "indicator--"),
    ("created-not-a-date", mutate(BASE, created="2024-02-30T00:00:00Z"), "created", "timestamp"),
    ("created-no-zone", mutate(BASE, created="2024-01-01T00:00:00"), "created", "timestamp"),
    ("valid-from-bad", mutate(BASE, valid_from="yesterday"), "valid_from", "timestamp"),
    ("modified-before-created", mutate(BASE, created="2026-01-01T00:00:00.000Z"), "modified", "earlier"),
    ("created-missing", mutate(BASE, created=DROP), "created", "required"),
    ("modified-missing", mutate(BASE, modified=DROP), "modified", "required"),
    ("pattern-missing", mutate(BASE, pattern=DROP), "pattern", "required"),
    ("report-refs-missing", mutate(sdo("report", "r"), object_refs=DROP), "object_refs", "required"),
    ("spec-version-2.0", mutate(BASE, spec_version="2.0"), "spec_version", "2.1"),
    ("spec-version-missing", mutate(BASE, spec_version=DROP), "spec_version", "required"),
    ("type-missing", mutate(BASE, type=DROP), "type", "required"),
    ("created-by-not-identity", mutate(BASE, created_by_ref=sid("malware", "m")), "created_by_ref", "identity"),
    ("created-by-not-id", mutate(BASE, created_by_ref="MITRE"), "created_by_ref", "identifier"),
    ("marking-not-marking", mutate(BASE, object_marking_refs=[TLP2["green"], sid("identity", "i")]),
     "object_marking_refs[1]", "marking-definition"),
    ("confidence-out-of-range", mutate(BASE, confidence=101), "confidence", "0 to 100"),
    ("bad-property-name", mutate(BASE, **{"Bad-Name": 1}), "Bad-Name", "lowercase"),
    ("labels-not-strings", mutate(BASE, labels=[1]), "labels", "strings"),
]


@pytest.mark.parametrize(("obj", "field", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_stix_object_is_named_by_id_field_and_reason(api: Api, obj: dict[str, Any], field: str,
                                                              reason: str) -> None:
    alone = api.post(api.alpha, "community", bundle(obj))
    err = assert_error(alone, 400, "invalid_stix")
    (detail,) = err["details"]
    assert detail["field"] == field
    assert reason.lower() in detail["reason"].lower()
    if isinstance(obj.get("id"), str):
        assert detail["id"] == obj["id"]
    (res,) = alone.json()["results"]
    assert (res["status"], res["field"], res["code"]) == ("failure", field, "invalid_stix")
    assert api.everything() == set()
    # with a valid sibling: 207, and exactly the valid object is stored
    mixed = api.post(api.alpha, "community", bundle(GOOD, obj))
    assert mixed.status_code == 207
    assert [r["status"] for r in mixed.json()["results"]] == ["success", "failure"]
    assert api.everything() == {(GOOD["id"], "2025-01-01T00:00:01.000000000Z")}


def test_unparseable_modified_is_reported_as_a_timestamp_problem(api: Api) -> None:
    err = assert_error(api.post(api.alpha, "community", bundle(mutate(BASE, modified="last tuesday"))), 400)
    assert err["details"][0]["field"] == "modified"
    assert "timestamp" in err["details"][0]["reason"]


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"k": value}
    return value


def test_object_nested_deeper_than_the_limit_is_refused_alone(api: Api) -> None:
    limit = api.hub.settings.max_depth
    deep = sdo("threat-actor", "deep", 1, x_payload=nested(limit + 2))
    shallow = sdo("threat-actor", "shallow", 1, x_payload=nested(limit - 3))
    resp = api.post(api.alpha, "community", bundle(deep, shallow))
    assert resp.status_code == 207
    bad = resp.json()["results"][0]
    assert (bad["id"], bad["field"], bad["status"]) == (deep["id"], "x_payload", "failure")
    assert str(limit) in bad["reason"]
    assert {i for i, _ in api.everything()} == {shallow["id"]}


def test_bundle_property_nested_deeper_than_the_limit_is_too_deep(api: Api) -> None:
    doc = {**bundle(GOOD), "x_meta": nested(api.hub.settings.max_depth + 5)}
    err = assert_error(api.post(api.alpha, "community", doc), 400, "too_deep")
    assert err["details"][0]["field"] == "x_meta"
    assert api.everything() == set()


def test_json_nested_beyond_the_parser_limit_is_a_clear_400(api: Api) -> None:
    body = b'{"type":"bundle","id":"' + sid("bundle", "d").encode() + b'","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    err = assert_error(api.post(api.alpha, "community", body), 400)
    assert err["code"] in ("too_deep", "invalid_json")
    assert api.everything() == set()


def test_json_nested_beyond_the_parser_limit_is_too_deep(api: Api) -> None:
    body = b'{"type":"bundle","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_error(api.post(api.alpha, "community", body), 400, "too_deep")


def test_streamed_body_over_the_limit_is_413_without_content_length(api: Api) -> None:
    limit = api.hub.settings.max_body_bytes
    head = b'{"type":"bundle","id":"' + sid("bundle", "s").encode() + b'","objects":[],"x_pad":"'

    def chunks() -> Any:
        yield head
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    resp = api.client.post("/api/v1/collections/community/objects", content=chunks(),
                           headers={**api.alpha.auth(), "Content-Type": "application/json"})
    assert_error(resp, 413, "too_large")
    assert api.everything() == set()


def test_token_label_over_200_characters_is_400(api: Api) -> None:
    admin = api.alpha.auth(Role.ADMIN)
    err = assert_error(api.client.post("/api/v1/tokens", json={"label": "x" * 201}, headers=admin), 400)
    assert any(d.get("field", "").endswith("label") for d in err["details"])
