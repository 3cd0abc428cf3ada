"""PostgreSQL: LISTEN wake-ups, and the fence that orders a broker's sends with narrowing changes.

NOTIFY only says "look at the log"; the log stays the source of truth, so a lost notification
(e.g. while reconnecting) delays delivery until the next poll but never loses an event.
Correctness does not depend on NOTIFY: see :class:`PgFence`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql

from pacte.store.base import Store
from pacte.store.events import FENCE_LOCK, fence_sql

log = logging.getLogger("pacte.stream")


def conninfo_of(store: Store) -> str:
    """Return the connection string of a PostgreSQL store."""
    from pacte.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):
        raise TypeError("LISTEN/NOTIFY needs a PostgreSQL store")
    return str(store._pool.conninfo)


class PgFence:
    """A broker's side of the fence: the schema's fence lock held shared during a send window.

    Every narrowing change takes the same lock exclusively inside its transaction (see
    :mod:`pacte.store.events`), so it commits either before the window's :meth:`check` (which
    then sees it, in the statement's snapshot) or after the window's writes. The lock is
    transaction-scoped and the session has ``idle_in_transaction_session_timeout``: a broker
    whose event loop stalls cannot hold narrowing writes (and, behind them, every write) for
    longer than ``timeout_ms``.
    """

    def __init__(self, store: Store, timeout_ms: int = 10_000) -> None:
        from pacte.store.postgres import PostgresStore

        if not isinstance(store, PostgresStore):
            raise TypeError("the fence needs a PostgreSQL store")
        self._conninfo = conninfo_of(store)
        self._schema = store.schema
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._held = False
        self._check = fence_sql("postgresql")
        self._timeout_ms = timeout_ms

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            options = f"-c jit=off -c idle_in_transaction_session_timeout={self._timeout_ms}"
            if self._schema:
                options += f" -c search_path={self._schema}"
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, options=options)
        return self._conn

    async def enter(self) -> None:
        """Take the fence shared (waits while a narrowing change is committing)."""
        conn = await self._connection()
        try:
            await conn.execute("BEGIN")
            await conn.execute(f"SELECT pg_advisory_xact_lock_shared{FENCE_LOCK}")
        except psycopg.Error:
            await self.close()  # the session (and any lock it held) is gone; the round is retried
            raise
        self._held = True

    async def check(self, after: int) -> tuple[int, bool]:
        """Return the head of the log and whether a narrowing change follows ``after`` (after :meth:`enter`)."""
        conn = await self._connection()
        row = await (await conn.execute(self._check, (after,))).fetchone()
        assert row is not None
        return int(str(row[0])), bool(row[1])

    async def leave(self) -> None:
        """Release the fence."""
        if not self._held:
            return
        self._held = False
        try:
            await (await self._connection()).execute("COMMIT")
        except psycopg.Error:
            await self.close()  # closing the session releases the lock too

    async def close(self) -> None:
        """Close the connection (releasing the fence if held)."""
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


async def listen(store: Store, channel: str, wake: Callable[[bool], None], retry_seconds: float = 1.0) -> None:
    """Call ``wake(narrowing)`` for each notification on ``channel``; reconnect forever on failure."""
    conninfo = conninfo_of(store)
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            try:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                wake(True)  # catch up on whatever committed while not listening, assuming the worst
                async for note in conn.notifies():
                    wake(note.payload == "narrowing")
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()
        except asyncio.CancelledError:
            raise
        except (psycopg.Error, OSError) as exc:
            log.warning("LISTEN %s failed (%s); retrying", channel, exc)
            await asyncio.sleep(retry_seconds)
