"""The hub key: 256 random bits in the database, made once, the same for every store on that database."""

from __future__ import annotations

from pathlib import Path

from conftest import PG_URL
from pacte.store import open_store
from pacte.store.base import Store
from pacte.store.postgres import PostgresStore


def _second(store: Store, tmp_path: Path) -> Store:
    """Open another store (another process would) on the same database."""
    if isinstance(store, PostgresStore):
        sep = "&" if "?" in PG_URL else "?"
        return open_store(f"{PG_URL}{sep}schema={store.schema}")
    return open_store(str(tmp_path / "hub.sqlite3"))


def test_one_key_per_database(store: Store, tmp_path: Path) -> None:
    other = _second(store, tmp_path)
    try:
        first = other.hub_key()  # made by the second store...
        assert len(first) == 32 and first != bytes(32)
        assert store.hub_key() == first  # ...and read by the first
        assert store.hub_key("another") != first  # each name is its own random key
    finally:
        other.close()
    assert store.hub_key() == first
