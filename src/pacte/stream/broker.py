"""The broker of one server process: pages the event log for every open stream, then sends in *windows*.

One dispatcher task alternates *rounds* and *send windows*.

A round reads the head of the log, then, for each group of subscriptions with the same reader,
filters and position, one policy-filtered page of the log (``Store.stream_events``:
``pacte.policy.visible`` is in its SQL, evaluated now). Each event is encoded once per round and the
bytes are shared by every group and subscriber; only its id differs per reader (an opaque token,
:mod:`pacte.hub.positions`), sealed once per group and spliced around the shared bytes.
A heartbeat's id seals the last event the stream delivered, never the position scanned, and
is sealed afresh each time: successive heartbeats tell nothing of events the reader cannot read.

Before anything is queued, the round checks that
no narrowing change (revoked token, membership, marking, deleted collection) committed after the
head it read — if one did, it reads again — and re-authenticates every subscribed token; a revoked
token's streams get an error event and are closed, with whatever was queued for them discarded.

A send window is the only time queued events reach a socket. The broker *fences* the log:

* it takes the fence (a lock in this process; on PostgreSQL also ``pg_advisory_lock_shared`` on the
  fence key, which every narrowing change takes exclusively before it commits — see
  :data:`pacte.store.events.FENCE_KEY`);
* under the fence it reads, in one statement, the head of the log and whether a narrowing change
  follows the position verified by the previous window; if one does, nothing queued is sent:
  every stream is read again from what it last sent;
* then each connection ready to write (its socket is not full; see ``routes.EventStreamResponse``)
  writes everything queued for it in one ``send``, which uvicorn hands to the transport without
  suspending; the window ends when they all did, and the fence is released.

A narrowing change therefore commits (and is acknowledged) either before the window's check —
which then sees it — or after the window's writes. A change committed in this process also bumps
the broker's *epoch* under the in-process fence, and a connection drops chunks read under an older
epoch at the moment it writes. Hence: no event that a change forbids is handed to a connection
after the change is acknowledged, in one process and across PostgreSQL processes alike.

What this does not cover: bytes handed to the transport before the acknowledgement may still be in
flight (kernel buffers, a proxy) when it is given; webhooks (a delivery in flight completes); SQLite
written by another process (seen by the next window's check, not fenced). It relies on the ASGI
server writing a body without suspending once an empty ``send`` returned (uvicorn, both HTTP
implementations). The fence is transaction-scoped with ``idle_in_transaction_session_timeout``
(10 s): if this process's event loop stalled longer inside a window, PostgreSQL ends the fence
session so that writes elsewhere go on, and that one window is no longer fenced. A narrowing write
must never run synchronously on the event loop thread (it would wait for its own broker's window);
the API runs writes in the thread pool.

Rounds are triggered by a commit in this process (store listener), by PostgreSQL NOTIFY
(other processes), or by a short poll (fallback, and SQLite written by another process). Under
load, rounds are spaced (``round_gap_*`` settings) so that each connection gets fewer, larger writes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import itertools
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pacte.hub import Hub
from pacte.hub.positions import Surface
from pacte.stix.timestamps import format_key
from pacte.store.base import Store
from pacte.store.events import EventRow
from pacte.stream.encode import Framed, frame, readable_references, sse_error
from pacte.stream.filters import Filters
from pacte.stream.settings import StreamSettings

log = logging.getLogger("pacte.stream")

GroupKey = tuple[int, Filters, int]  # reader org, filters, cursor
# (SSE bytes, cursor after them, epoch they were read under, last event id, its objects per producer: the ledger)
Chunk = tuple[bytes, int, int, int, Counter[str]]


@dataclass(eq=False)
class Subscription:
    """One open stream: who reads, with which filters, how far the log was read and sent for it."""

    org_id: int
    token_id: str
    filters: Filters
    gid: int  # the same for every stream of this reader with these filters
    cursor: int  # the log is read for this stream after this event id
    limit: int  # queued chunks before the stream is closed as too slow
    sent: int = 0  # the cursor after the last chunk handed to the connection
    idle_cursor: int = 0  # scanned position with nothing pending
    last: int = 0  # the last event id handed to the connection (or the start): what heartbeats carry
    pending: list[Chunk] = field(default_factory=list)
    closed: bool = False
    final: bytes = b""  # the last message of a stream the server closes
    delivered: int = 0
    busy: bool = False  # something was queued since the last heartbeat tick
    heartbeat: bool = False  # a heartbeat is due
    window: int = -1  # the send window this stream was admitted to
    waiter: asyncio.Future[None] | None = None  # set while the connection waits for something to write
    writable_since: float = 0.0  # loop time its connection started waiting for the socket (0: not waiting)
    task: asyncio.Task[Any] | None = None  # the connection's task (dropped if its socket stays full)
    dropped: bool = False
    # Versions handed to the connection. The log's "first share" rule is evaluated at delivery: after a
    # narrowing change hides the share a version was sent through, a later share of it would be its
    # first readable one again; this keeps each version once per stream. Kept as the serial numbers of
    # the pages' sets of versions (increasing; the broker indexes which sets hold each version): one
    # number per chunk, looked up only for events that may repeat a version (``again``).
    since: int = 0  # the first page serial this stream may hold
    sent_pages: list[int] = field(default_factory=list)  # handed to the connection
    queued_pages: list[int] = field(default_factory=list)  # the chunks in ``pending``

    def wake(self) -> None:
        """Wake the connection if it waits."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, final: bytes = b"") -> None:
        """End the stream: drop what is queued (never sent after a close), then the final message."""
        if self.closed:
            return
        self.closed = True
        self.pending.clear()
        self.queued_pages.clear()
        self.final = final
        self.wake()

    def rewind(self) -> None:
        """Drop what is queued and read the log again after what was last sent."""
        self.pending.clear()
        self.queued_pages.clear()
        self.cursor = self.idle_cursor = self.sent

    def holds(self, serial: int) -> bool:
        """Whether this page set was handed to the connection or is queued for it."""
        for pages in (self.sent_pages, self.queued_pages):
            i = bisect.bisect_left(pages, serial)
            if i < len(pages) and pages[i] == serial:
                return True
        return False


@dataclass
class _Page:
    chunk: bytes
    cursor: int
    count: int
    last: int  # the last event id in the chunk
    events: list[tuple[int, int | None, bytes]] = field(default_factory=list)  # (eid, vid, SSE bytes) in the chunk
    vids: frozenset[int] = frozenset()  # the versions of its object events
    again: frozenset[int] = frozenset()  # those of them whose event may repeat a version (events.again)
    serial: int = 0  # the number of ``vids`` in the broker's index (set by the round)
    earlier: dict[int, frozenset[int]] = field(default_factory=dict)  # earlier page set -> the ``again`` in it
    producers: dict[int, str] = field(default_factory=dict)  # version -> producer name (for the ledger)
    tally: Counter[str] = field(default_factory=Counter)  # the page's objects per producer (shared, never changed)


@dataclass
class _Round:
    head: int
    epoch: int = 0
    pages: dict[GroupKey, _Page | None] = field(default_factory=dict)  # None: older than retention
    active: set[str] = field(default_factory=set)


class Broker:
    """Delivers the event log to this process's subscribers; see the module docstring."""

    def __init__(self, hub: Hub, settings: StreamSettings) -> None:
        self.hub = hub
        self.store: Store = hub.store
        self.settings = settings
        self.subs: set[Subscription] = set()
        self.head = 0
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pacte-stream")
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self.rounds = 0
        self.epoch = 0  # bumped by every narrowing change committed in this process
        self._gids: dict[tuple[int, Filters], int] = {}
        self._next_gid = itertools.count()
        self._serial = 0  # the last page set numbered
        self._pages_of: dict[int, list[int]] = {}  # version -> serials of the page sets that hold it
        self._stale = True  # a stream may be behind the known head (new, or rewound)
        self._fence = threading.Lock()  # held by a send window; a local narrowing commit waits for it
        self._pg_fence: Any = None  # pacte.stream.pgwake.PgFence on PostgreSQL
        self.verified = 0  # no narrowing change after this event id, as of the last window's check
        self.window = 0  # the open send window (odd: open)
        self._writers = 0  # connections admitted to the open window that have not written yet
        self._window_done: asyncio.Future[None] | None = None

    # lifecycle
    async def start(self) -> None:
        """Start the dispatcher, the pruner and (PostgreSQL) the NOTIFY listener and the fence."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.head = self.verified = await self.db(self.store.event_head)
        await self.db(lambda: self.hub.positions)  # the hub key is read (or made) here, not on the loop
        self.store.add_event_listener(self._signal)
        channel = self.store.event_channel()
        if channel is not None:
            from pacte.stream.pgwake import PgFence, listen

            self._pg_fence = PgFence(self.store)
            self._tasks.append(asyncio.create_task(listen(self.store, channel, self._notified),
                                                   name="pacte-stream-listen"))
        self._tasks.append(asyncio.create_task(self._dispatch(), name="pacte-stream-dispatch"))
        self._tasks.append(asyncio.create_task(self._prune(), name="pacte-stream-prune"))
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="pacte-stream-heartbeat"))

    async def stop(self) -> None:
        """Close every stream and stop the tasks."""
        self.store.remove_event_listener(self._signal)
        for sub in list(self.subs):
            sub.close(sse_error("shutting_down", "the server is shutting down; reconnect with Last-Event-ID"))
        self.subs.clear()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks.clear()
        if self._pg_fence is not None:
            await self._pg_fence.close()
        # let a query still running on the broker's threads end before the store may go away
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self._executor.shutdown, wait=True, cancel_futures=True))

    async def db(self, func: Any, *args: Any) -> Any:
        """Run a blocking store call on the broker's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    def _signal(self, narrowing: bool) -> None:
        """Store listener: called from the committing thread, before the write returns."""
        if narrowing:
            self.narrowed()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    def wake(self) -> None:
        """Ask for a full round soon (from the event loop), even if the head did not move."""
        self._stale = True
        self._wake.set()

    def _notified(self, narrowing: bool) -> None:
        """PostgreSQL NOTIFY from any process (this one included)."""
        if narrowing:
            self.narrowed()
        self._wake.set()

    def narrowed(self) -> None:
        """Record that what members may read may have narrowed: chunks read before are not sent.

        From another thread this waits for an open send window to end, so that the change is
        acknowledged only after that window's writes; on the loop thread no window is writing
        (connections compare epochs at the moment they write).
        """
        if threading.get_ident() == self._loop_thread:
            self.epoch += 1
            return
        with self._fence:
            self.epoch += 1

    async def changed(self, timeout: float) -> None:
        """Wait until a round sees a new head of the log, or ``timeout`` seconds."""
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it can swallow a cancellation
                await event.wait()

    # subscriptions
    def subscribe(self, org_id: int, token_id: str, filters: Filters, cursor: int) -> Subscription:
        """Register a stream that starts after event ``cursor``."""
        gid = self._gids.get((org_id, filters))
        if gid is None:
            gid = self._gids[(org_id, filters)] = next(self._next_gid)
        sub = Subscription(org_id, token_id, filters, gid, cursor, self.settings.queue_chunks,
                           sent=cursor, idle_cursor=cursor, last=cursor, since=self._serial + 1)
        self.subs.add(sub)
        self.wake()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a stream (its connection ended)."""
        self.subs.discard(sub)
        sub.closed = True
        self.written(sub)

    # what a connection writes
    async def next_body(self, sub: Subscription) -> tuple[bytes, bool]:
        """Wait until the stream has something to write; return (bytes, whether the stream ends).

        Events are returned only inside the send window the stream was admitted to, and only if
        they were read under the current epoch; the caller writes them before awaiting anything.
        """
        while True:
            if sub.closed:
                return sub.final, True
            if sub.pending and sub.window == self.window and self.window % 2:
                if sub.pending[0][2] != self.epoch:  # read before a narrowing change (the oldest first): read again
                    sub.rewind()
                    self.wake()
                else:
                    body = b"".join(c[0] for c in sub.pending) if len(sub.pending) > 1 else sub.pending[0][0]
                    self.hub.ledger.add_all(sub.org_id, "stream", [c[4] for c in sub.pending])
                    sub.sent, sub.last = sub.pending[-1][1], sub.pending[-1][3]
                    sub.sent_pages += sub.queued_pages
                    sub.queued_pages.clear()
                    sub.pending.clear()
                    return body, False
            if sub.heartbeat:
                sub.heartbeat = False
                if not sub.pending:  # every event the client may read up to idle_cursor was sent
                    sub.sent = max(sub.sent, sub.idle_cursor)
                return self._heartbeat(sub), False
            self.written(sub)
            if sub.pending:  # queued while this connection could not write: ask for a window
                self._wake.set()
            loop = asyncio.get_running_loop()
            sub.waiter = loop.create_future()
            try:
                await sub.waiter
            finally:
                sub.waiter = None

    def _heartbeat(self, sub: Subscription) -> bytes:
        """Return a heartbeat whose id is a fresh seal of the last event delivered (nothing about hidden ones)."""
        token = self.hub.positions.seal(Surface.STREAM, sub.org_id, sub.last)
        return b"id: %s\n: heartbeat\n\n" % token.encode()

    def written(self, sub: Subscription) -> None:
        """Record that a stream admitted to the open window wrote (or will not write) its events."""
        if sub.window == self.window and self.window % 2:
            sub.window = -1
            self._writers -= 1
            if self._writers <= 0 and self._window_done is not None and not self._window_done.done():
                self._window_done.set_result(None)

    # rounds
    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        last = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_seconds):
                    await self._wake.wait()
            gap = min(self.settings.round_gap_max_seconds, len(self.subs) * self.settings.round_gap_per_subscriber)
            delay = last + gap - loop.time()
            if delay > 0:  # under load, one round (and one write per stream) for several commits
                await asyncio.sleep(delay)
            last = loop.time()
            self._wake.clear()
            try:
                more = await self.round()
                await self._send_window()
            except Exception:  # keep serving: a failed round is retried on the next wake-up
                log.exception("stream round failed")
                await asyncio.sleep(self.settings.poll_seconds)
                self.wake()
                continue
            if more:
                self.wake()

    async def round(self) -> bool:
        """Run one round; return True if some group has more to read at once."""
        if not self._stale and await self.db(self.store.event_head) == self.head:
            return False  # a wake-up without a new event: nothing to read, nothing to re-check
        self._stale = False
        by_key: dict[tuple[int, int], list[Subscription]] = defaultdict(list)
        for sub in self.subs:
            if not sub.closed:
                by_key[(sub.gid, sub.cursor)].append(sub)
        groups: dict[GroupKey, list[Subscription]] = {
            (subs[0].org_id, subs[0].filters, subs[0].cursor): subs for subs in by_key.values()}
        tokens = sorted({s.token_id for s in self.subs})
        result: _Round = await self.db(self._read, list(groups), tokens)
        self.rounds += 1
        if result.head != self.head:
            self.head = result.head
            event, self._changed = self._changed, asyncio.Event()
            event.set()
        self._index(result)
        more = False
        for key, subs in groups.items():
            if key not in result.pages:
                continue
            page = result.pages[key]
            for sub in subs:
                if sub.closed:
                    continue
                if sub.token_id not in result.active:
                    sub.close(sse_error("unauthenticated", "the token was revoked"))
                elif page is None:
                    sub.close(sse_error("resync_required", "events after this stream's position were pruned by"
                                        " retention; re-synchronise through the objects API, then stream without"
                                        " Last-Event-ID"))
                else:
                    self._push(sub, page, key[2], result.epoch)
            if page is not None and page.count >= self.settings.batch:
                more = True
        return more

    def _index(self, result: _Round) -> None:
        """Number the round's sets of versions and index them by version."""
        numbered: dict[int, int] = {}  # id(set) -> serial: one number per set (groups share sets)
        index = self._pages_of
        for page in result.pages.values():
            if page is None or not page.vids:
                continue
            if page.again:  # the page sets (of earlier rounds: no stream holds this round's yet) with them
                earlier: dict[int, set[int]] = defaultdict(set)
                for vid in page.again:
                    for held in index.get(vid, ()):
                        earlier[held].add(vid)
                page.earlier = {k: frozenset(v) for k, v in earlier.items()}
            serial = numbered.get(id(page.vids))
            if serial is None:
                self._serial += 1
                serial = numbered[id(page.vids)] = self._serial
                for vid in page.vids:
                    found = index.get(vid)
                    if found is None:
                        index[vid] = [serial]
                    else:
                        found.append(serial)
            page.serial = serial

    def _forget_pages(self) -> None:
        """Drop from the index the page sets no open stream may hold."""
        floor = min((s.since for s in self.subs), default=self._serial + 1)
        index = self._pages_of
        for vid, serials in [(v, s) for v, s in index.items() if s[0] < floor]:
            kept = serials[bisect.bisect_left(serials, floor):]
            if kept:
                index[vid] = kept
            else:
                del index[vid]

    def _push(self, sub: Subscription, page: _Page, read_after: int, epoch: int) -> None:
        if sub.cursor != read_after:
            return  # the stream was rewound while this round read: the next round reads it again
        chunk, count, last = page.chunk, page.count, page.last
        # Only an event flagged ``again`` can repeat a version (the first event of a version is never
        # a repeat), so the common page costs no lookup; the outcome is the same as checking every event.
        repeats = (set().union(*(vids for serial, vids in page.earlier.items() if sub.holds(serial)))
                   if page.earlier else None)
        if repeats:  # already has it: not again
            kept = [ev for ev in page.events if ev[1] not in repeats]
            chunk, count = b"".join(ev[2] for ev in kept), len(kept)
            last = kept[-1][0] if kept else last
        if chunk:
            if len(sub.pending) >= sub.limit:
                sub.close(sse_error("too_slow", "the client reads too slowly; reconnect with Last-Event-ID"))
                return
            sub.pending.append((chunk, page.cursor, epoch, last, page.tally if not repeats else Counter(
                page.producers[ev[1]] for ev in page.events if ev[1] in page.producers and ev[1] not in repeats)))
            if page.serial:
                sub.queued_pages.append(page.serial)  # a superset of what was kept: the rest it had already
            sub.delivered += count
            sub.busy = True
        elif not sub.pending:
            sub.idle_cursor = page.cursor
        sub.cursor = page.cursor

    def _read(self, keys: Sequence[GroupKey], tokens: Sequence[str]) -> _Round:
        """Read one round (on a broker thread): pages per group, then the re-checks."""
        store = self.store
        while True:
            epoch = self.epoch  # before reading: a change after this point makes the chunks stale
            head = store.event_head()
            behind = [k for k in keys if k[2] < head]
            if not behind:
                return _Round(head, epoch)  # nothing new: no delivery, hence nothing to re-check
            horizon = store.event_horizon()
            out = _Round(head, epoch)
            encoded: dict[int, Framed] = {}  # an event's bytes, shared by every group that receives it
            sets: dict[tuple[int, ...], frozenset[int]] = {}  # a page's versions, one set for every group with them
            positions = self.hub.positions
            for key in behind:
                reader, filters, cursor = key
                if cursor < horizon:
                    out.pages[key] = None
                    continue
                rows = store.stream_events(filters.query(reader, cursor, head, self.settings.batch))
                if filters.refs and rows:
                    refs = readable_references(store, reader, rows)
                    framed = [frame(r, refs) for r in rows]
                else:
                    framed = [_encoded(encoded, r) for r in rows]
                ids = positions.seal_many(Surface.STREAM, reader, [f.eid for f in framed])
                events = [(f.eid, r.vid, f.sse(i)) for f, r, i in zip(framed, rows, ids, strict=True)]
                chunk = b"".join([ev[2] for ev in events])
                end = rows[-1].eid if len(rows) >= self.settings.batch else head
                listed = tuple(r.vid for r in rows if r.vid is not None)
                vids = sets.get(listed) or sets.setdefault(listed, frozenset(listed))
                again = frozenset(r.vid for r in rows if r.vid is not None and r.again)
                out.pages[key] = _Page(chunk, end, len(rows), rows[-1].eid if rows else cursor, events, vids, again,
                                       producers={r.vid: r.producer for r in rows if r.vid is not None and r.producer},
                                       tally=Counter(r.producer for r in rows if r.vid is not None and r.producer))
            if store.auth_changed_after(head):
                continue  # a narrowing change committed while reading: read again under it
            out.active = store.active_tokens(tokens)
            return out

    # send windows
    async def _send_window(self) -> None:
        """Fence the log, check it, and let every ready connection write what is queued for it."""
        if not any(s.pending for s in self.subs):
            return
        pg = self._pg_fence
        if pg is not None:
            await pg.enter()
        self._fence.acquire()  # a local narrowing commit holds it only to bump the epoch
        try:
            if pg is not None:
                head, narrowed = await pg.check(self.verified)
            else:
                head, narrowed = await self.db(self.store.fence_check, self.verified)
            self.verified = head
            if narrowed:  # a change committed since the last check: what is queued may be stale
                for sub in self.subs:
                    if sub.pending:
                        sub.rewind()
                self.wake()
                return
            self.window += 1  # open
            ready = [s for s in self.subs if s.pending and s.waiter is not None and not s.closed]
            self._writers = len(ready)
            if ready:
                self._window_done = asyncio.get_running_loop().create_future()
                for sub in ready:
                    sub.window = self.window
                    sub.wake()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.window_seconds):
                        await self._window_done
        finally:
            if self.window % 2:
                self.window += 1  # closed: a connection admitted but not yet run writes in a later window
            self._writers = 0
            self._window_done = None
            self._fence.release()
            if pg is not None:
                await pg.leave()

    async def _heartbeats(self) -> None:
        """Queue a heartbeat for idle streams; drop connections whose socket stayed full too long."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(self.settings.heartbeat_seconds, self.settings.send_timeout_seconds))
            live = {(s.org_id, s.filters) for s in self.subs}
            self._forget_pages()
            for key in [k for k in self._gids if k not in live]:  # forget filters nobody uses any more
                del self._gids[key]
            now = loop.time()
            for sub in list(self.subs):
                if sub.writable_since and now - sub.writable_since > self.settings.send_timeout_seconds:
                    sub.dropped = True  # the client stopped reading: the server drops the connection
                    self.unsubscribe(sub)
                    if sub.task is not None:
                        sub.task.cancel()
                    continue
                if sub.closed:
                    continue
                if sub.busy or sub.pending:
                    sub.busy = False
                    continue
                sub.heartbeat = True
                sub.wake()

    async def _prune(self) -> None:
        retention = self.settings.retention_seconds
        while True:
            await asyncio.sleep(self.settings.prune_every_seconds)
            if retention > 0:
                cutoff = format_key(datetime.now(UTC) - timedelta(seconds=retention))
                try:
                    await self.db(self.store.prune_events, cutoff)
                except Exception:
                    log.exception("pruning the event log failed")


def _encoded(cache: dict[int, Framed], row: EventRow) -> Framed:
    found = cache.get(row.eid)
    if found is None:
        found = cache[row.eid] = frame(row)
    return found
