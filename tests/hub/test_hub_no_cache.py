"""Membership changes, collection deletions and token revocations apply to the very next request."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from helpers import TLP2, Member, add_member, bundle, sdo
from pacte.api.app import create_app
from pacte.config import Settings
from pacte.errors import NotFound, Unauthenticated
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.clock import FrozenClock, SequentialIds
from pacte.policy import Role
from pacte.store.base import Store

OBJ = sdo("threat-actor", "group-secret", 1, markings=[TLP2["amber"]])


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub)) as c:
        yield c


def test_membership_changes_apply_to_the_next_request(hub: Hub, client: TestClient) -> None:
    alpha, bravo, charlie = (add_member(hub, n) for n in ("Alpha", "Bravo", "Charlie"))
    group = m.add_group(hub.store, hub.ids, hub.clock, "AB", [alpha.org, bravo.org])
    assert client.post("/api/v1/collections/AB/objects", content=orjson.dumps(bundle(OBJ)),
                       headers=alpha.auth()).status_code == 200
    url = f"/api/v1/objects/{OBJ['id']}"

    def status(member: Member) -> int:
        return client.get(url, headers=member.auth(Role.READER)).status_code

    def listed(member: Member) -> int:
        body = client.get("/api/v1/objects", params={"type": "threat-actor"}, headers=member.auth()).json()
        return len(body["objects"])

    assert (status(bravo), status(charlie), listed(charlie)) == (200, 404, 0)
    hub.store.add_member(group.cid, charlie.org.org_id)
    assert (status(charlie), listed(charlie)) == (200, 1)
    assert "AB" in [c["name"] for c in client.get("/api/v1/collections", headers=charlie.auth()).json()["collections"]]
    hub.store.remove_member(group.cid, charlie.org.org_id)
    hub.store.remove_member(group.cid, bravo.org.org_id)
    assert (status(bravo), status(charlie), listed(bravo), listed(charlie)) == (404, 404, 0, 0)
    assert client.get("/api/v1/groups", headers=bravo.auth()).json() == {"groups": []}
    # the producer keeps reading what it shared, even once the group is deleted
    hub.store.add_member(group.cid, bravo.org.org_id)
    assert status(bravo) == 200
    hub.store.delete_collection(group.cid)
    assert (status(alpha), status(bravo)) == (200, 404)
    with pytest.raises(NotFound):
        hub.get_object(bravo.org, OBJ["id"])


def test_token_revocation_applies_to_the_next_request(hub: Hub, client: TestClient) -> None:
    alpha = add_member(hub, "Alpha")
    headers = alpha.auth(Role.ANALYST)
    assert client.get("/api/v1/whoami", headers=headers).status_code == 200
    assert hub.store.revoke_token(alpha.token_ids[Role.ANALYST], "2026-01-15T10:00:00.000Z")  # operator (CLI) path
    assert client.get("/api/v1/whoami", headers=headers).status_code == 401
    resp = client.post("/api/v1/collections/community/objects", content=orjson.dumps(bundle(OBJ)), headers=headers)
    assert resp.status_code == 401
    with pytest.raises(Unauthenticated):
        hub.authenticate(alpha.secrets[Role.ANALYST])
    assert hub.authenticate(alpha.secrets[Role.READER]).org == alpha.org
    # through the API, by an admin of the member: the very next request fails too
    admin = alpha.auth(Role.ADMIN)
    reader = alpha.auth(Role.READER)
    assert client.delete(f"/api/v1/tokens/{alpha.token_ids[Role.READER]}", headers=admin).status_code == 200
    assert client.get("/api/v1/objects", headers=reader).status_code == 401


def test_default_marking_change_applies_at_read_time(hub: Hub) -> None:
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    unmarked = sdo("threat-actor", "unmarked", 1)
    assert hub.share_as(alpha.org, hub.community, [unmarked]).successes == 1
    assert hub.get_object(bravo.org, unmarked["id"])
    hub.store.set_default_tlp(hub.community.cid, 4)  # TLP:RED default: community may not carry it
    with pytest.raises(NotFound):
        hub.get_object(bravo.org, unmarked["id"])
    assert hub.get_object(alpha.org, unmarked["id"])
    hub.store.set_default_tlp(hub.community.cid, 1)
    assert hub.get_object(bravo.org, unmarked["id"])


def test_two_tokens_under_the_frozen_ids_fixture(store: Store, clock: FrozenClock) -> None:
    hub = Hub(store, Settings(), clock=clock, ids=SequentialIds())
    org = m.add_org(hub.store, hub.ids, hub.clock, "Alpha", None)
    first, _ = m.new_token(hub.store, hub.ids, hub.clock, org, Role.READER, None)
    second, _ = m.new_token(hub.store, hub.ids, hub.clock, org, Role.READER, None)
    assert first.token_id != second.token_id
