"""The store's part of the TAXII 2.1 server: status resources and removal of a member's shares.

Status resources are written once (POSTs are processed synchronously, so a status is
``complete`` when it is stored) and read back only by the organisation that posted. They are
kept at least :data:`STATUS_RETENTION_DAYS` days: each new status purges the ones older than that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pacte.store.sqlbase import Conn

STATUS_RETENTION_DAYS = 7  # TAXII asks for at least 24 hours


def save_status(conn: Conn, sql: Callable[[str], str], status_id: str, org_id: int, created: str, doc: str,
                purge_before: str) -> None:
    """Store a status resource on an open write connection, purging expired ones."""
    conn.execute(sql("DELETE FROM taxii_status WHERE created < ?"), (purge_before,))
    conn.execute(sql("INSERT INTO taxii_status (status_id, org_id, created, doc) VALUES (?,?,?,?)"),
                 (status_id, org_id, created, doc))


class TaxiiStatusSQL:
    """Mixin of :class:`pacte.store.sqlbase.SQLStore`: TAXII status resources and share removal."""

    if TYPE_CHECKING:
        from pacte.store.sqlbase import Conn

        def _writing(self) -> AbstractContextManager[Conn]:
            """Return the serialised write connection (provided by SQLStore)."""
            ...

        def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
            """Return the first row of a read (provided by SQLStore)."""
            ...

        def sql(self, text: str) -> str:
            """Return the statement in the backend's placeholder style (provided by SQLStore)."""
            ...

        def _events_committed(self, narrowing: bool = False) -> None:
            """Wake the live streams after a commit (provided by EventLogSQL)."""
            ...

    def save_taxii_status(self, status_id: str, org_id: int, created: str, doc: str, purge_before: str) -> None:
        """Store a status resource of ``org_id`` and purge those created before ``purge_before``."""
        with self._writing() as conn:
            save_status(conn, self.sql, status_id, org_id, created, doc, purge_before)

    def taxii_status(self, status_id: str, org_id: int) -> str | None:
        """Return the JSON of a status resource if ``org_id`` posted it, else None."""
        row = self._one("SELECT doc FROM taxii_status WHERE status_id = ? AND org_id = ?", (status_id, org_id))
        return str(row[0]) if row else None

    def remove_shares(self, cid: int, org_id: int, obj_id: str, vkeys: Sequence[str]) -> int:
        """Delete the shares ``org_id`` made of these versions of an object in a collection; return how many."""
        if not vkeys:
            return 0
        marks = ",".join("?" * len(vkeys))
        with self._writing() as conn:
            cur = conn.execute(self.sql(
                "DELETE FROM shares WHERE cid = ? AND org_id = ? AND vid IN"
                f" (SELECT vid FROM versions WHERE id = ? AND vkey IN ({marks}))"),
                (cid, org_id, obj_id, *vkeys))
            removed = int(cur.rowcount)
        if removed:
            self._events_committed(narrowing=True)  # open streams drop what they read before it
        return removed
