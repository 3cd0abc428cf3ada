"""The store's part of opaque positions: the hub's secret keys, one row each, created on first use.

Every ``pacte serve`` process on one database must seal and open the same tokens (see
:mod:`pacte.hub.positions`), so the key lives in the database, not in a process or a setting.
It is created at random the first time a process asks for it; ``ON CONFLICT DO NOTHING`` and a
read-back make two processes that ask at once agree on the first one written. Whoever can read
the database can read the key, as they can read every row the tokens point at.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pacte.store.sqlbase import Conn

POSITIONS_KEY = "positions"


def migration(dialect: str) -> list[str]:
    """Create ``hub_keys`` (name, hex secret, creation time); the keys themselves are made on first use."""
    del dialect  # the same on both backends
    return ["CREATE TABLE hub_keys (name TEXT PRIMARY KEY, secret TEXT NOT NULL, created TEXT NOT NULL)"]


class HubKeysSQL:
    """Mixin of the SQL stores: :meth:`hub_key`."""

    if TYPE_CHECKING:
        def _writing(self) -> AbstractContextManager[Conn]:
            """Return the serialised write connection (provided by SQLStore)."""
            ...

        def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
            """Return the first row of a read (provided by SQLStore)."""
            ...

        def sql(self, text: str) -> str:
            """Return the statement in the backend's placeholder style (provided by SQLStore)."""
            ...

    _hub_keys: dict[str, bytes]

    def hub_key(self, name: str = POSITIONS_KEY) -> bytes:
        """Return the hub's 256-bit secret key ``name``, creating it at random on first use."""
        cache = self.__dict__.setdefault("_hub_keys", {})
        found: bytes | None = cache.get(name)
        if found is not None:
            return found
        row = self._one("SELECT secret FROM hub_keys WHERE name = ?", (name,))
        if row is None:
            with self._writing() as conn:
                conn.execute(self.sql("INSERT INTO hub_keys (name, secret, created) VALUES (?, ?, ?)"
                                      " ON CONFLICT (name) DO NOTHING"),
                             (name, secrets.token_hex(32), datetime.now(UTC).isoformat()))
            row = self._one("SELECT secret FROM hub_keys WHERE name = ?", (name,))
        key = bytes.fromhex(str(row[0]))
        cache[name] = key
        return key
