"""The native API on every backend: an in-process app over the ``hub`` fixture, three members, one group."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from helpers import Member, SpreadIds, add_member
from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role
from pacte.store.base import Collection, ObjectQuery


@pytest.fixture
def ids() -> SpreadIds:
    """Predictable UUIDs (overrides the root fixture; see helpers.SpreadIds for why)."""
    return SpreadIds()


@dataclass
class Api:
    """The app under test and its members: Alpha and Bravo share group AB; Charlie is alone."""

    hub: Hub
    client: TestClient
    alpha: Member
    bravo: Member
    charlie: Member
    group: Collection

    def post(self, member: Member, collection: str, body: Any, role: Role = Role.ANALYST,
             **headers: str) -> httpx.Response:
        """Post a bundle (a dict/list is serialised; bytes are sent as they are)."""
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.client.post(f"/api/v1/collections/{collection}/objects", content=content,
                                headers={**member.auth(role), "Content-Type": "application/json", **headers})

    def get(self, member: Member | None, path: str, role: Role = Role.READER, **params: Any) -> httpx.Response:
        """GET an API path as a member (or anonymously)."""
        return self.client.get(f"/api/v1{path}", params=params, headers=member.auth(role) if member else {})

    def stored(self, member: Member) -> set[tuple[str, str]]:
        """Return the (id, version) pairs a member reads, straight from the store, identities excluded."""
        items = self.hub.store.query(ObjectQuery(reader=member.org.org_id, versions="all", limit=100_000)).items
        return {(i.id, i.vkey) for i in items if not i.id.startswith("identity--")}

    def everything(self) -> set[tuple[str, str]]:
        """Return every stored (id, version) pair, whoever may read it."""
        return self.stored(self.alpha) | self.stored(self.bravo) | self.stored(self.charlie)


@pytest.fixture
def api(hub: Hub) -> Iterator[Api]:
    alpha = add_member(hub, "Alpha", "FR")
    bravo = add_member(hub, "Bravo", "DE")
    charlie = add_member(hub, "Charlie", "BE")
    group = m.add_group(hub.store, hub.ids, hub.clock, "AB", [alpha.org, bravo.org])
    with TestClient(create_app(hub)) as client:
        yield Api(hub, client, alpha, bravo, charlie, group)


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the one JSON error shape and return its ``error`` member."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    for d in error["details"]:
        assert set(d) <= {"reason", "field", "id"} and isinstance(d["reason"], str)
    if code is not None:
        assert error["code"] == code
    return dict(error)
