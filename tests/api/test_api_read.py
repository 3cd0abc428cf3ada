"""Reading through the API: get by id (hidden == missing), listing filters, pagination, with_refs, OpenAPI."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from api.conftest import Api, assert_error
from helpers import MITRE_IDENTITY, TLP1, TLP2, as_served, bundle, sdo
from pacte.hub.positions import Surface
from pacte.policy import Role

TA = [sdo("threat-actor", "ta", v) for v in (1, 2, 3)]
IND = sdo("indicator", "ind", 4, markings=[TLP2["green"]])
GRP = sdo("threat-actor", "grp", 5)
PRIV = sdo("malware", "priv", 6, markings=[TLP2["red"]])
AP = sdo("attack-pattern", "ap", 7, created_by=MITRE_IDENTITY)
CH = sdo("malware", "ch", 8, markings=[TLP1["white"]])


def ids(resp: Any) -> list[tuple[str, str]]:
    return [(o["id"], o.get("modified", "")) for o in resp.json()["objects"]]


@pytest.fixture
def world(api: Api) -> Api:
    assert api.post(api.alpha, "community", bundle(*TA, IND)).status_code == 200
    assert api.post(api.alpha, "AB", bundle(GRP)).status_code == 200
    assert api.post(api.alpha, "private:Alpha", bundle(PRIV)).status_code == 200
    assert api.post(api.bravo, "community", bundle(AP)).status_code == 200
    assert api.post(api.charlie, "community", bundle(CH)).status_code == 200
    return api


def test_get_by_id_versions(world: Api) -> None:
    last = world.get(world.charlie, f"/objects/{TA[0]['id']}")
    assert last.status_code == 200
    assert last.json() == {"more": False, "objects": [as_served(TA[2])]}
    assert world.get(world.charlie, f"/objects/{TA[0]['id']}", versions="first").json()["objects"] == [as_served(TA[0])]
    every = world.get(world.charlie, f"/objects/{TA[0]['id']}", versions="all").json()["objects"]
    assert sorted(every, key=lambda o: o["modified"]) == [as_served(o) for o in TA]
    assert world.get(world.bravo, f"/objects/{GRP['id']}").json()["objects"] == [as_served(GRP)]
    assert world.get(world.alpha, f"/objects/{PRIV['id']}").json()["objects"] == [as_served(PRIV)]


def test_hidden_is_indistinguishable_from_missing(api: Api) -> None:
    probes: list[tuple[str, dict[str, Any]]] = [
        (f"/objects/{GRP['id']}", {}), (f"/objects/{GRP['id']}", {"versions": "all"}),
        (f"/objects/{GRP['id']}", {"with_refs": "true"}), (f"/objects/{PRIV['id']}", {}),
        ("/objects", {}), ("/objects", {"type": "threat-actor"}), ("/objects", {"producer": "Alpha"}),
        ("/objects", {"versions": "all", "limit": 1}), ("/objects", {"collection": "AB"}),
    ]
    before = [api.get(api.charlie, path, **params) for path, params in probes]
    assert api.post(api.alpha, "AB", bundle(GRP)).status_code == 200
    assert api.post(api.alpha, "private:Alpha", bundle(PRIV)).status_code == 200
    after = [api.get(api.charlie, path, **params) for path, params in probes]
    cursors = api.hub.positions_of(Surface.OBJECTS, api.charlie.org)

    def seen(resp: Any) -> tuple[int, Any]:  # a cursor is sealed afresh each time: compare what it seals
        body = resp.json()
        if "next" in body:
            body["next"] = cursors.open(body["next"])
            assert body["next"] is not None
        return resp.status_code, body

    for (path, params), b, a in zip(probes, before, after, strict=True):
        assert seen(a) == seen(b), (path, params)
    assert "next" in after[7].json()  # the probe that pages does carry a cursor
    assert_error(after[0], 404, "not_found")
    # ...and the members of the audience do read them
    assert api.get(api.bravo, f"/objects/{GRP['id']}").status_code == 200
    assert_error(api.get(api.bravo, f"/objects/{PRIV['id']}"), 404, "not_found")


def test_listing_filters(world: Api) -> None:
    c = world.charlie
    listed = ids(world.get(c, "/objects"))
    identities = {o.org.identity_id for o in (world.alpha, world.bravo, world.charlie)}
    assert {i for i, _ in listed} == {TA[0]["id"], IND["id"], AP["id"], CH["id"], *identities}
    assert len(listed) == 7 and (TA[0]["id"], TA[2]["modified"]) in listed
    assert ids(world.get(c, "/objects", type="threat-actor")) == [(TA[0]["id"], TA[2]["modified"])]
    assert {i for i, _ in ids(world.get(c, "/objects", type=["malware", "attack-pattern"]))} == {AP["id"], CH["id"]}
    assert {i for i, _ in ids(world.get(c, "/objects", producer="Alpha"))} == {TA[0]["id"], IND["id"],
                                                                               world.alpha.org.identity_id}
    assert {i for i, _ in ids(world.get(world.alpha, "/objects", producer="Alpha"))} == {
        TA[0]["id"], IND["id"], GRP["id"], PRIV["id"], world.alpha.org.identity_id}
    assert ids(world.get(c, "/objects", producer="Nobody")) == []
    window = world.get(c, "/objects", type=["threat-actor", "indicator", "attack-pattern", "malware"],
                       modified_from=TA[1]["modified"], modified_to=AP["modified"], versions="all")
    assert sorted(ids(window)) == sorted([(TA[1]["id"], TA[1]["modified"]), (TA[2]["id"], TA[2]["modified"]),
                                          (IND["id"], IND["modified"]), (AP["id"], AP["modified"])])
    assert ids(world.get(c, "/objects", type="threat-actor", versions="first")) == [(TA[0]["id"], TA[0]["modified"])]
    assert len(ids(world.get(c, "/objects", type="threat-actor", versions="all"))) == 3
    in_group = world.get(world.bravo, "/objects", collection="AB")
    assert ids(in_group) == [(GRP["id"], GRP["modified"])]
    assert ids(world.get(world.bravo, "/objects", collection=world.group.uuid)) == ids(in_group)
    assert_error(world.get(c, "/objects", collection="AB"), 404, "not_found")


def test_pagination_is_correct_under_the_policy(api: Api) -> None:
    visible, hidden = [], []
    for i in range(12):
        obj = sdo("intrusion-set", f"page-{i}", i + 1)
        target = "community" if i % 3 == 0 or i == 10 else ("AB" if i % 2 else "private:Alpha")
        assert api.post(api.alpha, target, bundle(obj)).status_code == 200
        (visible if target == "community" else hidden).append(obj["id"])
    assert api.post(api.alpha, "private:Alpha", bundle(sdo("intrusion-set", "tail-hidden", 99))).status_code == 200
    for limit in (1, 2, 3, 5, 100):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"type": "intrusion-set", "limit": limit}
            if cursor:
                params["cursor"] = cursor
            body = api.get(api.charlie, "/objects", **params).json()
            pages += 1
            seen.extend(o["id"] for o in body["objects"])
            assert len(body["objects"]) <= limit
            assert body["more"] == (len(seen) < len(visible))
            assert ("next" in body) == body["more"]
            if not body["more"]:
                break
            cursor = body["next"]
        assert seen == visible  # added order, hidden rows skipped inside the query
        assert pages == max(1, -(-len(visible) // limit))


def test_bad_listing_parameters_are_400_naming_the_field(world: Api) -> None:
    for params, field in (({"cursor": "garbage!"}, "cursor"), ({"modified_from": "yesterday"}, "modified_from"),
                          ({"modified_to": "2024-13-01T00:00:00Z"}, "modified_to"), ({"limit": 0}, "limit"),
                          ({"limit": 1001}, "limit"), ({"versions": "some"}, "versions")):
        err = assert_error(world.get(world.alpha, "/objects", **params), 400, "invalid_input")
        assert any(d.get("field", "").endswith(field) for d in err["details"]), (params, err)
    assert_error(world.get(world.alpha, f"/objects/{TA[0]['id']}", versions="some"), 400, "invalid_input")


def test_with_refs_never_reveals_what_the_reader_may_not_read(api: Api) -> None:
    assert api.post(api.alpha, "community", bundle(*TA, IND)).status_code == 200
    assert api.post(api.alpha, "AB", bundle(GRP)).status_code == 200
    assert api.post(api.alpha, "private:Alpha", bundle(PRIV)).status_code == 200
    report = sdo("report", "rep", 9, object_refs=[TA[0]["id"], IND["id"], GRP["id"], PRIV["id"]],
                 created_by=api.alpha.org.identity_id)
    rel = sdo("relationship", "rel", 9, relationship_type="indicates", source_ref=IND["id"], target_ref=GRP["id"])
    del rel["name"]
    assert api.post(api.alpha, "community", bundle(report, rel)).status_code == 200

    def refs(member: Any, oid: str) -> set[str]:
        body = api.get(member, f"/objects/{oid}", with_refs="true").json()
        assert [o["id"] for o in body["objects"]] == [oid]
        return {o["id"] for o in body["references"]}

    alpha_id = api.alpha.org.identity_id
    assert refs(api.charlie, report["id"]) == {TA[0]["id"], IND["id"], alpha_id}
    assert refs(api.bravo, report["id"]) == {TA[0]["id"], IND["id"], GRP["id"], alpha_id}
    assert refs(api.alpha, report["id"]) == {TA[0]["id"], IND["id"], GRP["id"], PRIV["id"], alpha_id}
    assert refs(api.charlie, rel["id"]) == {IND["id"]}
    assert refs(api.bravo, rel["id"]) == {IND["id"], GRP["id"]}
    charlie_refs = api.get(api.charlie, f"/objects/{report['id']}", with_refs="true").json()["references"]
    assert as_served(TA[2]) in charlie_refs  # the latest readable version


def test_openapi_document(api: Api) -> None:
    resp = api.client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    assert {"/api/v1/whoami", "/api/v1/organisations", "/api/v1/groups", "/api/v1/collections", "/api/v1/tokens",
            "/api/v1/tokens/{token_id}", "/api/v1/collections/{collection}/objects", "/api/v1/objects",
            "/api/v1/objects/{object_id}"} <= paths
    assert "post" in doc["paths"]["/api/v1/collections/{collection}/objects"]
    params = {p["name"] for p in doc["paths"]["/api/v1/objects"]["get"]["parameters"]}
    assert {"type", "producer", "collection", "modified_from", "modified_to", "versions", "limit", "cursor"} <= params
    assert api.get(api.alpha, "/whoami", Role.READER).status_code == 200


def test_latest_readable_version_when_the_newest_is_hidden(api: Api) -> None:
    v1 = sdo("intrusion-set", "layered", 1, created_by=MITRE_IDENTITY)
    v2 = sdo("intrusion-set", "layered", 2, created_by=MITRE_IDENTITY, description="group-only detail")
    assert api.post(api.alpha, "community", bundle(v1)).status_code == 200
    assert api.post(api.alpha, "AB", bundle(v2)).status_code == 200
    report = sdo("report", "layered-report", 3, object_refs=[v1["id"]])
    assert api.post(api.alpha, "community", bundle(report)).status_code == 200
    assert api.get(api.charlie, f"/objects/{v1['id']}").json()["objects"] == [as_served(v1)]
    assert api.get(api.bravo, f"/objects/{v1['id']}").json()["objects"] == [as_served(v2)]
    assert api.get(api.charlie, f"/objects/{v1['id']}", versions="all").json()["objects"] == [as_served(v1)]
    assert ids(api.get(api.charlie, "/objects", type="intrusion-set")) == [(v1["id"], v1["modified"])]
    assert ids(api.get(api.bravo, "/objects", type="intrusion-set")) == [(v1["id"], v2["modified"])]
    refs = api.get(api.charlie, f"/objects/{report['id']}", with_refs="true").json()["references"]
    assert refs == [as_served(v1)]
    assert api.get(api.bravo, f"/objects/{report['id']}", with_refs="true").json()["references"] == [as_served(v2)]


def test_cursor_out_of_range_is_400(api: Api) -> None:
    for cursor in (base64.urlsafe_b64encode(b"v1:5").decode().rstrip("="),  # the former clear form
                   api.hub.positions.seal(Surface.OBJECTS, api.alpha.org.org_id, 2**63)):
        err = assert_error(api.get(api.alpha, "/objects", cursor=cursor), 400, "invalid_input")
        assert err["details"][0]["field"] == "cursor"


def test_upper_case_uuid_lookups_obey_the_policy(api: Api) -> None:
    x = sdo("malware", "case-lookup", 1)
    kind, _, uuid_part = x["id"].partition("--")
    upper = f"{kind}--{uuid_part.upper()}"
    missing = api.get(api.charlie, f"/objects/{upper}")
    assert api.post(api.alpha, "AB", bundle(x)).status_code == 200
    hidden = api.get(api.charlie, f"/objects/{upper}")
    assert_error(hidden, 404, "not_found")
    assert hidden.content == missing.content
    assert api.get(api.bravo, f"/objects/{upper}").json()["objects"] == [as_served(x)]
    report = sdo("report", "case-report", 2, object_refs=[upper])
    assert api.post(api.alpha, "community", bundle(report)).status_code == 200
    refs = {m.name: api.get(m, f"/objects/{report['id']}", with_refs="true").json()["references"]
            for m in (api.bravo, api.charlie)}
    assert refs == {"Bravo": [as_served(x)], "Charlie": []}
