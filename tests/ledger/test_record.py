"""The read recorder: counts in memory, added to the store in batches that add up across processes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from helpers import add_member
from pacte.hub import Hub
from pacte.hub.clock import FrozenClock
from pacte.ledger.record import Recorder
from pacte.store.base import Store, StoredObject


def item(producer: int) -> StoredObject:
    """Return a read item of one producer."""
    return StoredObject(1, "attack-pattern--x", "attack-pattern", "k", None, "a", "{}", producer)


def totals(store: Store, org_id: int) -> dict[tuple[str, int, str, int], int]:
    """Return the stored counts of reads by and of ``org_id`` in January 2026."""
    return {(r.day, r.reader, r.channel, r.producer): r.n for r in store.ledger_reads(org_id, "2026-01-01", "2026-01-31")}


def test_a_page_is_counted_per_day_reader_channel_and_producer(clock: FrozenClock) -> None:
    rec = Recorder(clock.now)
    rec.record(7, "taxii", [item(1), item(1), item(2), item(0)])  # producer 0: the hub's TLP definitions
    clock.advance(timedelta(days=1))
    rec.record(7, "taxii", [item(1)])
    assert rec.pending() == {("2026-01-15", 7, "taxii", 1): 2, ("2026-01-15", 7, "taxii", 2): 1,
                             ("2026-01-16", 7, "taxii", 1): 1}
    with pytest.raises(ValueError):
        rec.record(7, "carrier-pigeon", [item(1)])


def test_flushes_add_to_stored_rows_and_two_processes_add_up(hub: Hub) -> None:
    a, b = add_member(hub, "A").org.org_id, add_member(hub, "B").org.org_id
    first, second = Recorder(hub.clock.now), Recorder(hub.clock.now)  # two server processes, one database
    first.record(a, "api", [item(b)] * 3)
    second.record(a, "api", [item(b)] * 2)
    second.add(a, "stream", {"B": 4, "nobody-by-that-name": 1})  # the stream knows producers by name
    assert first.flush(hub.store) == 1 and second.flush(hub.store) == 2
    first.record(a, "api", [item(b)])
    assert first.flush(hub.store) == 1
    assert first.flush(hub.store) == 0  # nothing new: no write
    assert totals(hub.store, a) == {("2026-01-15", a, "api", b): 6, ("2026-01-15", a, "stream", b): 4}
    assert totals(hub.store, b) == totals(hub.store, a)  # the same rows, seen from the producer's side


def test_a_failed_flush_keeps_the_counts(hub: Hub) -> None:
    a = add_member(hub, "A").org.org_id
    rec = Recorder(hub.clock.now)
    rec.record(a, "export", [item(a)] * 2)

    class Broken:
        def list_orgs(self) -> list[object]:
            return []

        def add_reads(self, rows: object) -> None:
            raise OSError("database away")

    with pytest.raises(OSError):
        rec.flush(Broken())  # type: ignore[arg-type]
    rec.record(a, "export", [item(a)])
    assert rec.flush(hub.store) == 1
    assert totals(hub.store, a) == {("2026-01-15", a, "export", a): 3}


def test_the_background_thread_flushes_and_stop_flushes_the_rest(hub: Hub) -> None:
    a = add_member(hub, "A").org.org_id
    rec = Recorder(lambda: datetime(2026, 1, 15, tzinfo=UTC))
    rec.start(hub.store, interval=0.05)
    rec.record(a, "webhook", [item(a)])
    deadline = time.monotonic() + 5
    while not totals(hub.store, a) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert totals(hub.store, a) == {("2026-01-15", a, "webhook", a): 1}
    rec.stop(hub.store)
    rec.record(a, "webhook", [item(a)])
    rec.stop(hub.store)  # not running: flushes what is left
    assert totals(hub.store, a) == {("2026-01-15", a, "webhook", a): 2}
