"""The live stream over real sockets: policy (with dependencies), filters, resume, revocation."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from helpers import TLP2, sdo
from pacte.stix.markings import Tlp
from pacte.stix.timestamps import format_key
from pacte.store.base import Collection

from .conftest import World
from .live import Collector


def _share(w: World, org: str, coll: Collection, *objs: dict[str, Any]) -> None:
    report = w.hub.share_as(w.orgs[org], coll, list(objs))
    assert report.failures == 0, [o.reason for o in report.outcomes if not o.ok]


def _sentinel(w: World, name: str) -> str:
    """Share a GREEN indicator into community and return its id: every stream sees it after earlier events."""
    obj = sdo("indicator", name, markings=[TLP2["green"]])
    _share(w, "alpha", w.hub.community, obj)
    return str(obj["id"])


def _digits(body: bytes) -> bool:
    """Return True if an error's texts (message, details) hold a digit."""
    error = orjson.loads(body)["error"]
    texts = [error["message"], *(str(d) for d in error["details"])]
    return any(re.search(r"\d", t) for t in texts)


def _stream(w: World, token: str, **params: Any) -> Collector:
    return Collector(w.url, w.tokens[token], params=params).start()


def test_object_reaches_entitled_members_only(world: World) -> None:
    w = world
    assert w.group is not None
    beta, gamma = _stream(w, "beta"), _stream(w, "gamma")
    red = sdo("malware", "red-one", markings=[TLP2["red"]])
    _share(w, "alpha", w.group, red)
    end = _sentinel(w, "end-1")
    assert beta.wait_id(end) and gamma.wait_id(end)
    assert red["id"] not in beta.ids()
    assert gamma.ids() == [red["id"], end]
    event = gamma.events[0]
    assert event.data["collection"]["name"] == "g1" and event.data["tlp"] == "TLP:RED"
    assert event.data["producer"] == "Alpha"


def test_dependencies_never_leak(world: World) -> None:
    w = world
    assert w.group is not None
    red = sdo("malware", "secret-malware", markings=[TLP2["red"]])
    green = sdo("indicator", "public-ind", markings=[TLP2["green"]])
    _share(w, "alpha", w.group, red)
    _share(w, "alpha", w.hub.community, green)
    rel = sdo("relationship", "rel", markings=[TLP2["green"]], relationship_type="indicates",
              source_ref=green["id"], target_ref=red["id"])
    rel.pop("name")
    beta, gamma = _stream(w, "beta", refs="true"), _stream(w, "gamma", refs="true")
    _share(w, "alpha", w.hub.community, rel)
    assert beta.wait_id(rel["id"]) and gamma.wait_id(rel["id"])
    beta_refs = [r["id"] for r in beta.events[-1].data["references"]]
    gamma_refs = sorted(r["id"] for r in gamma.events[-1].data["references"])
    assert beta_refs == [green["id"]]  # the RED target is not Beta's to read: never sent, not even as a dependency
    assert gamma_refs == sorted([green["id"], red["id"]])
    assert all("secret-malware" not in str(e.data) for e in beta.events)  # its id is in the relationship, no more


def test_filters(world: World) -> None:
    w = world
    assert w.group is not None
    by_type = _stream(w, "gamma", type="malware")
    by_coll = _stream(w, "gamma", collection="g1")
    by_tlp = _stream(w, "gamma", tlp="clear")
    by_label = _stream(w, "gamma", label="phishing")
    by_producer = _stream(w, "gamma", producer="Beta")
    objs = [sdo("malware", "m1", markings=[TLP2["green"]]),
            sdo("indicator", "i1", markings=[TLP2["clear"]], labels=["phishing"]),
            sdo("attack-pattern", "a1")]
    _share(w, "alpha", w.hub.community, *objs)
    in_group = sdo("indicator", "g-ind", labels=["other"])
    _share(w, "alpha", w.group, in_group)
    from_beta = sdo("malware", "beta-m", markings=[TLP2["clear"]], labels=["phishing"])
    _share(w, "beta", w.hub.community, from_beta)
    expected = [(by_type, [objs[0]["id"], from_beta["id"]]), (by_coll, [in_group["id"]]),
                (by_tlp, [objs[1]["id"], from_beta["id"]]), (by_label, [objs[1]["id"], from_beta["id"]]),
                (by_producer, [from_beta["id"]])]
    for c, ids in expected:
        assert c.wait_for(lambda c, ids=ids: len(c.ids()) >= len(ids), 5)
    for c, _ in expected:  # a heartbeat after them: whatever else the stream had to send came first
        c.block_ids.clear()
        assert c.wait_for(lambda c: bool(c.block_ids), 5)
    for c, ids in expected:
        assert c.ids() == ids


def test_unknown_collection_filter_is_not_found(world: World) -> None:
    w = world
    private = w.hub.store.collection_by_name("private:Alpha")
    assert private is not None
    resp = httpx.get(w.url + "/api/v1/stream", params={"collection": private.uuid},
                     headers={"Authorization": f"Bearer {w.tokens['beta']}"})
    assert resp.status_code == 404


def test_resume_under_random_disconnects(world: World) -> None:
    w = world
    assert w.group is not None
    rng = random.Random(4)
    expected: list[str] = []
    start = w.hub.store.event_head()
    done = threading.Event()

    reconnected = [0]

    def publish() -> None:
        for batch in range(40):
            deadline = time.monotonic() + 10  # pace on the reader, so that it resumes mid-flow several times
            while reconnected[0] < batch // 6 and time.monotonic() < deadline:
                time.sleep(0.005)
            objs = [sdo("indicator", f"r-{batch}-{i}", markings=[TLP2["green"]]) for i in range(5)]
            _share(w, "alpha", w.hub.community, *objs)
            expected.extend(o["id"] for o in objs)
            _share(w, "alpha", w.group, sdo("malware", f"hidden-{batch}"))  # never Beta's
            time.sleep(rng.uniform(0, 0.01))
        done.set()

    threading.Thread(target=publish, daemon=True).start()
    received: list[str] = []
    last: str | None = w.seal("beta", start)
    reconnects = 0
    while not (done.is_set() and len(received) >= len(expected)):
        c = Collector(w.url, w.tokens["beta"], last_id=last)
        c.start()
        want = len(c.ids()) + rng.randint(1, 25)
        c.wait_for(lambda c, want=want: len(c.ids()) >= want or (done.is_set() and len(received) + len(c.ids())
                                                                 >= len(expected)), 2)
        c.stop()
        c.ended.wait(5)
        received.extend(c.ids())
        last = c.last_id
        reconnects += 1
        reconnected[0] = reconnects
        assert reconnects < 500
    assert reconnects > 5
    assert received == expected  # every event, once, in order


def test_revocation_bites_on_open_streams(world: World) -> None:
    w = world
    c = _stream(w, "beta")
    stop = threading.Event()

    def publish() -> None:
        n = 0
        while not stop.is_set():
            _share(w, "alpha", w.hub.community, sdo("indicator", f"rv-{n}", markings=[TLP2["green"]]))
            n += 1
            time.sleep(0.002)

    threading.Thread(target=publish, daemon=True).start()
    assert c.wait_for(lambda c: len(c.ids()) >= 5)
    resp = httpx.delete(f"{w.url}/api/v1/tokens/{w.token_ids['beta']}",
                        headers={"Authorization": f"Bearer {w.tokens['beta-admin']}"})
    assert resp.status_code == 200
    assert c.ended.wait(3), "the stream of a revoked token must close at once"
    stop.set()
    revoked_at = w.hub.store._one("SELECT eid FROM events WHERE kind = 'token-revoked'")[0]  # type: ignore[attr-defined]
    delivered = [w.position("beta", e.id) for e in c.events if e.event == "object"]
    assert delivered and max(delivered) < revoked_at
    assert c.events[-1].event == "error" and c.events[-1].data["code"] == "unauthenticated"
    again = httpx.get(w.url + "/api/v1/stream", headers={"Authorization": f"Bearer {w.tokens['beta']}"})
    assert again.status_code == 401


def test_membership_removal_bites(world: World) -> None:
    w = world
    assert w.group is not None
    c = _stream(w, "gamma")
    first = sdo("indicator", "before-removal")
    _share(w, "alpha", w.group, first)
    assert c.wait_id(first["id"])
    last_seen = c.last_id
    pending = sdo("indicator", "pending-in-group")
    _share(w, "alpha", w.group, pending)  # may or may not reach the open stream before the removal
    assert w.hub.store.remove_member(w.group.cid, w.orgs["gamma"].org_id)
    after = sdo("indicator", "after-removal")
    _share(w, "alpha", w.group, after)
    end = _sentinel(w, "end-m")
    assert c.wait_id(end)
    assert after["id"] not in c.ids()
    assert any(e.event == "member-removed" and e.data["collection"]["name"] == "g1" for e in c.events)
    # resuming from before the removal: the policy is applied at delivery time, so nothing of g1 comes
    late = Collector(w.url, w.tokens["gamma"], last_id=last_seen).start()
    assert late.wait_id(end)
    assert pending["id"] not in late.ids() and after["id"] not in late.ids()


def test_raised_default_marking_applies_to_pending_events(world: World) -> None:
    w = world
    start = w.hub.store.event_head()
    unmarked = sdo("indicator", "unmarked")  # community default: TLP:GREEN, read by all
    _share(w, "alpha", w.hub.community, unmarked)
    w.hub.store.set_default_tlp(w.hub.community.cid, int(Tlp.RED))  # now producer-only for unmarked objects
    end = _sentinel(w, "end-t")
    c = Collector(w.url, w.tokens["beta"], last_id=w.seal("beta", start)).start()
    assert c.wait_id(end)
    assert unmarked["id"] not in c.ids()


def test_resume_outside_the_log_is_an_explicit_error(world: World) -> None:
    w = world
    for i in range(3):
        _sentinel(w, f"old-{i}")
    head = w.hub.store.event_head()
    time.sleep(0.01)
    horizon = w.hub.store.prune_events(format_key(datetime.now(UTC)))
    assert horizon == head
    for bad in (head - 2, head + 10):
        c = Collector(w.url, w.tokens["beta"], last_id=w.seal("beta", bad)).start()
        assert c.ended.wait(5)
        assert c.status == 409
        assert b"resync_required" in c.body
        assert not _digits(c.body), c.body  # names no position of the log (head, horizon, id)
    ok = Collector(w.url, w.tokens["beta"], last_id=w.seal("beta", head)).start()
    end = _sentinel(w, "after-prune")
    assert ok.wait_id(end) and ok.ids() == [end]


def test_heartbeats_reveal_nothing_of_hidden_events(world: World) -> None:
    w = world
    assert w.group is not None
    start = w.hub.store.event_head()
    c = _stream(w, "beta")
    assert c.wait_for(lambda c: len(c.block_ids) >= 2, 3)  # two heartbeats, nothing shared in between
    _share(w, "alpha", w.group, sdo("indicator", "invisible"))  # not Beta's to read
    assert w.hub.store.event_head() > start
    count = len(c.block_ids)
    assert c.wait_for(lambda c: len(c.block_ids) >= count + 2, 3)  # two more heartbeats after it
    assert c.ids() == []
    assert len(set(c.block_ids)) == len(c.block_ids)  # sealed afresh each time: no two ids alike
    assert {w.position("beta", i) for i in c.block_ids} == {start}  # the position did not move
    resumed = Collector(w.url, w.tokens["beta"], last_id=c.last_id).start()  # resuming from one is exact
    end = _sentinel(w, "end-h")
    assert resumed.wait_id(end) and resumed.ids() == [end]


@pytest.mark.parametrize("header", ["", "Bearer nope"])
def test_stream_needs_a_valid_token(world: World, header: str) -> None:
    resp = httpx.get(world.url + "/api/v1/stream", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401


def test_a_client_that_stops_reading_is_dropped(world: World) -> None:
    w = world
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", w.server.port))
    sock.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {w.tokens['beta']}\r\n\r\n"
                 .encode())
    broker = w.app.state.stream.broker
    deadline = time.monotonic() + 10
    while not broker.subs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(broker.subs) == 1
    try:
        filler = "x" * 4000
        for batch in range(40):  # ~4 MB of events that the client never reads
            _share(w, "alpha", w.hub.community,
                   *[sdo("indicator", f"flood-{batch}-{i}", markings=[TLP2["green"]], description=filler)
                     for i in range(25)])
        deadline = time.monotonic() + 15
        while broker.subs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not broker.subs  # dropped (too slow, then no write accepted): the hub holds nothing for it
        reader = Collector(w.url, w.tokens["beta"]).start()  # the hub still serves everyone else
        end = _sentinel(w, "after-flood")
        assert reader.wait_id(end)
    finally:
        sock.close()


def test_a_version_reshared_into_another_audience_is_delivered_once(world: World) -> None:
    w = world
    assert w.group is not None
    start = w.hub.store.event_head()
    gamma = _stream(w, "gamma")
    beta = _stream(w, "beta")
    obj = sdo("indicator", "shared-twice", markings=[TLP2["green"]])
    _share(w, "alpha", w.hub.community, obj)
    _share(w, "alpha", w.group, obj)  # the same version, into g1: Gamma already read it through community
    late = sdo("indicator", "group-then-community", markings=[TLP2["green"]])
    _share(w, "alpha", w.group, late)  # Beta is not in g1 (yet)
    assert w.hub.store.add_member(w.group.cid, w.orgs["beta"].org_id)
    joined = w.hub.store.event_head()
    _share(w, "alpha", w.hub.community, late)  # Beta never received it: this share is its first
    end = _sentinel(w, "end-r")
    assert gamma.wait_id(end) and beta.wait_id(end)
    assert gamma.ids() == [obj["id"], late["id"], end]
    assert beta.ids() == [obj["id"], late["id"], end]
    resumed = Collector(w.url, w.tokens["gamma"], last_id=w.seal("gamma", start)).start()  # exact: the same, once
    assert resumed.wait_id(end)
    assert resumed.ids() == gamma.ids()
    after_join = Collector(w.url, w.tokens["beta"], last_id=w.seal("beta", joined)).start()
    assert after_join.wait_id(end)
    assert after_join.ids() == [late["id"], end]


def test_event_ids_are_per_reader_and_resume_only_their_reader(world: World) -> None:
    w = world
    start = w.hub.store.event_head()
    beta, gamma = _stream(w, "beta"), _stream(w, "gamma")
    end = _sentinel(w, "end-ids")
    assert beta.wait_id(end) and gamma.wait_id(end)
    b, g = beta.events[-1], gamma.events[-1]
    assert b.id and g.id and b.id != g.id  # one event, two readers: two unrelated ids
    assert b.data["event"] == b.id and g.data["event"] == g.id  # the JSON carries the same opaque id
    assert w.position("beta", b.id) == w.position("gamma", g.id) > start
    assert not b.id.isdigit()
    again = Collector(w.url, w.tokens["beta"], last_id=w.seal("beta", start)).start()
    assert again.wait_id(end) and again.events[-1].id != b.id  # the same event, sealed afresh
    tampered = b.id[:10] + ("A" if b.id[10] != "A" else "B") + b.id[11:]
    for bad in (g.id, tampered, str(start), "-1", "garbage"):  # Gamma's id, altered, a number: refused
        c = Collector(w.url, w.tokens["beta"], last_id=bad).start()
        assert c.ended.wait(5)
        assert c.status == 400, bad
        assert b"Last-Event-ID" in c.body and not _digits(c.body)


def test_last_event_id_zero_is_the_start(world: World) -> None:
    w = world
    first = _sentinel(w, "first")
    second = _sentinel(w, "second")
    from_now = _stream(w, "beta")
    from_start = Collector(w.url, w.tokens["beta"], last_id="0").start()
    query = Collector(w.url, w.tokens["beta"], params={"last_event_id": "0"}).start()
    end = _sentinel(w, "end-z")
    for c in (from_now, from_start, query):
        assert c.wait_id(end)
    assert from_now.ids() == [end]
    assert from_start.ids() == query.ids()
    assert [i for i in from_start.ids() if not i.startswith("identity--")] == [first, second, end]
    assert len(from_start.ids()) == 3 + 3  # and the identities of the three members, from the very start
