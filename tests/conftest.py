"""Shared fixtures: a frozen clock and UUIDs, and a store on every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub.clock import FrozenClock, SequentialIds
from pacte.store.base import Store

PG_URL = os.environ.get("PACTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[2] / "shared"
BACKENDS = ["sqlite", "postgres"]


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


_PG_OK: bool | None = None


def pg_url_or_skip() -> str:
    """Return a PostgreSQL URL with a fresh schema; skip (fail in CI) when PostgreSQL is missing."""
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = _pg_available()
    if not _PG_OK:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI (CI=true) but {PG_URL} is not reachable")
        pytest.skip("PostgreSQL not reachable")
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}schema=t_{uuid.uuid4().hex[:16]}"


def make_store(backend: str, tmp_path: Path) -> Store:
    """Open a fresh, empty store on a backend."""
    from pacte.store import open_store

    if backend == "sqlite":
        return open_store(str(tmp_path / "hub.sqlite3"))
    return open_store(pg_url_or_skip())


def drop_store(store: Store) -> None:
    """Close a store and, on PostgreSQL, drop its schema."""
    from pacte.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        store.drop_schema()
    store.close()


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at 2026-01-15T10:00:00Z that ticks 1 ms per reading."""
    return FrozenClock(datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC), step=timedelta(milliseconds=1))


@pytest.fixture
def ids() -> SequentialIds:
    """Predictable UUIDs."""
    return SequentialIds()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using a store runs once per backend."""
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on the current backend."""
    s = make_store(backend, tmp_path)
    yield s
    drop_store(s)


@pytest.fixture
def hub(store: Store, clock: FrozenClock, ids: SequentialIds) -> Hub:
    """A hub over the fresh store, with frozen time and UUIDs."""
    return Hub(store, Settings(max_body_bytes=2 * 1024 * 1024, max_depth=16), clock=clock, ids=ids)
