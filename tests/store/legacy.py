"""A store of an older schema, built statement by statement, then opened (migrated) by the current code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from conftest import pg_url_or_skip
from pacte.store import open_store
from pacte.store.base import Store
from pacte.store.postgres import split_schema

Build = Callable[[Callable[..., Any], str], None]  # (execute, dialect): creates the old schema and its rows


def legacy_store(backend: str, tmp_path: Path, build: Build) -> Store:
    """Return the store ``build`` made with an older schema, opened (so migrated) by the current code."""
    if backend == "sqlite":
        import sqlite3
        path = tmp_path / "old.sqlite3"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=ON")
        build(conn.execute, "sqlite")
        conn.close()
        return open_store(str(path))
    url = pg_url_or_skip()
    conninfo, schema = split_schema(url)
    with psycopg.connect(conninfo, autocommit=True) as pg:
        pg.execute(f"CREATE SCHEMA {schema}")
        pg.execute(f"SET search_path TO {schema}")
        build(pg.execute, "postgresql")
    return open_store(url)
