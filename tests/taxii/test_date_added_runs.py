"""Runs of equal ``date_added``: the objects of one write share one time; paging skips and repeats nothing.

A page cut inside a run ends before it (``taxii.reads``), so paging by ``next`` and paging by
``added_after`` = the previous page's ``X-TAXII-Date-Added-Last`` both return every object once; a
run longer than ``limit`` is cut (only ``next`` pages through it). Every test runs on both backends.
"""

from __future__ import annotations

from typing import Any

from .world import ROOT, UNKNOWN_MARKING, World, indicator, stix_id

POSTS = (2, 5, 1, 3, 4)  # objects per POST into alpha's private collection: one write, one date_added each


def _fill(world: World) -> list[str]:
    ids: list[str] = []
    for size in POSTS:
        batch = [indicator(len(ids) + i) for i in range(1, size + 1)]
        world.post("alpha", "alpha", batch)
        ids += [o["id"] for o in batch]
    return ids


def _pages(world: World, path: str, limit: int, by: str, who: str = "alpha", **extra: str) -> list[list[str]]:
    """Page through ``path`` following ``next`` or ``added_after`` = X-TAXII-Date-Added-Last; return the pages' ids."""
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": str(limit), **extra}
    while True:
        r = world.get(who, path, **params)
        assert r.status_code == 200, r.text
        body = r.json()
        if not body:
            return pages
        pages.append([o["id"] for o in body["objects"]])
        dates = [o["date_added"] for o in body["objects"]] if path.endswith("/manifest/") else None
        if dates is not None:
            assert (r.headers["x-taxii-date-added-first"], r.headers["x-taxii-date-added-last"]) == (dates[0], dates[-1])
        if not body["more"]:
            assert "next" not in body
            return pages
        assert len(pages) <= 30, pages
        if by == "next":
            params = {"limit": str(limit), "next": body["next"], **extra}
        else:
            params = {"limit": str(limit), "added_after": r.headers["x-taxii-date-added-last"], **extra}


def _manifest(world: World) -> list[dict[str, Any]]:
    body: dict[str, Any] = world.get("alpha", f"{ROOT}/collections/{world.colls['alpha']}/manifest/").json()
    return list(body["objects"])


def test_one_post_has_one_date_added(world: World) -> None:
    ids = _fill(world)
    records = _manifest(world)
    assert [r["id"] for r in records] == ids
    dates = [r["date_added"] for r in records]
    runs = [dates.count(d) for d in sorted(set(dates))]
    assert dates == sorted(dates) and runs == list(POSTS)


def test_next_pages_return_every_object_once(world: World) -> None:
    ids = _fill(world)
    paths = [world.objects_url("alpha"), f"{ROOT}/collections/{world.colls['alpha']}/manifest/"]
    for path in paths:
        for limit in range(1, 8):
            pages = _pages(world, path, limit, "next")
            assert [i for p in pages for i in p] == ids, (path, limit, pages)
            assert all(0 < len(p) <= limit for p in pages)
    # limit 3 over runs of 2, 5, 1, 3, 4: a page ends before a run it would split, unless the run fills it
    assert [len(p) for p in _pages(world, paths[0], 3, "next")] == [2, 3, 3, 3, 3, 1]


def test_added_after_pages_return_every_object_once(world: World) -> None:
    ids = _fill(world)
    paths = [world.objects_url("alpha"), f"{ROOT}/collections/{world.colls['alpha']}/manifest/"]
    for path in paths:
        for limit in (5, 6, 7, 9, 100):  # at least the longest run
            pages = _pages(world, path, limit, "added_after")
            assert [i for p in pages for i in p] == ids, (path, limit, pages)
        typed = _pages(world, path, 5, "added_after", **{"match[type]": "indicator"})
        assert [i for p in typed for i in p] == ids


def test_a_run_longer_than_the_limit_is_cut_and_next_goes_through_it(world: World) -> None:
    ids = _fill(world)
    url = world.objects_url("alpha")
    first = world.get("alpha", url, limit="3").json()
    assert [o["id"] for o in first["objects"]] == ids[:2]  # ends before the run of 5
    r = world.get("alpha", url, limit="3", next=first["next"])
    body = r.json()
    assert [o["id"] for o in body["objects"]] == ids[2:5] and body["more"]  # the run of 5 fills the page: cut
    rest = world.get("alpha", url, limit="3", next=body["next"]).json()
    assert [o["id"] for o in rest["objects"]] == ids[5:8]
    # added_after the cut run's time skips the rest of it: documented, ``next`` is the way through
    after = world.get("alpha", url, limit="3", added_after=r.headers["x-taxii-date-added-last"]).json()
    assert [o["id"] for o in after["objects"]] == ids[7:8]  # then ends before the run of 3


def test_the_cut_counts_only_what_the_reader_sees(world: World) -> None:
    """Objects of a run that alpha cannot read (beta's unresolved marking) neither split nor extend alpha's pages."""
    hidden = [indicator(100 + i, markings=[UNKNOWN_MARKING]) for i in range(3)]
    world.post("beta", "community", [*hidden, indicator(1)])
    world.post("beta", "community", [indicator(2), indicator(3)])
    world.post("beta", "community", [indicator(4)])
    every = ",".join([stix_id("indicator", n) for n in (1, 2, 3, 4)] + [o["id"] for o in hidden])
    url = world.objects_url("community")
    seen = [stix_id("indicator", n) for n in (1, 2, 3, 4)]
    for by in ("next", "added_after"):
        pages = _pages(world, url, 2, by, **{"match[id]": every})
        assert pages == [seen[:1], seen[1:3], seen[3:]], (by, pages)  # runs as alpha sees them: 1, 2, 1
    assert [len(p) for p in _pages(world, url, 2, "next", who="beta", **{"match[id]": every})] == [2, 2, 2, 1]
