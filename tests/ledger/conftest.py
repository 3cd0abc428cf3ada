"""The ledger on every backend: an in-process app over a fresh hub with five members and two groups."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from helpers import Member, SpreadIds, add_member, bundle
from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role

NAMES = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")


@pytest.fixture
def ids() -> SpreadIds:
    """Predictable UUIDs (overrides the root fixture)."""
    return SpreadIds()


@dataclass
class World:
    """Alpha (the viewer), Bravo, Charlie, Delta and Echo; groups AB (Alpha, Bravo) and CDE (the others)."""

    hub: Hub
    client: TestClient
    members: dict[str, Member]

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    def share(self, who: str, collection: str, *objects: dict[str, Any]) -> None:
        """Share objects as a member (analyst token); every object must be stored."""
        resp = self.client.post(f"/api/v1/collections/{collection}/objects", content=orjson.dumps(bundle(*objects)),
                                headers={**self[who].auth(Role.ANALYST), "Content-Type": "application/json"})
        assert resp.status_code == 200, resp.text

    def get(self, who: str, path: str, role: Role = Role.READER, **params: Any) -> httpx.Response:
        """GET a native API path as a member."""
        resp: httpx.Response = self.client.get(f"/api/v1{path}", params=params, headers=self[who].auth(role))
        assert resp.status_code == 200, resp.text
        return resp

    def taxii(self, who: str, collection: str, **params: Any) -> httpx.Response:
        """GET the objects of a TAXII collection as a member."""
        coll = self.hub.store.collection_by_name(collection)
        assert coll is not None
        resp: httpx.Response = self.client.get(f"/taxii2/pacte/collections/{coll.uuid}/objects/", params=params,
                               headers={**self[who].auth(Role.READER), "Accept": "application/taxii+json;version=2.1"})
        assert resp.status_code == 200, resp.text
        return resp

    def opt_in(self, who: str, value: bool = True) -> None:
        """Set a member's opt-in (admin token)."""
        resp = self.client.put("/api/v1/ledger/opt-in", json={"opt_in": value}, headers=self[who].auth(Role.ADMIN))
        assert resp.status_code == 200, resp.text

    def ledger(self, who: str = "Alpha", **params: Any) -> dict[str, Any]:
        """Flush the recorded reads, then return a member's ledger as the API gives it."""
        self.hub.ledger.flush(self.hub.store)
        data: dict[str, Any] = self.get(who, "/ledger", **params).json()
        return data

    def own(self, who: str = "Alpha", **params: Any) -> dict[str, Any]:
        """Return the member's own figures of the single period of its ledger."""
        periods = self.ledger(who, **params)["member"]["periods"]
        assert len(periods) == 1
        return dict(periods[0])

    def community(self, who: str = "Alpha", **params: Any) -> dict[str, Any]:
        """Return the community figures of the single period of a member's ledger."""
        periods = self.ledger(who, **params)["community"]["periods"]
        assert len(periods) == 1
        return dict(periods[0])


def build(hub: Hub) -> Generator[World, None, None]:
    """Yield the world over a hub (the app served in process, lifespan on)."""
    members = {name: add_member(hub, name, "FR") for name in NAMES}
    m.add_group(hub.store, hub.ids, hub.clock, "AB", [members["Alpha"].org, members["Bravo"].org])
    m.add_group(hub.store, hub.ids, hub.clock, "CDE", [members[n].org for n in ("Charlie", "Delta", "Echo")])
    with TestClient(create_app(hub)) as client:
        yield World(hub, client, members)


@pytest.fixture
def world(hub: Hub) -> Iterator[World]:
    """The five members over the ``hub`` fixture (each backend)."""
    yield from build(hub)
