"""Fixtures for the stream tests: a hub with three members and a group, served on a real port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI

from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_group, add_org, new_token
from pacte.hub.positions import Surface
from pacte.policy import Role
from pacte.store.base import Collection, Org
from pacte.stream.settings import StreamSettings

from .live import LiveServer

FAST = StreamSettings(heartbeat_seconds=0.5, poll_seconds=0.2, webhook_backoff_seconds=0.05,
                      webhook_timeout_seconds=1.0, webhook_reload_seconds=0.2, webhook_allow_private=True,
                      send_timeout_seconds=2.0, queue_chunks=64)


@dataclass
class World:
    """Alpha, Beta (reader tokens + admin) and Gamma; group g1 = {Alpha, Gamma}; a live server."""

    hub: Hub
    server: LiveServer
    app: FastAPI
    orgs: dict[str, Org] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "<org>" reader, "<org>-admin" admin
    token_ids: dict[str, str] = field(default_factory=dict)
    group: Collection | None = None

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return self.server.url

    def seal(self, org: str, position: int) -> str:
        """Return a stream event id of ``position`` for a member (what its stream would give it)."""
        return self.hub.positions.seal(Surface.STREAM, self.orgs[org].org_id, position)

    def position(self, org: str, event_id: str | None) -> int:
        """Return the position a member's stream event id seals (asserting it is one)."""
        assert event_id is not None
        found = self.hub.positions.open(Surface.STREAM, self.orgs[org].org_id, event_id)
        assert found is not None, event_id
        return found


@pytest.fixture
def world(hub: Hub) -> Iterator[World]:
    """Three members, a sharing group, tokens, and the hub served on 127.0.0.1."""
    app = create_app(hub)
    app.state.stream_settings = FAST
    with LiveServer(app) as server:
        w = World(hub, server, app)
        ids = RandomIds()
        for name, country in (("Alpha", "FR"), ("Beta", "DE"), ("Gamma", "BE")):
            org = add_org(hub.store, hub.ids, hub.clock, name, country)
            w.orgs[name.lower()] = org
            for suffix, role in (("", Role.READER), ("-admin", Role.ADMIN)):
                token, secret = new_token(hub.store, ids, hub.clock, org, role, None)
                w.tokens[name.lower() + suffix] = secret
                w.token_ids[name.lower() + suffix] = token.token_id
        w.group = add_group(hub.store, hub.ids, hub.clock, "g1", [w.orgs["alpha"], w.orgs["gamma"]])
        yield w
