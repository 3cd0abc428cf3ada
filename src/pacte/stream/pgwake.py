"""PostgreSQL wake-ups: LISTEN on the store's channel so that every server process hears every commit.

NOTIFY only says "look at the log"; the log stays the source of truth, so a lost notification
(e.g. while reconnecting) delays delivery until the next poll but never loses an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql

from pacte.store.base import Store

log = logging.getLogger("pacte.stream")


def conninfo_of(store: Store) -> str:
    """Return the connection string of a PostgreSQL store."""
    from pacte.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):
        raise TypeError("LISTEN/NOTIFY needs a PostgreSQL store")
    return str(store._pool.conninfo)


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
