"""Issues the leak machine found in sighting counts and scores (issue 11), each a small history.

The first two (fixed in 8d883f1) revealed nothing the reader may not read: they made one reader's score of
one indicator differ between read paths (or between hubs of one process); and a withdrawn anonymous sighting
no longer counts for the sighted object's producer (a leak this file found, fixed in eaef345).
"""

from __future__ import annotations

import shutil
from typing import Any

import orjson
import pytest

from pacte.api.app import create_app
from pacte.hub import members as hm
from pacte.policy import Role

from .leakmodel import EXTENSION
from .leakpaths import AppClient
from .test_leak_machine import PATTERNS, _sid, _ts, make_hub

IND_A, IND_B = _sid("indicator", "score paths A"), _sid("indicator", "score paths B")


def _indicator(oid: str, confidence: int | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "indicator", "spec_version": "2.1", "id": oid, "created": _ts(0),
                           "modified": _ts(0), "pattern": PATTERNS["IP watch"], "pattern_type": "stix",
                           "valid_from": _ts(0)}
    if confidence is not None:
        obj["confidence"] = confidence
    return obj


def _sighting(version: int, target: str, kind: str) -> dict[str, Any]:
    return {"type": "sighting", "spec_version": "2.1", "id": _sid("sighting", "score paths"), "created": _ts(0),
            "modified": _ts(version), "sighting_of_ref": target, "count": 1,
            "extensions": {EXTENSION: {"extension_type": "property-extension", "sighting_kind": kind}}}


def _score(obj: dict[str, Any]) -> int:
    return int(obj["extensions"][EXTENSION]["score"])


def _post(client: AppClient, token: str, objects: list[dict[str, Any]], coll: str = "community") -> None:
    r = client.post(f"/api/v1/collections/{coll}/objects", headers={"Authorization": f"Bearer {token}"},
                    content=orjson.dumps({"type": "bundle", "id": "bundle--5d0c3d3c-7c1b-4b7e-9a43-0e6f1d2a9b11",
                                          "objects": objects}))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_retargeted_sighting_scores_alike_on_every_path(backend: str) -> None:
    """A sighting line whose second version sights B instead of A: A's score by id equals A's score in a listing
    (the line counts by its latest version, for B only: it used to count for A too when A was read alone)."""
    if backend == "postgres":
        from conftest import pg_url_or_skip

        pg_url_or_skip()
    hub, store, tmp = make_hub(backend)
    client = AppClient(create_app(hub))
    try:
        orgs = [hm.add_org(store, hub.ids, hub.clock, f"P{n}", None, None) for n in range(3)]
        tokens = [hm.new_token(store, hub.ids, hub.clock, o, Role.ADMIN, "t")[1] for o in orgs]
        _post(client, tokens[0], [_indicator(IND_A), _indicator(IND_B)])
        _post(client, tokens[1], [_sighting(1, IND_A, "false-positive")])
        _post(client, tokens[1], [_sighting(2, IND_B, "seen")])
        auth = {"Authorization": f"Bearer {tokens[2]}"}
        alone = _score(orjson.loads(client.get(f"/api/v1/objects/{IND_A}", headers=auth).content)["objects"][0])
        listing = orjson.loads(client.get("/api/v1/objects", params={"type": "indicator"}, headers=auth).content)
        in_page = next(_score(o) for o in listing["objects"] if o["id"] == IND_A)
        assert alone == in_page, (alone, in_page)
    finally:
        client.close()
        from conftest import drop_store

        drop_store(store)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def test_two_hubs_in_one_process_score_their_own_content() -> None:
    """Two hubs, one indicator id/version/producer number, confidence 0 and 100: their scores differ (the score
    facts were cached per process, keyed by id, version and producer number)."""
    scores = []
    for confidence in (0, 100):
        hub, store, tmp = make_hub("sqlite")
        try:
            org = hm.add_org(store, hub.ids, hub.clock, "P0", None, None)
            hub.share_as(org, hub.community, [_indicator(IND_A, confidence)])
            scores.append(_score(orjson.loads(next(iter(hub.export(org, types=["indicator"]))).doc)))
        finally:
            store.close()
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
    assert scores[0] < scores[1], scores


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_withdrawn_anonymous_sighting_counts_no_more(backend: str) -> None:
    """P1 sights P0's indicator anonymously, then withdraws it (TAXII DELETE): P0's counts forget it."""
    if backend == "postgres":
        from conftest import pg_url_or_skip

        pg_url_or_skip()
    hub, store, tmp = make_hub(backend)
    client = AppClient(create_app(hub))
    try:
        orgs = [hm.add_org(store, hub.ids, hub.clock, f"P{n}", None, None) for n in range(2)]
        tokens = [hm.new_token(store, hub.ids, hub.clock, o, Role.ADMIN, "t")[1] for o in orgs]
        _post(client, tokens[0], [_indicator(IND_A)])
        sighting = _sighting(1, IND_A, "seen")
        sighting["extensions"][EXTENSION]["anonymous"] = True
        _post(client, tokens[1], [sighting], "private:P1")
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        before = orjson.loads(client.get(f"/api/v1/objects/{IND_A}/sightings", headers=auth).content)
        assert before["anonymous"] == {"seen": 1, "false_positive": 0}, before
        private = store.collection_by_name("private:P1")
        assert private is not None
        r = client.delete(f"/taxii2/pacte/collections/{private.uuid}/objects/{sighting['id']}/",
                          headers={"Authorization": f"Bearer {tokens[1]}", "Accept": "application/taxii+json;version=2.1"})
        assert r.status_code == 200, r.text
        after = orjson.loads(client.get(f"/api/v1/objects/{IND_A}/sightings", headers=auth).content)
        assert "anonymous" not in after, after
    finally:
        client.close()
        from conftest import drop_store

        drop_store(store)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
