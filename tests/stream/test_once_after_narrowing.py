"""Each version once per stream and per webhook, also when a narrowing change hid the share it came through.

The log's "first share" rule is evaluated at delivery: once a group is deleted (or the reader leaves
it), the share a version was delivered through no longer grants it, so a later share of the same
version (its producer posting it again into community) is that version's first readable event
again. Found by the leak proof (bench/proof.py, SQLite, 31,590 steps): a live stream and a webhook
each delivered one stored version twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from helpers import TLP2, sdo

from .conftest import World
from .live import Collector


def _narrow(w: World, how: str) -> None:
    assert w.group is not None
    if how == "group deleted":
        w.hub.store.delete_collection(w.group.cid)
    else:
        assert w.hub.store.remove_member(w.group.cid, w.orgs["gamma"].org_id)


def _history(w: World) -> tuple[str, str, str]:
    """Share X into g1, narrow, share the same X into community; return (X, sentinel before, sentinel after)."""
    assert w.group is not None
    x = sdo("indicator", "twice", markings=[TLP2["green"]])
    before = sdo("indicator", "before", markings=[TLP2["green"]])
    after = sdo("indicator", "after", markings=[TLP2["green"]])
    assert w.hub.share_as(w.orgs["alpha"], w.group, [x]).failures == 0
    assert w.hub.share_as(w.orgs["alpha"], w.hub.community, [before]).failures == 0
    return str(x["id"]), str(before["id"]), str(after["id"])


def _finish(w: World, how: str, x: str, after: str) -> None:
    _narrow(w, how)
    again = sdo("indicator", "twice", markings=[TLP2["green"]])
    assert again["id"] == x
    assert w.hub.share_as(w.orgs["alpha"], w.hub.community, [again]).failures == 0  # the same version, shared again
    assert w.hub.share_as(w.orgs["alpha"], w.hub.community,
                          [sdo("indicator", "after", markings=[TLP2["green"]])]).failures == 0


@pytest.mark.parametrize("how", ["group deleted", "member removed"])
def test_stream_sends_a_version_once_after_narrowing(world: World, how: str) -> None:
    w = world
    live = Collector(w.url, w.tokens["gamma"]).start()
    x, before, after = _history(w)
    assert live.wait_id(before)
    assert live.ids() == [x, before]
    _finish(w, how, x, after)
    assert live.wait_id(after)
    live.stop()
    assert live.ids() == [x, before, after]
    # the version is readable through its community share: a stream from the start sends it there, once
    replay = Collector(w.url, w.tokens["gamma"], last_id="0").start()
    assert replay.wait_id(after)
    replay.stop()
    assert replay.ids().count(x) == 1
    assert [e.data["collection"]["name"] for e in replay.events if e.data.get("object", {}).get("id") == x] == [
        "community"]


class _Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                rec.bodies.append(orjson.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def ids(self) -> list[str]:
        return [b["object"]["id"] for b in list(self.bodies) if b.get("kind") == "object"]


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    rec = _Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def _wait(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.mark.parametrize("how", ["group deleted", "member removed"])
def test_webhook_delivers_a_version_once_after_narrowing(world: World, receiver: _Receiver, how: str) -> None:
    w = world
    resp = httpx.post(w.url + "/api/v1/webhooks", json={"url": receiver.url},
                      headers={"Authorization": f"Bearer {w.tokens['gamma-admin']}"})
    assert resp.status_code == 201, resp.text
    x, before, after = _history(w)
    assert _wait(lambda: before in receiver.ids())
    assert receiver.ids() == [x, before]
    _finish(w, how, x, after)
    assert _wait(lambda: after in receiver.ids())
    assert receiver.ids() == [x, before, after]
