"""SQLite backend: WAL, synchronous=FULL, one serialised writer, a bounded pool of reader connections."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pacte.errors import IntegrityError, StorageError
from pacte.store.keys import HubKeysSQL
from pacte.store.sqlbase import Conn, SQLStore

READERS = 4  # reader connections at most: reads are single statements, two cores serve them
# Page caches (KiB). In WAL mode a connection drops its whole cache when another one committed since
# its last read, so under writes a reader's cache holds about one read's pages; only the writer's
# keeps filling as writes touch new pages (bench/load.py --diagnose: 64 MiB filled for the whole
# 10-minute run and the server's memory with it; 4 MiB is full within the first minute).
READER_CACHE_KIB = 2048
WRITER_CACHE_KIB = 65536  # bulk imports (`pacte import`) touch index pages all over the database
SERVE_WRITER_CACHE_KIB = 4096  # a server's writes are small transactions (bound_cache)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0,
                           uri=path.startswith("file:"))
    conn.execute("PRAGMA page_size=16384")  # new databases: large STIX documents fit in fewer pages
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a COMMIT that returned survives kill -9 and power loss
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA wal_autocheckpoint=16384")  # checkpoint past 256 MiB of 16 KiB pages (bulk imports run free)
    conn.execute("PRAGMA journal_size_limit=67108864")  # and shrink the WAL file back to 64 MiB after
    return conn


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(f"database constraint violated: {exc}") from exc
    except sqlite3.Error as exc:
        raise StorageError(f"database error: {exc}") from exc


class SQLiteStore(HubKeysSQL, SQLStore):
    """Store on an embedded SQLite file."""

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path == ":memory:":  # one in-memory database shared by this store's connections
            self.path = f"file:pacte-{uuid.uuid4().hex}?mode=memory&cache=shared"
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []  # every reader connection opened, closed by close()
        self._idle: list[sqlite3.Connection] = []  # those no read is using now
        self._readers_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(READERS)  # a read waits for a free connection
        with _translated():
            self._writer = _connect(self.path)
        self._depth = 0
        self._migrate()

    def sql(self, text: str) -> str:
        """Return the statement unchanged: SQLite uses ``?`` placeholders."""
        return text

    def executemany(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many rows."""
        if rows:
            conn.executemany(sql, rows)  # type: ignore[attr-defined]

    @contextmanager
    def _reading(self) -> Iterator[Conn]:
        # A connection per concurrent read, not per thread: the ASGI thread pool retires idle
        # worker threads and starts new ones, and a connection tied to a thread that ended stayed
        # open with its page cache (two file descriptors and up to 64 MiB each, without bound).
        # Bounded: memory is at most READERS page caches however many threads read (reads are
        # single statements and never nest, so waiting for a slot cannot deadlock).
        self._slots.acquire()
        try:
            with self._readers_lock:
                conn = self._idle.pop() if self._idle else None  # the most recently used: its cache is warm
            if conn is None:
                with _translated():
                    conn = _connect(self.path)
                    conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
                with self._readers_lock:
                    self._readers.append(conn)
            try:
                with _translated():
                    yield conn
            finally:
                with self._readers_lock:
                    self._idle.append(conn)
        finally:
            self._slots.release()

    @contextmanager
    def _writing(self) -> Iterator[Conn]:
        with self._lock:
            if self._depth:  # nested use inside an open transaction
                self._depth += 1
                try:
                    with _translated():
                        yield self._writer
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with _translated():
                    self._writer.execute("BEGIN IMMEDIATE")
                    try:
                        yield self._writer
                    except BaseException:
                        self._writer.execute("ROLLBACK")
                        raise
                    self._writer.execute("COMMIT")
            finally:
                self._depth = 0

    def bound_cache(self) -> None:
        """Shrink the writer's page cache to a long-running server's bound (``pacte serve``)."""
        with self._lock, _translated():
            self._writer.execute(f"PRAGMA cache_size=-{SERVE_WRITER_CACHE_KIB}")

    def close(self) -> None:
        """Release connections."""
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._idle.clear()
        self._writer.close()
