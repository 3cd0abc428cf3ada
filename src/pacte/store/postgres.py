"""PostgreSQL backend: a connection pool; writes serialised by a transaction-scoped advisory lock."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

from pacte.errors import IntegrityError, StorageError
from pacte.store.keys import HubKeysSQL
from pacte.store.sqlbase import Conn, SQLStore

# Serialising writers keeps sequence order equal to commit order, which the added_after
# filters and the live stream rely on.
_WRITE_LOCK_KEY = 0x70616374  # "pact"

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@lru_cache(maxsize=512)
def _placeholders(text: str) -> str:
    return text.replace("?", "%s")


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(f"database constraint violated: {exc}") from exc
    except psycopg.Error as exc:
        raise StorageError(f"database error: {exc}") from exc


def split_schema(url: str) -> tuple[str, str | None]:
    """Return the URL without Pacte's ``schema`` query parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    schema = query.pop("schema", [None])[0]
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise StorageError(f"invalid schema name {schema!r}")
    rebuilt = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    return rebuilt, schema


class PostgresStore(HubKeysSQL, SQLStore):
    """Store on a PostgreSQL database (optionally inside one schema, for isolation)."""

    dialect = "postgresql"
    row_value_seek = True

    def __init__(self, url: str, max_connections: int = 10) -> None:
        conninfo, self.schema = split_schema(url)
        self._stats_lock = threading.Lock()
        self._unanalysed = 0
        self._analysed_rows = 0
        # JIT compilation costs hundreds of ms on the short, selective queries the hub runs.
        options = "-c jit=off"
        if self.schema:
            options += f" -c search_path={self.schema}"
        kwargs: dict[str, Any] = {"autocommit": True, "options": options}
        with _translated():
            if self.schema:
                with psycopg.connect(conninfo, autocommit=True) as conn, conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK_KEY,))
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            self._pool = ConnectionPool(conninfo, min_size=1, max_size=max_connections, kwargs=kwargs, open=True)
            self._pool.wait(timeout=10.0)
        self._migrate()

    def sql(self, text: str) -> str:
        """Return the statement with psycopg's ``%s`` placeholders."""
        return _placeholders(text)

    def executemany(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many rows."""
        if rows:
            with conn.cursor() as cur:  # type: ignore[attr-defined]
                cur.executemany(sql, rows)

    def after_bulk_write(self, rows: int) -> None:
        """Refresh planner statistics once a tenth of the table (at least 1,000 rows) is new.

        The hub's queries are planned from statistics; a server with autovacuum off (or slow to
        catch up after a bulk import) would otherwise plan against an empty table.
        """
        with self._stats_lock:
            self._unanalysed += rows
            if self._unanalysed < max(1_000, self._analysed_rows // 10):
                return
            self._analysed_rows += self._unanalysed
            self._unanalysed = 0
        with _translated(), self._pool.connection() as conn:
            conn.execute("ANALYZE versions, shares, sharers, events, members, collections, obs_keys, sightings")

    def bulk_insert(self, conn: Conn, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many new rows with COPY, PostgreSQL's bulk path."""
        if not rows:
            return
        with conn.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def bulk_insert_new(self, conn: Conn, table: str, columns: Sequence[str],
                        rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows, skipping existing keys: COPY into a staging table, then one INSERT."""
        if len(rows) < 64:
            super().bulk_insert_new(conn, table, columns, rows)
            return
        stage = f"pacte_stage_{table}"
        cols = ", ".join(columns)
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {cols} FROM {table} WITH NO DATA")
        conn.execute(f"TRUNCATE {stage}")
        self.bulk_insert(conn, stage, columns, rows)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING")

    @contextmanager
    def _reading(self) -> Iterator[Conn]:
        with _translated(), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[Conn]:
        with _translated(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK_KEY,))
            yield conn

    def close(self) -> None:
        """Release connections."""
        self._pool.close()

    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (tests only)."""
        if self.schema:
            with self._pool.connection() as conn, conn.transaction():
                # the writers' lock keeps this DDL from deadlocking with migrations of other schemas
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK_KEY,))
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
