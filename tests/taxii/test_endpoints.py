"""TAXII 2.1 endpoints in process (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import orjson

from pacte.hub.clock import FrozenClock
from pacte.hub.positions import Surface
from pacte.stix.markings import Tlp
from pacte.store.base import Org
from pacte.store.taxii_status import STATUS_RETENTION_DAYS
from pacte.taxii.filters import encode_next

from .world import ROOT, TAXII, World, basic, indicator, malware, stix_id

TAXII_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_discovery_api_root_and_collections(world: World) -> None:
    r = world.get("alpha", "/taxii2/")
    assert r.status_code == 200 and r.headers["content-type"] == TAXII
    assert r.json()["api_roots"] == [f"{ROOT}/"] and r.json()["default"] == f"{ROOT}/"
    root = world.get("alpha", f"{ROOT}/").json()
    assert TAXII in root["versions"] and root["max_content_length"] == world.hub.settings.max_body_bytes
    colls = {c["alias"]: c for c in world.get("alpha", f"{ROOT}/collections/").json()["collections"]}
    assert set(colls) == {"community", "g1", "private:Alpha"}
    assert all(c["can_read"] and c["can_write"] for c in colls.values())
    gamma = {c["alias"]: c for c in world.get("gamma", f"{ROOT}/collections/").json()["collections"]}
    assert set(gamma) == {"community", "private:Gamma"}
    assert not any(c["can_write"] for c in gamma.values())  # reader token
    one = world.get("beta", f"{ROOT}/collections/{world.colls['g1']}/").json()
    assert one["id"] == world.colls["g1"] and one["media_types"] == ["application/stix+json;version=2.1"]


def test_authentication(world: World) -> None:
    r = world.client.get(f"{ROOT}/collections/", headers={"Accept": TAXII})
    assert r.status_code == 401 and "Bearer" in r.headers["www-authenticate"]
    assert r.json()["http_status"] == "401" and r.headers["content-type"] == TAXII
    bad = world.client.get(f"{ROOT}/", headers={"Authorization": "Bearer pacte_nope", "Accept": TAXII})
    assert bad.status_code == 401 and "www-authenticate" in bad.headers
    ok = world.client.get(f"{ROOT}/collections/", headers=basic(world.tokens["beta"]))
    assert ok.status_code == 200 and len(ok.json()["collections"]) == 3


def test_media_types(world: World) -> None:
    url = world.objects_url("alpha")
    for accept, status in (("application/json", 406), ("application/taxii+json;version=2.0", 406),
                           ("application/taxii+json", 200), ("*/*", 200), (TAXII, 200)):
        r = world.client.get(url, headers={**world.h("alpha"), "Accept": accept})
        assert r.status_code == status, accept
        assert r.headers["content-type"] == TAXII
    body = orjson.dumps({"objects": [indicator(1)]})
    for ctype in ("application/json", "application/stix+json;version=2.1", "application/taxii+json;version=2.0"):
        r = world.client.post(url, content=body, headers={**world.h("alpha"), "Content-Type": ctype})
        assert r.status_code == 415 and r.json()["http_status"] == "415", ctype


def test_post_status_and_duplicates(world: World) -> None:
    st = world.post("alpha", "g1", [indicator(1), indicator(2), {"type": "indicator", "id": "nope"}])
    assert (st["status"], st["total_count"], st["success_count"], st["failure_count"], st["pending_count"]) == (
        "complete", 3, 2, 1, 0)
    assert {s["id"] for s in st["successes"]} == {stix_id("indicator", 1), stix_id("indicator", 2)}
    assert st["failures"][0]["message"]
    assert TAXII_TIMESTAMP.match(st["request_timestamp"])
    again = world.post("alpha", "g1", [indicator(1)])  # exact duplicate: a success
    assert again["success_count"] == 1 and again["failure_count"] == 0
    got = world.get("alpha", f"{ROOT}/status/{st['id']}/")
    assert got.status_code == 200 and got.json() == st
    assert world.get("alpha", f"{ROOT}/status/{st['id']}").json() == st  # taxii2-client's URL form
    # another member, even of the same group, cannot see it: same answer as an unknown id
    other = world.get("beta", f"{ROOT}/status/{st['id']}/")
    unknown = world.get("alpha", f"{ROOT}/status/00000000-0000-4000-8000-000000000000/")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error_code"] == unknown.json()["error_code"]


def test_policy_refusal_is_a_failure_with_reason(world: World) -> None:
    st = world.post("alpha", "community", [indicator(1, tlp=Tlp.RED), indicator(2, tlp=Tlp.GREEN)])
    assert st["success_count"] == 1 and st["failure_count"] == 1
    assert st["failures"][0]["id"] == stix_id("indicator", 1)
    assert "TLP:RED" in st["failures"][0]["message"]
    ids = [o["id"] for o in world.get("beta", world.objects_url("community"), **{"match[type]": "indicator"})
           .json()["objects"]]
    assert ids == [stix_id("indicator", 2)]


def test_write_permissions_and_errors(world: World) -> None:
    body = orjson.dumps({"objects": [indicator(1)]})
    post = {"Content-Type": TAXII}
    r = world.client.post(world.objects_url("community"), content=body, headers={**world.h("gamma"), **post})
    assert r.status_code == 403  # reader token
    r = world.client.post(world.objects_url("g1"), content=body, headers={**world.h("gamma-analyst"), **post})
    assert r.status_code == 404  # not a member of g1: the group does not exist for Gamma
    r = world.client.post(world.objects_url("alpha"), content=b"{not json", headers={**world.h("alpha"), **post})
    assert r.status_code == 400 and r.json()["http_status"] == "400"
    r = world.client.post(world.objects_url("alpha"), content=orjson.dumps({"objects": [{"type": "x"}]}),
                          headers={**world.h("alpha"), **post})
    assert r.status_code == 422 and r.json()["details"]["problems"]
    big = b'{"objects":[' + b'"' + b"x" * world.hub.settings.max_body_bytes + b'"]}'
    r = world.client.post(world.objects_url("alpha"), content=big, headers={**world.h("alpha"), **post})
    assert r.status_code == 413
    for params in ({"limit": "0"}, {"limit": "x"}, {"added_after": "yesterday"}, {"next": "garbage!"},
                   {"match[version]": "all,last"}, {"match[version]": "2025-13-01T00:00:00Z"},
                   {"match[spec_version]": "two"}):
        r = world.get("alpha", world.objects_url("alpha"), **params)
        assert r.status_code == 400 and r.json()["http_status"] == "400", params


def test_pagination_headers_and_added_after(world: World) -> None:
    for i in range(1, 8):  # one POST each: each gets its own date_added
        world.post("alpha", "alpha", [indicator(i)])
    url = world.objects_url("alpha")
    seen: list[str] = []
    added: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    while True:
        r = world.get("alpha", url, **params)
        body = r.json()
        assert r.status_code == 200
        seen += [o["id"] for o in body["objects"]]
        man = world.get("alpha", f"{ROOT}/collections/{world.colls['alpha']}/manifest/", **params).json()
        assert [m["id"] for m in man["objects"]] == [o["id"] for o in body["objects"]]
        assert r.headers["x-taxii-date-added-first"] == man["objects"][0]["date_added"]
        assert r.headers["x-taxii-date-added-last"] == man["objects"][-1]["date_added"]
        added += [m["date_added"] for m in man["objects"]]
        if not body["more"]:
            assert "next" not in body
            break
        params = {"limit": "3", "next": body["next"]}
    assert seen == [stix_id("indicator", i) for i in range(1, 8)]
    assert added == sorted(added) and len(set(added)) == 7
    assert all(TAXII_TIMESTAMP.match(a) for a in added)  # TAXII timestamps: exactly microseconds
    after = world.get("alpha", url, added_after=added[4]).json()
    assert [o["id"] for o in after["objects"]] == seen[5:]
    empty = world.get("alpha", url, added_after=added[-1])
    assert empty.status_code == 200 and empty.json() == {} and "x-taxii-date-added-first" not in empty.headers


def test_match_filters_and_versions(world: World) -> None:
    v1, v2, v3 = "2025-01-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"
    world.post("alpha", "alpha", [indicator(1, v1), malware(2), indicator(3)])
    world.post("alpha", "alpha", [indicator(1, v3)])
    world.post("alpha", "alpha", [indicator(1, v2)])
    url = world.objects_url("alpha")

    def versions_of(**params: str) -> list[str]:
        return [o["modified"] for o in world.get("alpha", url, **{"match[id]": stix_id("indicator", 1), **params})
                .json().get("objects", [])]

    assert versions_of() == [v3]
    assert versions_of(**{"match[version]": "first"}) == [v1]
    assert sorted(versions_of(**{"match[version]": "first,last"})) == [v1, v3]
    assert versions_of(**{"match[version]": "all"}) == [v1, v3, v2]  # date-added order
    assert versions_of(**{"match[version]": v2}) == [v2]
    assert sorted(versions_of(**{"match[version]": f"{v2},last"})) == [v2, v3]
    assert versions_of(**{"match[spec_version]": "2.0"}) == []
    assert versions_of(**{"match[spec_version]": "2.0,2.1"}) == [v3]
    types = world.get("alpha", url, **{"match[type]": "malware,indicator"}).json()["objects"]
    assert {o["id"] for o in types} == {stix_id("indicator", 1), stix_id("indicator", 3), stix_id("malware", 2)}
    two = world.get("alpha", url, **{"match[id]": f"{stix_id('malware', 2)},{stix_id('indicator', 3)}"}).json()
    assert {o["id"] for o in two["objects"]} == {stix_id("malware", 2), stix_id("indicator", 3)}
    assert world.get("alpha", url, **{"match[type]": "campaign"}).json() == {}

    obj_url = f"{url}{stix_id('indicator', 1)}/"
    assert [o["modified"] for o in world.get("alpha", obj_url).json()["objects"]] == [v3]
    assert [o["modified"] for o in world.get("alpha", obj_url, **{"match[version]": "all"}).json()["objects"]] == [
        v1, v3, v2]
    vr = world.get("alpha", f"{obj_url}versions/")
    assert vr.json() == {"more": False, "versions": [v1, v3, v2]}
    assert vr.headers["x-taxii-date-added-first"] < vr.headers["x-taxii-date-added-last"]
    page = world.get("alpha", f"{obj_url}versions/", limit="2").json()
    assert page["more"] is True and page["versions"] == [v1, v3]
    rest = world.get("alpha", f"{obj_url}versions/", limit="2", next=page["next"]).json()
    assert rest == {"more": False, "versions": [v2]}


def test_delete_removes_only_own_shares(world: World) -> None:
    world.post("alpha", "g1", [indicator(1, "2025-01-01T00:00:00.000Z"), indicator(2)])
    world.post("alpha", "g1", [indicator(1, "2025-02-01T00:00:00.000Z")])
    obj = f"{world.objects_url('g1')}{stix_id('indicator', 1)}/"
    assert world.client.delete(obj, headers=world.h("beta")).status_code == 403  # Beta made no share of it
    assert world.client.delete(obj, headers=world.h("gamma-analyst")).status_code == 404  # cannot read it
    r = world.client.delete(obj, headers=world.h("alpha"), params={"match[version]": "first"})
    assert r.status_code == 200
    assert world.get("beta", f"{obj}versions/").json()["versions"] == ["2025-02-01T00:00:00.000Z"]
    assert world.client.delete(obj, headers=world.h("alpha")).status_code == 200
    gone = world.get("beta", obj)
    missing = world.get("beta", f"{world.objects_url('g1')}{stix_id('indicator', 99)}/")
    assert gone.status_code == missing.status_code == 404
    assert [o["id"] for o in world.get("beta", world.objects_url("g1")).json()["objects"]] == [
        stix_id("indicator", 2)]
    # the producer still reads its version where it is still shared: its private collection
    world.post("alpha", "alpha", [indicator(1, "2025-02-01T00:00:00.000Z")])
    assert world.get("alpha", f"{world.objects_url('alpha')}{stix_id('indicator', 1)}/").status_code == 200


def _org(world: World, name: str) -> Org:
    org = world.hub.store.org_by_name(name)
    assert org is not None
    return org


def test_next_is_reauthorised(world: World) -> None:
    world.post("alpha", "g1", [indicator(i) for i in range(1, 5)])
    first = world.get("beta", world.objects_url("g1"), limit="2").json()
    assert first["more"] is True
    # Gamma replaying Beta's cursor gets nothing of g1 (404), and in community only what it may read
    assert world.get("gamma", world.objects_url("g1"), next=first["next"]).status_code == 404
    # ...and in community Beta's cursor is not Gamma's: refused, with TAXII's error body
    replayed = world.get("gamma", world.objects_url("community"), next=first["next"])
    assert replayed.status_code == 400 and replayed.json()["http_status"] == "400"
    own = encode_next(world.hub.positions_of(Surface.TAXII, _org(world, "Gamma")), 0)
    forged = world.get("gamma", world.objects_url("community"), next=own).json()
    assert all(o["type"] == "identity" for o in forged.get("objects", []))


def test_status_kept_at_least_a_day_then_purged(world: World, clock: FrozenClock) -> None:
    first = world.post("alpha", "alpha", [indicator(1)])
    clock.advance(timedelta(days=2))
    world.post("alpha", "alpha", [indicator(2)])  # each POST purges statuses past retention
    assert world.get("alpha", f"{ROOT}/status/{first['id']}/").json() == first
    clock.advance(timedelta(days=STATUS_RETENTION_DAYS))
    world.post("alpha", "alpha", [indicator(3)])
    assert world.get("alpha", f"{ROOT}/status/{first['id']}/").status_code == 404
