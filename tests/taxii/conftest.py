"""Fixtures for the TAXII tests: a hub with three members, a sharing group, tokens and a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_group, add_org, new_token, private_name
from pacte.policy import Role

from .world import World


@pytest.fixture
def world(hub: Hub) -> Iterator[World]:
    """The three-member hub over the current backend, with an in-process client."""
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    beta = add_org(hub.store, hub.ids, hub.clock, "Beta", "DE")
    gamma = add_org(hub.store, hub.ids, hub.clock, "Gamma", "BE")
    group = add_group(hub.store, hub.ids, hub.clock, "g1", [alpha, beta])
    w = World(hub, TestClient(create_app(hub)))
    ids = RandomIds()  # token ids take the first 16 hex digits of a UUID: SequentialIds repeats them
    w.tokens = {
        "alpha": new_token(hub.store, ids, hub.clock, alpha, Role.ANALYST, None)[1],
        "beta": new_token(hub.store, ids, hub.clock, beta, Role.ANALYST, None)[1],
        "gamma": new_token(hub.store, ids, hub.clock, gamma, Role.READER, None)[1],
        "gamma-analyst": new_token(hub.store, ids, hub.clock, gamma, Role.ANALYST, None)[1],
    }
    w.colls = {"community": hub.community.uuid, "g1": group.uuid}
    for org in (alpha, beta, gamma):
        coll = hub.store.collection_by_name(private_name(org))
        assert coll is not None
        w.colls[org.name.lower()] = coll.uuid
    yield w
    w.client.close()
