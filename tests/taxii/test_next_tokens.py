"""TAXII ``next`` is opaque: sealed per reader, fresh each time, refused (TAXII error body) for anyone else."""

from __future__ import annotations

import re

from pacte.hub.positions import Surface
from pacte.store.base import Org

from .test_no_leak import _setup
from .world import ROOT, World, indicator


def _org(world: World, name: str) -> Org:
    org = world.hub.store.org_by_name(name)
    assert org is not None
    return org


def _next(world: World, who: str, url: str) -> str:
    body = world.get(who, url, limit="2", **{"match[type]": "indicator"}).json()
    assert body["more"] is True
    return str(body["next"])


def test_next_is_fresh_and_per_reader(world: World) -> None:
    _setup(world)
    url = world.objects_url("community")
    b1, b2, g1 = _next(world, "beta", url), _next(world, "beta", url), _next(world, "gamma", url)
    assert len({b1, b2, g1}) == 3 and not any(t.isdigit() for t in (b1, b2, g1))
    beta, gamma = _org(world, "Beta"), _org(world, "Gamma")
    assert (world.hub.positions_of(Surface.TAXII, beta).open(b1) == world.hub.positions_of(Surface.TAXII, beta).open(b2)
            == world.hub.positions_of(Surface.TAXII, gamma).open(g1) is not None)


def test_next_of_another_reader_surface_or_altered_is_400(world: World) -> None:
    _setup(world)
    url = world.objects_url("community")
    betas = _next(world, "beta", url)
    native = world.hub.positions_of(Surface.OBJECTS, _org(world, "Gamma")).seal(1)
    altered = betas[:5] + ("A" if betas[5] != "A" else "B") + betas[6:]
    for value in (betas, native, altered, "3"):
        for path in (url, f"{ROOT}/collections/{world.colls['community']}/manifest/"):
            r = world.get("gamma", path, next=value)
            assert r.status_code == 400 and r.json()["http_status"] == "400", value
            assert not re.search(r"\d", r.json()["title"] + str(r.json().get("description", "")))
    assert world.get("beta", url, next=betas).status_code == 200


def test_paging_is_exact_while_hidden_objects_arrive(world: World) -> None:
    visible, _ = _setup(world)
    url = world.objects_url("community")
    params = {"limit": "2", "match[type]": "indicator"}
    got: list[str] = []
    n = 0
    while True:
        page = world.get("gamma", url, **params).json()
        got += [o["id"] for o in page["objects"]]
        if not page["more"]:
            break
        params["next"] = page["next"]
        n += 1
        world.post("alpha", "g1", [indicator(500 + n)])  # not Gamma's to read
    assert got == visible  # no loss, no duplicate
