"""Each version once per stream and per webhook, also when a narrowing change hid the share it came through.

The log's "first share" rule is evaluated at delivery: once a group is deleted (or the reader leaves
it), the share a version was delivered through no longer grants it, so a later share of the same
version (its producer posting it again into community) is that version's first readable event
again. Found by the leak proof (bench/proof.py, SQLite, 31,590 steps): a live stream and a webhook
each delivered one stored version twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest

from helpers import TLP2, sdo
from hookreceiver import HookReceiver
from pacte.hub import Hub
from pacte.store.base import VersionRow
from pacte.store.events import EventQuery, repeats
from pacte.stream.broker import Broker, _Page, _Round
from pacte.stream.filters import Filters

from .conftest import FAST, World
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


class _Hook(HookReceiver):
    """A receiver of one webhook at ``/hook``: the object ids it was sent, in order."""

    def ids(self) -> list[str]:
        bodies = [orjson.loads(b) for b in self.on("/hook")]
        return [b["object"]["id"] for b in bodies if b.get("kind") == "object"]


@pytest.fixture
def receiver() -> Iterator[_Hook]:
    rec = _Hook().start()
    yield rec
    rec.stop()


def _wait(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.mark.parametrize("how", ["group deleted", "member removed"])
def test_webhook_delivers_a_version_once_after_narrowing(world: World, receiver: _Hook, how: str) -> None:
    w = world
    resp = httpx.post(w.url + "/api/v1/webhooks", json={"url": receiver.url + "/hook"},
                      headers={"Authorization": f"Bearer {w.tokens['gamma-admin']}"})
    assert resp.status_code == 201, resp.text
    x, before, after = _history(w)
    assert _wait(lambda: before in receiver.ids())
    assert receiver.ids() == [x, before]
    _finish(w, how, x, after)
    assert _wait(lambda: after in receiver.ids())
    assert receiver.ids() == [x, before, after]


def _again(w: World, after: int) -> list[tuple[str, bool]]:
    rows = w.hub.store.stream_events(EventQuery(w.orgs["gamma"].org_id, after, w.hub.store.event_head()))
    return [(str(r.object_id), r.again) for r in rows if r.kind == "object"]


def test_the_log_flags_the_events_that_may_repeat_a_version(world: World) -> None:
    """Only the first share of a version is unflagged: the stream checks the others against what it sent."""
    w = world
    assert w.group is not None
    start = w.hub.store.event_head()
    x, before, _ = _history(w)
    assert _again(w, start) == [(x, False), (before, False)]
    mark = w.hub.store.event_head()
    _finish(w, "member removed", x, "")
    assert [(i, a) for i, a in _again(w, mark) if i == x] == [(x, True)]  # the version existed: may repeat one
    # one transaction that inserts a version and shares it twice: the second share may repeat the first
    alpha = w.orgs["alpha"]
    key = "2026-01-02T00:00:00.000000000Z"
    row = VersionRow(id="indicator--00000000-0000-4000-8000-0000000000aa", type="indicator", vkey=key,
                     modified=key, created=key, producer=alpha.org_id, created_by_ref=None, relayed=False,
                     tlp=None, revoked=False, sha="0", doc='{"type":"indicator"}')
    mark = w.hub.store.event_head()
    with w.hub.store.write() as tx:
        vid = tx.insert_versions([row], key)[0]
        tx.insert_shares([(vid, w.group.cid, alpha.org_id, "indicator")], key)
        tx.insert_shares([(vid, w.hub.community.cid, alpha.org_id, "indicator")], key)
    flags = w.hub.store._all("SELECT again FROM events WHERE eid > ? ORDER BY eid", (mark,))  # type: ignore[attr-defined]
    assert [bool(r[0]) for r in flags] == [False, True]


def test_flags_of_new_shares() -> None:
    """``repeats``: a version inserted earlier, or already shared (in this or an earlier call), may repeat."""
    present = {(1, 10), (5, 10), (5, 11), (6, 10), (6, 12)}  # (6, 10) was there before this call
    assert repeats([(1, 10), (5, 10), (5, 11), (6, 12)], present, 5) == [True, False, True, True]


def _page(broker: Broker, events: list[tuple[int, int | None, bool]], cursor: int) -> _Page:
    evs = [(eid, vid, b"e%d;" % eid) for eid, vid, _ in events]
    vids = frozenset(v for _, v, _ in events if v is not None)
    again = frozenset(v for _, v, a in events if v is not None and a)
    page = _Page(b"".join(e[2] for e in evs), cursor, len(evs), evs[-1][0], evs, vids, again)
    broker._index(_Round(cursor, 0, {(1, Filters(), cursor): page}))
    return page


def test_a_stream_checks_flagged_events_against_every_version_it_was_handed(hub: Hub) -> None:
    """Handed and queued versions are all remembered; a rewind forgets the queued ones; the index forgets
    only what no open stream holds."""
    broker = Broker(hub, FAST)
    sub = broker.subscribe(1, "t", Filters(), 0)
    for vid in range(1, 41):  # 40 chunks handed to the connection (eid = vid)
        broker._push(sub, _page(broker, [(vid, vid, False)], vid), vid - 1, 0)
        sub.sent, sub.pending = vid, []
        sub.sent_pages += sub.queued_pages
        sub.queued_pages.clear()
    broker._push(sub, _page(broker, [(41, 41, False)], 41), 40, 0)  # queued, not handed yet
    late = broker.subscribe(1, "t", Filters(), 40)  # opened now: holds none of the pages above
    page = _page(broker, [(42, 3, True), (43, 41, True), (44, 99, True), (45, None, False), (46, 7, False)], 46)
    broker._push(sub, page, 41, 0)
    assert sub.pending[-1][0] == b"e44;e45;e46;"  # 3 was handed, 41 is queued; 7 unflagged is not checked
    broker._push(late, page, 40, 0)
    assert late.pending[-1][0] == page.chunk
    broker._forget_pages()
    assert 3 in broker._pages_of  # the first stream still holds it
    sub.rewind()
    assert sub.cursor == 40
    broker._push(sub, _page(broker, [(41, 41, True), (42, 3, True)], 42), 40, 0)
    assert sub.pending[-1][0] == b"e41;"
    broker.unsubscribe(sub)
    broker._forget_pages()
    assert broker._pages_of == {3: [42, 43], 7: [42], 41: [42, 43], 99: [42]}  # pages from the late one's start
