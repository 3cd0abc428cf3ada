"""The OASIS STIX 2.1 example bundles, shared through the API: accepted, readable by the audience, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from helpers import Member, add_member, as_served, bundle, without_score
from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.hub import members as m

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "stix21-examples"
BUNDLES = ["apt1.json", "indicator-for-c2-ip-address.json", "indicator-to-campaign-relationship.json",
           "indicators-for-C2-with-COA.json",
           "infrastructure.json",
           "malicious-email-indicator-with-attachment.json", "poisonivy.json"]


def load(name: str) -> Any:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return orjson.loads(path.read_bytes())


@pytest.fixture
def world(hub: Hub) -> Iterator[tuple[TestClient, Member, Member, Member]]:
    alpha, bravo, charlie = (add_member(hub, n) for n in ("Alpha", "Bravo", "Charlie"))
    m.add_group(hub.store, hub.ids, hub.clock, "AB", [alpha.org, bravo.org])
    with TestClient(create_app(hub)) as client:
        yield client, alpha, bravo, charlie


def post(client: TestClient, member: Member, collection: str, doc: Any) -> Any:
    return client.post(f"/api/v1/collections/{collection}/objects", content=orjson.dumps(doc),
                       headers={**member.auth(), "Content-Type": "application/json"})


@pytest.mark.parametrize("name", BUNDLES)
def test_example_bundle_shared_into_a_group(world: tuple[TestClient, Member, Member, Member], name: str) -> None:
    client, alpha, bravo, charlie = world
    doc = load(name)
    resp = post(client, alpha, "AB", doc)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["success_count"] == len(doc["objects"])
    for obj in doc["objects"]:
        got = client.get(f"/api/v1/objects/{obj['id']}", headers=bravo.auth(), params={"versions": "all"})
        assert got.status_code == 200
        assert as_served(obj) in [without_score(o) for o in got.json()["objects"]]
        assert client.get(f"/api/v1/objects/{obj['id']}", headers=charlie.auth()).status_code == 404


def test_tlp1_red_with_an_unknown_marking(world: tuple[TestClient, Member, Member, Member]) -> None:
    client, alpha, bravo, _ = world
    obj = load("interop-objectmarking-test.json")
    not_a_bundle = post(client, alpha, "AB", obj)
    assert not_a_bundle.status_code == 400 and not_a_bundle.json()["error"]["details"][0]["field"] == "type"
    refused = post(client, alpha, "community", bundle(obj))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "policy_refused"
    assert post(client, alpha, "AB", bundle(obj)).status_code == 200
    # an unresolvable marking reference: the producer alone reads it, even inside its group
    assert client.get(f"/api/v1/objects/{obj['id']}", headers=alpha.auth()).json()["objects"] == [as_served(obj)]
    assert client.get(f"/api/v1/objects/{obj['id']}", headers=bravo.auth()).status_code == 404
