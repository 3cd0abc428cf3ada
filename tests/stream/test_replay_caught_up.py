"""A replay from the start delivers every event of the log up to its head, and the leak machine's adapter sees it all.

Two short replays of the leak machine (tests/policy/leakpush.py) were a race in the adapter, not in
the stream: its client thread, stalled between the response headers and its registration, took the
position the broker had already handed the connection as received, and closed the stream with only
a prefix read. These tests stall that thread on purpose, and replay while another thread writes,
comparing each replay with the reader's events in the log (``Store.stream_events``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from helpers import TLP2, add_member, sdo
from pacte.hub import Hub
from pacte.policy import Role
from pacte.stream.filters import Filters
from policy.leakpush import PushHarness, VersionSeen, stream_replay, version_seen


def _logged(hub: Hub, reader: int, upto: int) -> Counter[VersionSeen]:
    """Return the versions the log gives a reader from the start up to ``upto`` (as the stream would)."""
    rows = hub.store.stream_events(Filters().query(reader, 0, upto, 1_000_000))
    return Counter(version_seen(orjson.loads(r.doc)) for r in rows if r.doc is not None)


@pytest.fixture
def served(hub: Hub) -> Iterator[tuple[Hub, PushHarness]]:
    """The hub served on 127.0.0.1 by the leak machine's harness."""
    with PushHarness(hub) as h:
        yield hub, h


def test_replay_complete_when_the_client_thread_stalls(served: tuple[Hub, PushHarness],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hub, h = served
    alpha, charlie = add_member(hub, "Alpha", "FR"), add_member(hub, "Charlie", "BE")
    report = hub.share_as(alpha.org, hub.community, [sdo("indicator", f"i-{i}", markings=[TLP2["clear"]])
                                                     for i in range(300)])
    assert report.failures == 0
    want = _logged(hub, charlie.org.org_id, hub.store.event_head())
    assert sum(want.values()) == 302  # 300 indicators and the two members' identities
    stalls = 0
    real = hub.authenticate

    def slow(token: str) -> Any:  # the adapter's reader thread authenticates after the headers: stall it there
        nonlocal stalls
        if threading.current_thread().name.endswith("(_run)"):
            stalls += 1
            time.sleep(0.05)  # long enough for the broker to hand the connection its whole replay
        return real(token)

    monkeypatch.setattr(hub, "authenticate", slow)
    for _ in range(3):  # before the fix: 17 of 19 such replays were short
        got = stream_replay(h, charlie.secrets[Role.READER])
        assert (got.status, got.error) == (200, None)
        assert got == want
    assert stalls == 3


def test_replay_while_writing_matches_the_log(served: tuple[Hub, PushHarness]) -> None:
    hub, h = served
    alpha, charlie = add_member(hub, "Alpha", "FR"), add_member(hub, "Charlie", "BE")
    stop = threading.Event()
    failed: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(10_000):
                if stop.is_set():
                    return
                objs = [sdo("indicator", f"w-{i}-{j}", markings=[TLP2["clear"]]) for j in range(3)]
                assert hub.share_as(alpha.org, hub.community, objs).failures == 0
                time.sleep(0.002)
        except BaseException as exc:  # reported by the test thread
            failed.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    start = hub.store.event_head()
    try:
        for _ in range(8):
            before = hub.store.event_head()
            got = stream_replay(h, charlie.secrets[Role.READER])
            after = hub.store.event_head()
            assert (got.status, got.error) == (200, None)
            assert not _logged(hub, charlie.org.org_id, before) - got  # everything up to the head at the call
            assert not got - _logged(hub, charlie.org.org_id, after)  # each version once, nothing not logged
        assert hub.store.event_head() > start  # the writer wrote while the replays ran
    finally:
        stop.set()
        writer.join(10)
    assert not failed, failed
