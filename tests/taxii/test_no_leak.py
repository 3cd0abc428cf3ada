"""No leak through TAXII: hidden and missing objects look the same on every endpoint.

Hidden objects are placed where a reader would trip over them: in the same collection
(``community`` objects with a marking the hub cannot resolve are readable by their producer
only), interleaved in added order with visible ones, and as newer versions of a visible object
shared into a group the reader is not in.
"""

from __future__ import annotations

from typing import Any

from .world import ROOT, UNKNOWN_MARKING, World, indicator, stix_id

V1, V2 = "2025-01-01T00:00:00.000Z", "2025-05-01T00:00:00.000Z"


def _setup(world: World) -> tuple[list[str], list[str]]:
    """Share visible and hidden objects interleaved; return (visible ids, hidden ids) in added order."""
    visible: list[str] = []
    hidden: list[str] = []
    for i in range(1, 7):
        world.post("alpha", "community", [indicator(i)])
        visible.append(stix_id("indicator", i))
        world.post("alpha", "community", [indicator(100 + i, markings=[UNKNOWN_MARKING])])
        hidden.append(stix_id("indicator", 100 + i))
    world.post("alpha", "g1", [indicator(200, V1)])
    hidden.append(stix_id("indicator", 200))
    # a visible object whose newer version lives only in a group Gamma is not in
    world.post("alpha", "community", [indicator(300, V1)])
    world.post("alpha", "g1", [indicator(300, V2)])
    visible.append(stix_id("indicator", 300))
    return visible, hidden


def _comparable(r: Any, asked: str) -> tuple[int, str, bytes, bool]:
    """Return what a client sees, with the id it asked for blanked out."""
    return (r.status_code, r.headers.get("content-type", ""), r.content.replace(asked.encode(), b"ID"),
            "x-taxii-date-added-first" in r.headers)


def test_hidden_and_missing_are_indistinguishable(world: World) -> None:
    _, hidden = _setup(world)
    missing = stix_id("indicator", 999)
    for coll in ("community", "g1", "gamma"):
        base = f"{ROOT}/collections/{world.colls[coll]}"
        for obj in hidden:
            for suffix, method in (("/", "get"), ("/versions/", "get"), ("/", "delete")):
                a = getattr(world.client, method)(f"{base}/objects/{obj}{suffix}", headers=world.h("gamma-analyst"))
                b = getattr(world.client, method)(f"{base}/objects/{missing}{suffix}", headers=world.h("gamma-analyst"))
                assert _comparable(a, obj) == _comparable(b, missing), (coll, suffix, method)
            for path in ("/objects/", "/manifest/"):
                a = world.get("gamma", f"{base}{path}", **{"match[id]": obj})
                b = world.get("gamma", f"{base}{path}", **{"match[id]": missing})
                assert _comparable(a, obj) == _comparable(b, missing), (coll, path)
    # a hidden collection is a missing collection
    a = world.get("gamma", f"{ROOT}/collections/{world.colls['g1']}/")
    b = world.get("gamma", f"{ROOT}/collections/00000000-0000-4000-8000-000000000000/")
    assert _comparable(a, world.colls["g1"]) == _comparable(b, "00000000-0000-4000-8000-000000000000")


def test_pages_counts_more_and_headers_ignore_hidden(world: World) -> None:
    visible, hidden = _setup(world)
    url = world.objects_url("community")
    everything = world.get("gamma", url, **{"match[type]": "indicator"}).json()
    assert [o["id"] for o in everything["objects"]] == visible
    assert not set(hidden) & {o["id"] for o in everything["objects"]}
    # exactly as many as are visible: `more` must be false although hidden objects follow
    exact = world.get("gamma", url, limit=str(len(visible)), **{"match[type]": "indicator"})
    assert exact.json()["more"] is False and "next" not in exact.json()
    manifest = world.get("gamma", f"{ROOT}/collections/{world.colls['community']}/manifest/",
                         **{"match[type]": "indicator"}).json()["objects"]
    assert [m["id"] for m in manifest] == visible
    assert exact.headers["x-taxii-date-added-last"] == manifest[-1]["date_added"]
    # page by page, each page's headers are its own visible first/last
    params: dict[str, str] = {"limit": "2", "match[type]": "indicator"}
    got: list[str] = []
    while True:
        r = world.get("gamma", url, **params)
        page = r.json()
        ids = [o["id"] for o in page["objects"]]
        dates = {m["id"]: m["date_added"] for m in manifest}
        assert r.headers["x-taxii-date-added-first"] == dates[ids[0]]
        assert r.headers["x-taxii-date-added-last"] == dates[ids[-1]]
        got += ids
        if not page["more"]:
            break
        params["next"] = page["next"]
    assert got == visible
    # added_after the last visible object: nothing, although hidden objects were added later
    after = world.get("gamma", url, added_after=manifest[-1]["date_added"])
    assert after.status_code == 200 and after.json() == {}


def test_latest_version_is_the_latest_the_reader_may_read(world: World) -> None:
    _setup(world)
    obj = stix_id("indicator", 300)
    url = f"{world.objects_url('community')}{obj}/"
    for who in ("gamma", "beta"):  # Beta reads V2 in g1, but in community only V1 exists
        assert [o["modified"] for o in world.get(who, url).json()["objects"]] == [V1]
        assert world.get(who, f"{url}versions/").json()["versions"] == [V1]
        listed = world.get(who, world.objects_url("community"), **{"match[id]": obj, "match[version]": "all"})
        assert [o["modified"] for o in listed.json()["objects"]] == [V1]
    assert world.get("gamma", url, **{"match[version]": V2}).json() == {}
    in_group = world.get("beta", f"{world.objects_url('g1')}{obj}/versions/").json()
    assert in_group["versions"] == [V2]


def test_producer_reads_its_own_restricted_objects(world: World) -> None:
    visible, hidden = _setup(world)
    ids = [o["id"] for o in world.get("alpha", world.objects_url("community"), **{"match[type]": "indicator"})
           .json()["objects"]]
    assert set(visible) | (set(hidden) - {stix_id("indicator", 200)}) == set(ids)
