"""Issue 9 item 5: no member's object can break a feature for others (every backend).

One community object with custom properties of unexpected types must not break report analysis,
reads with references, the stream's encoding, exports or TAXII for anyone else.
"""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

from api.conftest import Api
from api.test_analyses import REPORT, api_ner_off  # noqa: F401  (fixture)
from helpers import as_served, bundle, sdo, sid
from pacte.cli.transfer import export_bundle
from pacte.store.events import EventQuery
from pacte.stream.encode import event_json, readable_references

# Wrong types under every key a consumer reads by name; the standard ones are refused, custom ones stored.
HOSTILE_CUSTOM: dict[str, Any] = {
    "x_mitre_aliases": 7, "x_mitre_deprecated": [], "external_references": 12,
    "x_refs": [1, None, {"a": []}], "x_name": ["APT28"], "x_deep": {"a": [{"b": [1, 2]}]},
}


def hostile_actor(**extra: Any) -> dict[str, Any]:
    """Return an intrusion set named like a known group, with custom properties of unexpected types."""
    obj = sdo("intrusion-set", "hostile", 1, **{**HOSTILE_CUSTOM, **extra})
    obj["name"] = "APT28"
    return obj


@pytest.mark.parametrize(("change", "field"), [
    ({"aliases": 5}, "aliases"), ({"aliases": [1, 2]}, "aliases"), ({"name": ["APT28"]}, "name"),
    ({"name": {"x": 1}}, "name"), ({"labels": {"a": 1}}, "labels"), ({"description": 3}, "description"),
    ({"revoked": "yes"}, "revoked"), ({"confidence": [50]}, "confidence"),
])
def test_standard_property_of_the_wrong_type_is_refused_alone(api: Api, change: dict[str, Any], field: str) -> None:
    bad = {**sdo("intrusion-set", "typed", 1), **change}
    good = sdo("intrusion-set", "fine", 1)
    resp = api.post(api.alpha, "community", bundle(bad, good))
    assert resp.status_code == 207, resp.text
    failed, ok = resp.json()["results"]
    assert (failed["status"], failed["field"], ok["status"]) == ("failure", field, "success")
    assert failed["reason"]


def test_analysis_of_another_member_survives_hostile_custom_properties(api_ner_off: Api) -> None:  # noqa: F811
    api = api_ner_off
    stored = api.post(api.alpha, "community", bundle(hostile_actor(), sdo(
        "attack-pattern", "phishing", 1, external_references=[7, "x", {"external_id": 5},
                                                              {"source_name": "mitre-attack", "external_id": "T1566.001"}],
        x_mitre_deprecated="maybe"), sdo("malware", "m", 1, x_mitre_aliases="not-a-list", is_family=True)))
    assert stored.status_code == 200, stored.text
    resp = api.client.post("/api/v1/analyses", json={"text": REPORT, "lang": "en"}, headers=api.bravo.auth())
    assert resp.status_code == 201, resp.text
    actor = [i for i in resp.json()["items"] if i["kind"] == "threat_actor" and i["value"] == "APT28"]
    assert actor and actor[0]["stix_id"] == sid("intrusion-set", "hostile")


def test_reads_stream_and_export_survive_hostile_custom_properties(api: Api) -> None:
    hostile = hostile_actor(x_target_ref=5, x_other_refs=[3, None, "junk", sid("malware", "m")],
                            x_sighting_of_ref={"a": 1})
    report = sdo("report", "r", 1, object_refs=[hostile["id"]], x_object_refs=17)
    assert api.post(api.alpha, "community", bundle(hostile, report)).status_code == 200
    with_refs = api.get(api.bravo, f"/objects/{report['id']}", with_refs="true")
    assert with_refs.status_code == 200
    assert [o["id"] for o in with_refs.json()["references"]] == [hostile["id"]]
    assert api.get(api.bravo, f"/objects/{hostile['id']}", with_refs="true").status_code == 200
    rows = api.hub.store.stream_events(EventQuery(reader=api.bravo.org.org_id, after=0,
                                                  upto=api.hub.store.event_head(), limit=100))
    refs = readable_references(api.hub.store, api.bravo.org.org_id, rows)
    docs = [orjson.loads(event_json(r, str(r.eid), refs)) for r in rows]
    assert {d["object"]["id"] for d in docs if "object" in d} >= {hostile["id"], report["id"]}
    out = io.BytesIO()
    n = export_bundle(api.hub, api.bravo.org, (), False, out)
    exported = orjson.loads(out.getvalue())
    assert n == len(exported["objects"]) and as_served(hostile) in exported["objects"]


def test_object_beyond_the_parser_depth_is_refused_alone_in_a_bundle(api: Api) -> None:
    good = sdo("malware", "sibling", 1, is_family=True)
    deep_id = sid("malware", "deep")
    deep = b'{"type":"malware","id":"' + deep_id.encode() + b'","x_payload":{"a":' + b"[" * 3000 + b"]" * 3000 + b"}}"
    body = (b'{"type":"bundle","id":"' + sid("bundle", "deep").encode() + b'","objects":['
            + deep + b"," + orjson.dumps(good) + b"]}")
    resp = api.post(api.alpha, "community", body)
    assert resp.status_code == 207, resp.text
    bad, ok = resp.json()["results"]
    assert (bad["id"], bad["field"], bad["status"], ok["status"]) == (deep_id, "x_payload", "failure", "success")
    assert "deeper than" in bad["reason"]
    assert {i for i, _ in api.everything()} == {good["id"]}


def test_integer_beyond_64_bits_refuses_its_object_alone(api: Api) -> None:
    good = sdo("malware", "exact", 1, is_family=True)
    huge = sdo("malware", "huge", 1, is_family=True, x_score="HUGE")
    body = orjson.dumps(bundle(huge, good)).replace(b'"HUGE"', b"[1, {\"n\": 123456789012345678901234}]")
    resp = api.post(api.alpha, "community", body)
    assert resp.status_code == 207, resp.text
    bad, ok = resp.json()["results"]
    assert (bad["id"], bad["field"], ok["status"]) == (huge["id"], "x_score[1].n", "success")
    assert {i for i, _ in api.everything()} == {good["id"]}


def test_import_refuses_a_deep_object_alone(api: Api, tmp_path: Any) -> None:
    from pacte.cli.transfer import import_bundle

    good = sdo("malware", "imported", 1, is_family=True)
    deep = b'{"type":"malware","id":"' + sid("malware", "d").encode() + b'","name":' + b"[" * 2000 + b"]" * 2000 + b"}"
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"type":"bundle","id":"' + sid("bundle", "i").encode() + b'","objects":['
                     + orjson.dumps(good) + b"," + deep + b"]}")
    assert import_bundle(api.hub, path, "Alpha", "community", 100, progress=False) == (1, 1)
    assert {i for i, _ in api.everything()} == {good["id"]}
