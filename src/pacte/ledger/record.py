"""Recording consumption: counts of objects handed to readers, kept in memory and added to the store in batches.

Read paths call :meth:`Recorder.record` once per page they send (API listing and get, TAXII object
pages, stream chunks handed to a socket, webhook deliveries, exports) with the reader and the items.
The cost on the read path is one :class:`collections.Counter` of the page's producers and a dict
update under a lock: never a database write per request.

Counts are kept per (UTC day, reader, channel, producer) and added to ``ledger_reads`` by
:meth:`Recorder.flush` in one small write transaction (an upsert that adds to existing rows, so
several server processes add up). The server flushes every :data:`FLUSH_SECONDS` on a background
thread and once more at shutdown; commands that read (``pacte export``) flush before they exit.

These are counts, not acknowledged writes. What a process has counted since its last flush is lost
if it is killed without shutting down (``kill -9``, power loss): at most :data:`FLUSH_SECONDS` of
reads. A flush that fails (database unavailable) puts its counts back to be written by the next one.
Items of producer 0 (the hub's own canonical TLP definitions) are not anyone's contribution and
are not counted. The stream knows producers by name: those are resolved to members at flush time.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from pacte.store.ledger import CHANNELS

if TYPE_CHECKING:
    from pacte.store.base import Store, StoredObject

log = logging.getLogger("pacte.ledger")

FLUSH_SECONDS = 5.0
Key = tuple[str, int, str, int | str]  # (day, reader, channel, producer id or name)


class Recorder:
    """Counts of objects handed to readers since the last flush, per day, reader, channel and producer."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._today: date | None = None
        self._today_key = ""
        self._counts: dict[Key, int] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, reader: int, channel: str, items: Iterable[StoredObject]) -> None:
        """Count the items of one page handed to ``reader`` on ``channel``."""
        self.add(reader, channel, Counter([i.producer for i in items]))

    def add(self, reader: int, channel: str, producers: Mapping[int, int] | Mapping[str, int]
            | Mapping[int | str, int]) -> None:
        """Count objects handed to ``reader`` on ``channel``: {producer id (or name): how many}."""
        self.add_all(reader, channel, (producers,))

    def add_all(self, reader: int, channel: str, batches: Iterable[Mapping[int, int] | Mapping[str, int]
                | Mapping[int | str, int]]) -> None:
        """Count several batches handed to ``reader`` on ``channel`` at once (a stream's pending chunks)."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        day = self._day()
        with self._lock:
            counts = self._counts
            for producers in batches:
                for producer, n in producers.items():
                    if producer and n:
                        key = (day, reader, channel, producer)
                        counts[key] = counts.get(key, 0) + n

    def _day(self) -> str:
        """Return today's date (UTC) as the ledger keys it; formatted once a day, not once a send."""
        today = self._now().astimezone(UTC).date()
        if today != self._today:
            self._today, self._today_key = today, today.isoformat()
        return self._today_key

    def pending(self) -> dict[Key, int]:
        """Return a copy of the counts not yet flushed."""
        with self._lock:
            return dict(self._counts)

    def flush(self, store: Store) -> int:
        """Add the counts to the store in one transaction; return how many rows were written."""
        with self._flushing:  # one flush at a time, so counts put back never race a newer flush
            with self._lock:
                taken, self._counts = self._counts, {}
            if not taken:
                return 0
            try:
                rows = _rows(store, taken)
                store.add_reads(rows)
            except Exception:
                with self._lock:
                    for key, n in taken.items():
                        self._counts[key] = self._counts.get(key, 0) + n
                raise
            return len(rows)

    def start(self, store: Store, interval: float = FLUSH_SECONDS) -> None:
        """Flush every ``interval`` seconds on a daemon thread until :meth:`stop` (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(store, interval), name="pacte-ledger-flush",
                                        daemon=True)
        self._thread.start()

    def stop(self, store: Store) -> None:
        """Stop the flushing thread and flush what is left."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=10)
        self.flush(store)

    def _run(self, store: Store, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.flush(store)
            except Exception:  # kept in memory; the next flush tries again
                log.exception("ledger flush failed")


def _rows(store: Store, counts: Mapping[Key, int]) -> list[tuple[str, int, str, int, int]]:
    """Return the rows to add, producers given by name resolved to members (unknown names dropped)."""
    names = {k[3] for k in counts if isinstance(k[3], str)}
    ids = {o.name: o.org_id for o in store.list_orgs()} if names else {}
    merged: dict[tuple[str, int, str, int], int] = {}
    for (day, reader, channel, producer), n in counts.items():
        pid = ids.get(producer) if isinstance(producer, str) else producer
        if pid:
            key = (day, reader, channel, pid)
            merged[key] = merged.get(key, 0) + n
    return [(*key, n) for key, n in sorted(merged.items())]
