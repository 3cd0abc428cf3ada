"""Known issues the leak machine found in sighting counts and scores (issue 11): each a small history, both backends.

Neither reveals anything the reader may not read; they make one reader's score of one indicator differ
between read paths (or between hubs of one process). Each is ``xfail(strict=True)``: it fails today, and
the marker must go when the fix lands.
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


def _post(client: AppClient, token: str, objects: list[dict[str, Any]]) -> None:
    r = client.post("/api/v1/collections/community/objects", headers={"Authorization": f"Bearer {token}"},
                    content=orjson.dumps({"type": "bundle", "id": "bundle--5d0c3d3c-7c1b-4b7e-9a43-0e6f1d2a9b11",
                                          "objects": objects}))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.xfail(strict=True, reason="counts.tallies keeps the latest version of a sighting line over every id it"
                   " tallies at once: a sighting whose later version sights another indicator counts for the first"
                   " when it is read alone, not when both are on one page")
def test_retargeted_sighting_scores_alike_on_every_path(backend: str) -> None:
    """A sighting line whose second version sights B instead of A: A's score by id equals A's score in a listing."""
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


@pytest.mark.xfail(strict=True, reason="counts._FACTS keys a version's score facts by (id, version, producer number)"
                   " for the whole process: a second hub's version with the same key is scored with the first's")
def test_two_hubs_in_one_process_score_their_own_content() -> None:
    """Two hubs, one indicator id/version/producer number, confidence 0 and 100: their scores differ."""
    from pacte.correlate import counts

    counts._FACTS.clear()
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
