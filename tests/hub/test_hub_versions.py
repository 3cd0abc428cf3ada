"""Every version is kept, and the JSON a member sent comes back semantically unchanged (Hub and API)."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from helpers import MITRE_IDENTITY, add_member, as_served, bundle, sdo
from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.store.base import ObjectQuery

RICH: dict[str, Any] = {
    "type": "threat-actor", "spec_version": "2.1", "id": "threat-actor--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2024-02-29T23:59:59.123456Z", "modified": "2024-03-01T00:00:00.1000Z",
    "name": "Équipe «Ours» 熊 🐻 مجموعة", "description": "quote \" backslash \\ tab \t newline \n nul \u0000 end",
    "aliases": ["", "x" * 300, "ünïcödé"], "labels": ["nation-state"], "confidence": 0,
    "threat_actor_types": ["nation-state"], "revoked": False,
    "external_references": [{"source_name": "vendor", "url": "https://example.org/a?b=c&d=é#f",
                              "external_id": "TA-0001"}],
    "x_numbers": {"int": 9007199254740993, "neg": -9223372036854775808, "u64": 18446744073709551615, "zero": 0,
                  "float": 0.1, "tiny": 1e-300, "huge": 1.5e300, "neg_float": -2.5, "whole_float": 3.0},
    "x_nested": {"list": [[], {}, [1, [2, [3, {"deep": None}]]], True, False, None], "empty": {}},
    "lang": "fr",
}


def test_every_version_is_kept_in_any_arrival_order(hub: Hub) -> None:
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    v = [sdo("malware", "emotet", n, description=f"rev {n}") for n in (1, 2, 3, 4)]
    for obj in (v[2], v[0], v[3], v[1]):
        assert hub.share_as(alpha.org, hub.community, [obj]).successes == 1
    every = hub.get_object(bravo.org, v[0]["id"], "all")
    assert sorted((orjson.loads(i.doc) for i in every), key=lambda o: o["modified"]) == [as_served(o) for o in v]
    assert orjson.loads(hub.get_object(bravo.org, v[0]["id"], "last")[0].doc) == as_served(v[3])
    assert orjson.loads(hub.get_object(bravo.org, v[0]["id"], "first")[0].doc) == as_served(v[0])
    assert [orjson.loads(i.doc) for i in hub.export(bravo.org, types=["malware"])] == [as_served(v[3])]
    assert hub.store.count(ObjectQuery(reader=bravo.org.org_id, types=["malware"], versions="all")) == 4
    # re-sending a version is idempotent; different content under the same modified is refused
    assert hub.share_as(alpha.org, hub.community, [copy.deepcopy(v[1])]).successes == 1
    (out,) = hub.share_as(alpha.org, hub.community, [{**v[1], "description": "rewritten"}]).outcomes
    assert (out.ok, out.code, out.field) == (False, "policy_refused", "modified")
    assert len(hub.get_object(bravo.org, v[0]["id"], "all")) == 4
    # revoked versions are versions too
    revoked = {**v[3], "modified": "2025-06-01T00:00:00.000Z", "revoked": True}
    assert hub.share_as(alpha.org, hub.community, [revoked]).successes == 1
    assert orjson.loads(hub.get_object(bravo.org, v[0]["id"])[0].doc) == as_served(revoked)
    assert len(hub.get_object(bravo.org, v[0]["id"], "all")) == 5


@pytest.mark.parametrize("obj", [RICH, sdo("attack-pattern", "relayed", 5, created_by=MITRE_IDENTITY,
                                          kill_chain_phases=[{"kill_chain_name": "mitre-attack",
                                                              "phase_name": "initial-access"}]),
                                 {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                                  "value": "198.51.100.3"}],
                         ids=["rich", "relayed", "sco-without-spec-version"])
def test_json_comes_back_semantically_unchanged(hub: Hub, obj: dict[str, Any]) -> None:
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    with TestClient(create_app(hub)) as client:
        posted = client.post("/api/v1/collections/community/objects", content=orjson.dumps(bundle(obj)),
                             headers={**alpha.auth(), "Content-Type": "application/json"})
        assert posted.status_code == 200, posted.text
        got = client.get(f"/api/v1/objects/{obj['id']}", headers=bravo.auth()).json()["objects"]
        assert got == [as_served(obj)]
        listed = client.get("/api/v1/objects", params={"type": obj["type"]}, headers=bravo.auth()).json()
        assert listed["objects"] == [as_served(obj)]
    assert [orjson.loads(i.doc) for i in hub.export(bravo.org, types=[obj["type"]])] == [as_served(obj)]
    # sent again as the same bytes: the same version, nothing new
    assert hub.share_as(alpha.org, hub.community, [copy.deepcopy(obj)]).successes == 1
    assert len(hub.get_object(bravo.org, obj["id"], "all")) == 1



def test_same_object_with_keys_reordered_is_the_same_version(hub: Hub) -> None:
    alpha = add_member(hub, "Alpha")
    obj = sdo("malware", "ordered", 1, description="same content")
    assert hub.share_as(alpha.org, hub.community, [obj]).successes == 1
    reordered = dict(reversed(list(obj.items())))
    assert reordered == obj
    assert hub.share_as(alpha.org, hub.community, [reordered]).successes == 1


def test_relayed_object_with_keys_reordered_is_stored_once(hub: Hub) -> None:
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    obj = sdo("attack-pattern", "relayed-twice", 1, created_by=MITRE_IDENTITY)
    assert hub.share_as(alpha.org, hub.community, [obj]).successes == 1
    assert hub.share_as(bravo.org, hub.community, [dict(reversed(list(obj.items())))]).successes == 1
    assert len(hub.get_object(alpha.org, obj["id"], "last")) == 1


def test_integer_beyond_64_bits_is_kept_exactly_or_refused(hub: Hub) -> None:
    alpha = add_member(hub, "Alpha")
    obj = sdo("threat-actor", "big-number", 1, x_serial=2**70 + 1)
    with TestClient(create_app(hub)) as client:
        posted = client.post("/api/v1/collections/community/objects", content=json.dumps(bundle(obj)).encode(),
                             headers={**alpha.auth(), "Content-Type": "application/json"})
        if posted.status_code == 400:
            assert posted.json()["error"]["details"][0]["field"] == "x_serial"
            return
        got = json.loads(client.get(f"/api/v1/objects/{obj['id']}", headers=alpha.auth()).text)["objects"]
        assert got == [obj]
