"""SQLite reader connections: one per concurrent read, not one left open per thread that ever read."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pacte.store.sqlite import SQLiteStore


def _open_files_on(path: Path) -> int:
    """Count this process's file descriptors open on the database file (not its -wal / -shm)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            continue
    return count


def test_threads_that_end_leave_no_connection_open(tmp_path: Path) -> None:
    # the ASGI thread pool retires idle workers and starts new ones: 60 of them reading one after
    # another used to leave 60 connections (and their page caches) open until the store closed
    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    try:
        before = _open_files_on(path)
        versions: list[int] = []
        for _ in range(60):
            t = threading.Thread(target=lambda: versions.append(store.schema_version()))
            t.start()
            t.join()
        assert versions == [versions[0]] * 60 and versions[0] >= 1
        assert _open_files_on(path) - before <= 1  # one reader connection, reused by every thread
    finally:
        store.close()
    assert _open_files_on(path) == 0


def test_concurrent_reads_get_their_own_connection(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "hub.sqlite3")
    try:
        with store._reading() as first, store._reading() as second:
            assert first is not second  # a connection is never shared by two reads in progress
        with store._reading() as again:
            assert again in (first, second)  # returned to the pool, not reopened
        barrier = threading.Barrier(8)
        results: list[int] = []

        def read() -> None:
            barrier.wait()
            results.append(store.schema_version())

        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 8 and set(results) == {store.schema_version()}
    finally:
        store.close()


def test_readers_are_bounded_however_many_threads_read(tmp_path: Path) -> None:
    from pacte.store import sqlite as backend

    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    try:
        before = _open_files_on(path)
        barrier = threading.Barrier(3 * backend.READERS)
        results: list[int] = []

        def read() -> None:
            barrier.wait()
            for _ in range(20):
                results.append(store.schema_version())

        threads = [threading.Thread(target=read) for _ in range(3 * backend.READERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 60 * backend.READERS and len(set(results)) == 1
        assert 1 <= _open_files_on(path) - before <= backend.READERS
        assert len(store._readers) <= backend.READERS
    finally:
        store.close()
