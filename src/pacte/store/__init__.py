"""Storage: one typed Protocol (``base.Store``) with SQLite and PostgreSQL backends."""

from __future__ import annotations

from pathlib import Path

from pacte.store.base import Store

DEFAULT_DB = "pacte.sqlite3"


def open_store(url: str | None = None) -> Store:
    """Open (creating or migrating) the store named by a database URL or SQLite path."""
    target = url or DEFAULT_DB
    if target.startswith(("postgresql://", "postgres://")):
        from pacte.store.postgres import PostgresStore

        return PostgresStore(target)
    if target.startswith("sqlite:///"):
        target = target.removeprefix("sqlite:///")
    elif target.startswith("sqlite://"):
        target = target.removeprefix("sqlite://")
    from pacte.store.sqlite import SQLiteStore

    return SQLiteStore(Path(target) if target != ":memory:" else target)


__all__ = ["DEFAULT_DB", "Store", "open_store"]
