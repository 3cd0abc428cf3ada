"""The broker of one server process: pages the event log for every open stream.

One dispatcher task runs *rounds*. A round reads the head of the log, then, for each group of
subscriptions with the same reader, filters and position, one policy-filtered page of the log
(``Store.stream_events``: ``visible_clause`` is in its SQL, evaluated now). Before anything is
handed to a connection, the round checks that no narrowing change (revoked token, membership,
marking, deleted collection) committed after the head it read — if one did, it reads again —
and re-authenticates every subscribed token; a revoked token's streams get an error event and
are closed, with whatever was queued for them discarded.

A narrowing change committed in this process also bumps the broker's *epoch* from the
committing thread, before the write returns (so before anyone is told it happened). Each
queued chunk carries the epoch its round read under; a stream about to send a chunk of an
older epoch drops it and everything queued after it, and is read again from what it last
sent. So in one process nothing a change forbids is sent after the change is acknowledged;
across PostgreSQL processes the same happens when the NOTIFY arrives (milliseconds later).

Rounds are triggered by a commit in this process (store listener), by PostgreSQL NOTIFY
(other processes), or by a short poll (fallback, and SQLite written by another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pacte.hub import Hub
from pacte.stix.timestamps import format_key
from pacte.store.base import Store
from pacte.stream.encode import readable_references, sse_error, sse_event
from pacte.stream.filters import Filters
from pacte.stream.settings import StreamSettings

log = logging.getLogger("pacte.stream")

GroupKey = tuple[int, Filters, int]  # reader org, filters, cursor
HEARTBEAT = -2  # queue marker: the stream was idle for a heartbeat interval


@dataclass(eq=False)
class Subscription:
    """One open stream: who reads, with which filters, and how far the log was scanned for it."""

    org_id: int
    token_id: str
    filters: Filters
    gid: int  # the same for every stream of this reader with these filters
    cursor: int  # the log is read for this stream after this event id
    queue: asyncio.Queue[tuple[bytes, int, int] | None]  # (chunk, cursor after it, epoch), None: end
    sent: int = 0  # the cursor after the last chunk handed to the connection
    idle_cursor: int = 0  # scanned position with nothing pending, for heartbeat ids
    closed: bool = False
    delivered: int = 0
    busy: bool = False  # something was queued since the last heartbeat tick

    def close(self, final: bytes = b"") -> None:
        """End the stream: drop what is queued (never sent after a close), then the final message."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        if final:
            self.queue.put_nowait((final, -1, 0))
        self.queue.put_nowait(None)

    def rewind(self) -> None:
        """Drop what is queued and read the log again after what was last sent."""
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if item is None or item[1] == -1:  # keep a close (and its final message)
                self.queue.put_nowait(item)
                break
        self.cursor = self.idle_cursor = self.sent


@dataclass
class _Page:
    chunk: bytes
    cursor: int
    count: int


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
        self.rounds = 0
        self.epoch = 0  # bumped by every narrowing change committed in this process
        self._gids: dict[tuple[int, Filters], int] = {}
        self._next_gid = itertools.count()
        self._stale = True  # a stream may be behind the known head (new, or rewound)
        self._epoch_lock = threading.Lock()

    # lifecycle
    async def start(self) -> None:
        """Start the dispatcher, the pruner and (PostgreSQL) the NOTIFY listener."""
        self._loop = asyncio.get_running_loop()
        self.head = await self.db(self.store.event_head)
        self.store.add_event_listener(self._signal)
        self._tasks.append(asyncio.create_task(self._dispatch(), name="pacte-stream-dispatch"))
        self._tasks.append(asyncio.create_task(self._prune(), name="pacte-stream-prune"))
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="pacte-stream-heartbeat"))
        channel = self.store.event_channel()
        if channel is not None:
            from pacte.stream.pgwake import listen

            self._tasks.append(asyncio.create_task(listen(self.store, channel, self._notified),
                                                   name="pacte-stream-listen"))

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
        """Record that what members may read may have narrowed: chunks read before are not sent."""
        with self._epoch_lock:
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
        sub = Subscription(org_id, token_id, filters, gid, cursor, asyncio.Queue(self.settings.queue_chunks),
                           sent=cursor, idle_cursor=cursor)
        self.subs.add(sub)
        self.wake()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a stream (its connection ended)."""
        self.subs.discard(sub)
        sub.closed = True

    # rounds
    async def _dispatch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                more = await self.round()
            except Exception:  # keep serving: a failed round is retried on the next wake-up
                log.exception("stream round failed")
                await asyncio.sleep(self.settings.poll_seconds)
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
                    sub.close(sse_error("resync_required", f"events after {sub.cursor} were pruned by retention;"
                                        " re-synchronise through the objects API, then stream without Last-Event-ID"))
                else:
                    self._push(sub, page, key[2], result.epoch)
            if page is not None and page.count >= self.settings.batch:
                more = True
        return more

    def _push(self, sub: Subscription, page: _Page, read_after: int, epoch: int) -> None:
        if sub.cursor != read_after:
            return  # the stream was rewound while this round read: the next round reads it again
        if page.chunk:
            try:
                sub.queue.put_nowait((page.chunk, page.cursor, epoch))
                sub.delivered += page.count
                sub.busy = True
            except asyncio.QueueFull:
                sub.close(sse_error("too_slow", "the client reads too slowly; reconnect with Last-Event-ID"))
                return
        elif sub.queue.empty():
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
            for key in behind:
                reader, filters, cursor = key
                if cursor < horizon:
                    out.pages[key] = None
                    continue
                rows = store.stream_events(filters.query(reader, cursor, head, self.settings.batch))
                refs = readable_references(store, reader, rows) if filters.refs and rows else None
                end = rows[-1].eid if len(rows) >= self.settings.batch else head
                out.pages[key] = _Page(b"".join(sse_event(r, refs) for r in rows), end, len(rows))
            if store.auth_changed_after(head):
                continue  # a narrowing change committed while reading: read again under it
            out.active = store.active_tokens(tokens)
            return out

    async def _heartbeats(self) -> None:
        """Queue a heartbeat for every stream that had nothing to send during the last interval."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            live = {(s.org_id, s.filters) for s in self.subs}
            for key in [k for k in self._gids if k not in live]:  # forget filters nobody uses any more
                del self._gids[key]
            for sub in list(self.subs):
                if sub.closed:
                    continue
                if sub.busy or not sub.queue.empty():
                    sub.busy = False
                    continue
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait((b"", HEARTBEAT, 0))

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
