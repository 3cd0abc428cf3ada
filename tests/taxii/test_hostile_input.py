"""Issue 9 item 5 over TAXII (every backend): bad objects refused alone, versions for every object, ids in any case."""

from __future__ import annotations

from typing import Any

import orjson

from helpers import as_served
from pacte.taxii.envelope import UNVERSIONED

from .world import ROOT, TAXII, World, indicator, malware, stix_id

IPV4 = {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}


def _post_raw(world: World, who: str, coll: str, body: bytes) -> Any:
    return world.client.post(world.objects_url(coll), content=body, headers={**world.h(who), "Content-Type": TAXII})


def test_observables_have_one_version_everywhere(world: World) -> None:
    status = world.post("alpha", "community", [IPV4, malware(1)])
    assert status["success_count"] == 2
    assert {s["id"]: s["version"] for s in status["successes"]}[IPV4["id"]] == UNVERSIONED
    coll = f"{ROOT}/collections/{world.colls['community']}"
    manifest = {m["id"]: m["version"] for m in world.get("beta", f"{coll}/manifest/").json()["objects"]}
    assert all(manifest.values())  # members' identities are there too, each with its version
    assert (manifest[IPV4["id"]], manifest[stix_id("malware", 1)]) == (UNVERSIONED, "2025-02-01T00:00:00.000Z")
    versions = world.get("beta", f"{coll}/objects/{IPV4['id']}/versions/").json()
    assert versions["versions"] == [UNVERSIONED]
    by_version = world.get("beta", f"{coll}/objects/", **{"match[version]": UNVERSIONED}).json()
    assert [o["id"] for o in by_version["objects"]] == [IPV4["id"]]
    one = world.get("beta", f"{coll}/objects/{IPV4['id']}/", **{"match[version]": UNVERSIONED}).json()
    assert one["objects"] == [as_served(IPV4)]


def test_delete_accepts_the_id_in_any_case(world: World) -> None:
    obj = indicator(7)
    world.post("alpha", "alpha", [obj])
    url = f"{ROOT}/collections/{world.colls['alpha']}/objects/{obj['id'].upper().replace('INDICATOR', 'indicator')}/"
    assert world.client.delete(url, headers=world.h("alpha")).status_code == 200
    gone = world.get("alpha", f"{ROOT}/collections/{world.colls['alpha']}/objects/{obj['id']}/")
    assert gone.status_code == 404


def test_object_beyond_the_parser_depth_is_refused_alone(world: World) -> None:
    good = indicator(1)
    deep_id = stix_id("indicator", 2)
    deep = (b'{"type":"indicator","id":"' + deep_id.encode() + b'","x_payload":' + b"[" * 3000 + b"]" * 3000 + b"}")
    body = b'{"objects":[' + orjson.dumps(good) + b"," + deep + b"," + orjson.dumps(malware(3)) + b"]}"
    resp = _post_raw(world, "alpha", "community", body)
    assert resp.status_code == 202, resp.text
    status = resp.json()
    assert (status["success_count"], status["failure_count"]) == (2, 1)
    (failure,) = status["failures"]
    assert failure["id"] == deep_id and failure["message"].startswith("x_payload: nests deeper than")
    ids = {o["id"] for o in world.get("beta", world.objects_url("community")).json()["objects"]}
    assert {i for i in ids if not i.startswith("identity--")} == {good["id"], stix_id("malware", 3)}


def test_deep_standard_property_and_bad_pattern_are_refused_alone(world: World) -> None:
    bad_name = {**malware(4), "name": "NESTED"}  # replaced by 300 nested lists: beyond what orjson writes
    bad_pattern = indicator(5, pattern="[ipv4-addr:value = '198.51.100.1'")
    bad_ip = {**IPV4, "id": "ipv4-addr--5a1e1c1f-0d2c-5a36-9b0e-1c1d1e1f2a2b", "value": "not-an-address"}
    body = orjson.dumps({"objects": [bad_name, bad_pattern, bad_ip, indicator(6)]})
    body = body.replace(b'"NESTED"', b"[" * 300 + b'"x"' + b"]" * 300)
    resp = _post_raw(world, "alpha", "community", body)
    assert resp.status_code == 202, resp.text
    status = resp.json()
    assert status["success_count"] == 1
    messages = {f["id"]: f["message"] for f in status["failures"]}
    assert messages[bad_name["id"]].startswith("name: must be a string")
    assert messages[bad_pattern["id"]].startswith("pattern: not a valid STIX 2.1 pattern")
    assert messages[bad_ip["id"]].startswith("value: must be an IPv4 address")
