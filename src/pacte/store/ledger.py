"""The store's part of the reciprocity ledger: recorded reads, opt-ins, and policy-bound activity reads.

Migration 16 adds two tables. ``ledger_reads`` holds counts, one row per (UTC day, reader, channel,
producer): how many objects of that producer the reader was handed on that channel that day
(:mod:`pacte.ledger.record` accumulates them in memory and adds them here with an upsert, so several
server processes add up). ``ledger_opt_in`` holds the members that agreed to show their own figures
to the other members.

Everything else the ledger reports is read from the tables that already exist (``shares``,
``versions``, ``collections``, ``sightings``). Reads of another member's activity embed the policy
clauses in their SQL: a share counts for a reader only if it is the *first* share that shows the
version to that reader (``policy.clauses.first_shown``), a sighting only if the reader may read it
(``visible``), except the anonymous sightings addressed to the producer of the sighted line, which
count but are never attributed (as in :mod:`pacte.correlate.counts`).

Periods are ranges of share times. Share ids never decrease with time (one time per write
transaction, written under the write lock), so a time range is a range of share ids, found by a
binary search of point look-ups on the primary key (about 25 for a million shares) rather than a
scan or an index on ``added`` that every ingest would pay for.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pacte.policy import visible
from pacte.policy.clauses import first_shown
from pacte.store.correlations import INDEXED_TYPES

if TYPE_CHECKING:
    from pacte.store.sqlbase import Conn

CHANNELS = ("api", "taxii", "stream", "webhook", "export")
# A member's registered identity, which the hub publishes for it when it joins, is not a contribution.
_NOT_IDENTITY = "v.id <> (SELECT LOWER(oi.identity_id) FROM orgs oi WHERE oi.org_id = v.producer)"


def migration(dialect: str) -> list[str]:
    """Migration 16: recorded read counts and the members' opt-in to show their figures."""
    rowid = " WITHOUT ROWID" if dialect == "sqlite" else ""
    return [
        f"""CREATE TABLE ledger_reads (
            day TEXT NOT NULL,
            reader INTEGER NOT NULL,
            channel TEXT NOT NULL,
            producer INTEGER NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (day, reader, channel, producer)){rowid}""",
        "CREATE INDEX ix_ledger_reads_producer ON ledger_reads (producer, day)",
        "CREATE INDEX ix_ledger_reads_reader ON ledger_reads (reader, day)",
        """CREATE TABLE ledger_opt_in (
            org_id INTEGER PRIMARY KEY REFERENCES orgs (org_id),
            opt_in INTEGER NOT NULL,
            changed TEXT NOT NULL)""",
    ]


@dataclass(frozen=True, slots=True)
class ReadCount:
    """Objects of ``producer`` handed to ``reader`` on ``channel`` during one UTC day."""

    day: str
    reader: int
    channel: str
    producer: int
    n: int


@dataclass(frozen=True, slots=True)
class ShareCount:
    """Shares dated on one day, of one producer, at one effective TLP level, into one kind of collection."""

    day: str
    producer: int
    tlp: int
    kind: str
    first: bool  # the version's first share (the reader's first shown share, for others' versions)
    n: int


@dataclass(frozen=True, slots=True)
class SightingFact:
    """One sighting version as the ledger counts it (``flag``: see the method that returned it)."""

    day: str
    producer: int  # never shown for anonymous sightings: used to keep the latest version of a line
    id: str
    vkey: str
    kind: str
    n: int
    anonymous: bool
    flag: bool


class LedgerSQL:
    """Mixin of :class:`pacte.store.sqlbase.SQLStore`: recorded reads, opt-ins and activity for the ledger."""

    if TYPE_CHECKING:
        def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
            """Return every row of a read (provided by SQLStore)."""
            ...

        def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
            """Return the first row of a read (provided by SQLStore)."""
            ...

        def _writing(self) -> AbstractContextManager[Conn]:
            """Return the serialised write connection (provided by SQLStore)."""
            ...

        def sql(self, text: str) -> str:
            """Return the statement in the backend's placeholder style (provided by SQLStore)."""
            ...

        def executemany(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
            """Run one statement for many rows (provided by SQLStore)."""
            ...

    # recorded reads and opt-ins
    def add_reads(self, rows: Sequence[tuple[str, int, str, int, int]]) -> None:
        """Add (day, reader, channel, producer, n) counts to the recorded reads, in one transaction."""
        if not rows:
            return
        with self._writing() as conn:
            self.executemany(conn, self.sql(
                "INSERT INTO ledger_reads (day, reader, channel, producer, n) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (day, reader, channel, producer) DO UPDATE SET n = ledger_reads.n + excluded.n"),
                rows)

    def ledger_reads(self, org_id: int, first_day: str, last_day: str) -> list[ReadCount]:
        """Return the recorded reads by ``org_id`` and of ``org_id``'s objects, days in [first_day, last_day]."""
        rows = self._all(
            "SELECT day, reader, channel, producer, n FROM ledger_reads WHERE reader = ? AND day >= ? AND day <= ?"
            " UNION ALL SELECT day, reader, channel, producer, n FROM ledger_reads"
            " WHERE producer = ? AND reader <> ? AND day >= ? AND day <= ?",
            (org_id, first_day, last_day, org_id, org_id, first_day, last_day))
        return [ReadCount(r[0], int(r[1]), r[2], int(r[3]), int(r[4])) for r in rows]

    def set_ledger_opt_in(self, org_id: int, opt_in: bool, now: str) -> None:
        """Record whether a member shows its own figures to the other members."""
        with self._writing() as conn:
            conn.execute(self.sql("DELETE FROM ledger_opt_in WHERE org_id = ?"), (org_id,))
            conn.execute(self.sql("INSERT INTO ledger_opt_in (org_id, opt_in, changed) VALUES (?, ?, ?)"),
                         (org_id, int(opt_in), now))

    def ledger_opt_ins(self) -> set[int]:
        """Return the members that show their own figures to the other members."""
        return {int(r[0]) for r in self._all("SELECT org_id FROM ledger_opt_in WHERE opt_in = 1")}

    # activity, read from the sharing tables
    def _sids(self, since: str, until: str) -> tuple[int, int]:
        """Return the share ids [lo, hi) of the shares dated in [since, until) (see the module docstring)."""
        row = self._one("SELECT MIN(sid), MAX(sid) FROM shares")
        if row is None or row[0] is None:
            return 0, 0
        low, high = int(row[0]), int(row[1]) + 1
        return self._sid_at(since, low, high), self._sid_at(until, low, high)

    def _sid_at(self, key: str, low: int, high: int) -> int:
        """Return the least share id from which every share is dated at or after ``key``."""
        while low < high:
            mid = (low + high) // 2
            row = self._one("SELECT added FROM shares WHERE sid >= ? ORDER BY sid LIMIT 1", (mid,))
            if row is None or row[0] >= key:
                high = mid
            else:
                low = mid + 1
        return low

    def contributions(self, org_id: int, since: str, until: str) -> list[ShareCount]:
        """Return the shares of ``org_id``'s own versions dated in [since, until), grouped (its own figures)."""
        lo, hi = self._sids(since, until)
        rows = self._all(
            "SELECT SUBSTR(s.added, 1, 10), COALESCE(v.tlp, c.default_tlp), c.kind,"
            " CASE WHEN EXISTS (SELECT 1 FROM shares e WHERE e.vid = s.vid AND e.sid < s.sid) THEN 0 ELSE 1 END,"
            " COUNT(*) FROM shares s JOIN versions v ON v.vid = s.vid JOIN collections c ON c.cid = s.cid"
            f" WHERE s.sid >= ? AND s.sid < ? AND v.producer = ? AND {_NOT_IDENTITY} GROUP BY 1, 2, 3, 4",
            (lo, hi, org_id))
        return [ShareCount(r[0], org_id, int(r[1]), r[2], bool(r[3]), int(r[4])) for r in rows]

    def given_sightings(self, org_id: int, since: str, until: str) -> list[SightingFact]:
        """Return ``org_id``'s sighting versions first shared in [since, until).

        ``flag``: the sighted object has a line of another member that ``org_id`` may read (a line it
        may not read never makes a sighting "given back").
        """
        lo, hi = self._sids(since, until)
        seen_t = visible("t", org_id)
        rows = self._all(
            "SELECT SUBSTR(s.added, 1, 10), v.id, v.vkey, g.kind, g.n, g.anonymous,"
            " CASE WHEN EXISTS (SELECT 1 FROM versions t WHERE t.id = g.target AND t.producer <> ?"
            f" AND {seen_t.sql}) THEN 1 ELSE 0 END"
            " FROM shares s JOIN versions v ON v.vid = s.vid JOIN sightings g ON g.vid = v.vid"
            " WHERE s.sid >= ? AND s.sid < ? AND v.producer = ?"
            " AND NOT EXISTS (SELECT 1 FROM shares e WHERE e.vid = s.vid AND e.sid < s.sid)",
            (org_id, *seen_t.params, lo, hi, org_id))
        return [SightingFact(r[0], org_id, r[1], r[2], r[3], int(r[4]), bool(r[5]), bool(r[6])) for r in rows]

    def shown_shares(self, reader: int, since: str, until: str) -> list[ShareCount]:
        """Return other members' versions first shown to ``reader`` in [since, until), grouped.

        Each version counts once, at the first share that shows it to the reader
        (``policy.clauses.first_shown``), with that share's level and kind of collection.
        """
        lo, hi = self._sids(since, until)
        first = first_shown("s", "c", "v", reader)
        rows = self._all(
            "SELECT SUBSTR(s.added, 1, 10), v.producer, COALESCE(v.tlp, c.default_tlp), c.kind, COUNT(*)"
            " FROM shares s JOIN versions v ON v.vid = s.vid JOIN collections c ON c.cid = s.cid"
            f" WHERE s.sid >= ? AND s.sid < ? AND v.producer <> ? AND {_NOT_IDENTITY} AND {first.sql}"
            " GROUP BY 1, 2, 3, 4",
            (lo, hi, reader, *first.params))
        return [ShareCount(r[0], int(r[1]), int(r[2]), r[3], True, int(r[4])) for r in rows]

    def shown_sightings(self, reader: int, since: str, until: str) -> list[SightingFact]:
        """Return other members' sighting versions first shown to ``reader`` in [since, until).

        ``flag``: the sighted object has a line of ``reader`` that it may read (a sighting of its objects).
        """
        lo, hi = self._sids(since, until)
        first, seen_t = first_shown("s", "c", "v", reader), visible("t", reader)
        rows = self._all(
            "SELECT SUBSTR(s.added, 1, 10), v.producer, v.id, v.vkey, g.kind, g.n,"
            " CASE WHEN EXISTS (SELECT 1 FROM versions t WHERE t.id = g.target AND t.producer = ?"
            f" AND {seen_t.sql}) THEN 1 ELSE 0 END"
            " FROM shares s JOIN versions v ON v.vid = s.vid JOIN collections c ON c.cid = s.cid"
            " JOIN sightings g ON g.vid = v.vid"
            f" WHERE s.sid >= ? AND s.sid < ? AND v.producer <> ? AND {first.sql}",
            (reader, *seen_t.params, lo, hi, reader, *first.params))
        return [SightingFact(r[0], int(r[1]), r[2], r[3], r[4], int(r[5]), False, bool(r[6])) for r in rows]

    def shown_values(self, reader: int, since: str, until: str) -> list[tuple[str, int, str, str]]:
        """Return (day, producer, id, doc) of other members' indexed versions first shown to ``reader`` in [since, until).

        The observables and indicators the reader was shown in the period (``policy.clauses.first_shown``);
        the ledger checks which hold a value the reader's own versions hold.
        """
        lo, hi = self._sids(since, until)
        first = first_shown("s", "c", "v", reader)
        rows = self._all(
            "SELECT SUBSTR(s.added, 1, 10), v.producer, v.id, v.doc"
            " FROM shares s JOIN versions v ON v.vid = s.vid JOIN collections c ON c.cid = s.cid"
            f" WHERE s.sid >= ? AND s.sid < ? AND v.producer <> ? AND s.type IN ({','.join('?' * len(INDEXED_TYPES))})"
            f" AND {first.sql}", (lo, hi, reader, *INDEXED_TYPES, *first.params))
        return [(r[0], int(r[1]), r[2], r[3]) for r in rows]

    def anonymous_sightings(self, org_id: int, since: str, until: str) -> list[SightingFact]:
        """Return the anonymous sightings ``org_id`` may not read of its readable lines, written in [since, until).

        The producer of a sighted line learns of them as counts (never by whom); ``flag`` is True.
        """
        seen_t, seen_v = visible("t", org_id), visible("v", org_id)
        rows = self._all(
            "SELECT DISTINCT SUBSTR(v.added, 1, 10), v.producer, v.id, v.vkey, g.kind, g.n"
            " FROM versions t JOIN sightings g ON g.target = t.id JOIN versions v ON v.vid = g.vid"
            " WHERE t.producer = ? AND g.anonymous = 1 AND v.producer <> ? AND v.added >= ? AND v.added < ?"
            f" AND {seen_t.sql} AND NOT {seen_v.sql}",
            (org_id, org_id, since, until, *seen_t.params, *seen_v.params))
        return [SightingFact(r[0], int(r[1]), r[2], r[3], r[4], int(r[5]), True, True) for r in rows]
