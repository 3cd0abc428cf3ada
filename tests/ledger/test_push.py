"""Objects handed to a live stream's socket count as consumed on the ``stream`` channel."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from helpers import Member, add_member, bundle, sdo
from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.policy import Role
from pacte.stream.settings import StreamSettings
from stream.live import Collector, LiveServer


@pytest.fixture
def served(hub: Hub) -> Iterator[tuple[Hub, str, Member, Member]]:
    """A live server over the hub, with a reader (Alpha) and a producer (Bravo)."""
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    app = create_app(hub)
    app.state.stream_settings = StreamSettings(heartbeat_seconds=0.5, poll_seconds=0.05)
    with LiveServer(app) as server:
        yield hub, server.url, alpha, bravo


def test_stream_deliveries_are_counted_per_producer(served: tuple[Hub, str, Member, Member]) -> None:
    hub, url, alpha, bravo = served
    stream = Collector(url, alpha.secrets[Role.READER], params={"type": "attack-pattern"}).start()
    objects = [sdo("attack-pattern", f"live-{i}") for i in range(3)]
    resp = httpx.post(f"{url}/api/v1/collections/community/objects", content=orjson.dumps(bundle(*objects)),
                      headers={**bravo.auth(Role.ANALYST), "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert stream.wait_for(lambda c: len(c.ids()) == 3)
    stream.stop()
    hub.ledger.flush(hub.store)
    reads = hub.store.ledger_reads(alpha.org.org_id, "2026-01-01", "2026-01-31")
    assert [(r.reader, r.channel, r.producer, r.n) for r in reads] == [
        (alpha.org.org_id, "stream", bravo.org.org_id, 3)]
