"""The store's part of correlation, value search and sightings: the value index and its policy-bound reads.

Each version of an observable, an indicator or a sighting is indexed at write time, in the write
transaction: ``obs_keys`` holds one row per correlation key the version holds (``pacte.stix.values``),
``sightings`` one row per sighting version (what it sighted, seen or false positive, how often). No
pair of objects is ever stored: a correlation is found at read time by probing the index with the keys
of one object, so the index grows with the number of values, not with the number of matches (MISP's
correlation table grows with their product). Every read embeds ``policy.visible`` in its SQL: a
version the reader may not read is never a match, never counted and never a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from pacte.policy import visible
from pacte.policy.clauses import shows
from pacte.stix.extension import sighting_facts
from pacte.stix.values import keys_of

if TYPE_CHECKING:
    from pacte.store.sqlbase import Conn

_CHUNK = 500
_ROWS_PER_PAIR = 4  # versions read per (key, object) pair a probe may return
# The types whose versions the index holds (the others have no correlation key and sight nothing).
INDEXED_TYPES = ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "artifact",
                 "x509-certificate", "indicator", "sighting")


def migration(dialect: str) -> list[str]:
    """Migration 15: the value index, sighting facts and members' default grading.

    On PostgreSQL the key column sorts by bytes (``COLLATE "C"``): probes scan key ranges (every
    subdomain of a domain, every address of a network), which a linguistic collation would reorder.
    """
    key = 'TEXT COLLATE "C"' if dialect == "postgresql" else "TEXT"
    rowid = " WITHOUT ROWID" if dialect == "sqlite" else ""
    return [
        f"CREATE TABLE obs_keys (k {key} NOT NULL, vid BIGINT NOT NULL, PRIMARY KEY (k, vid)){rowid}",
        """CREATE TABLE sightings (
            vid BIGINT PRIMARY KEY,
            target TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('seen', 'false-positive')),
            n BIGINT NOT NULL,
            anonymous INTEGER NOT NULL,
            last_seen TEXT)""",
        "CREATE INDEX ix_sightings_target ON sightings (target, vid)",
        """CREATE TABLE org_grading (
            org_id INTEGER PRIMARY KEY REFERENCES orgs (org_id),
            reliability TEXT NOT NULL,
            credibility INTEGER NOT NULL,
            handling TEXT)""",
    ]


@dataclass(frozen=True, slots=True)
class SightingRow:
    """What one sighting version says, as the write path indexes it."""

    target: str
    kind: str  # "seen" | "false-positive"
    n: int
    anonymous: bool
    last_seen: str | None


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """One readable object holding a key a probe matched."""

    key: str
    id: str
    type: str


@dataclass(frozen=True, slots=True)
class LineActivity:
    """One readable line of an object: its producer and when the reader was shown its shares."""

    id: str
    producer: int
    first: str
    last: str


@dataclass(frozen=True, slots=True)
class SightingSeen:
    """One sighting version as a reader counts it (anonymous: reaches the reader as the sighted line's producer)."""

    target: str
    sighting_id: str
    producer: int
    vkey: str
    kind: str
    n: int
    last_seen: str | None
    added: str
    anonymous: bool


def index_versions(store: Any, conn: Conn, vids: Sequence[int], keys: Sequence[Sequence[str]],
                   sightings: Sequence[SightingRow | None]) -> None:
    """Index new versions (their correlation keys and sighting facts) on an open write connection."""
    key_rows = [(k, vid) for vid, ks in zip(vids, keys, strict=True) for k in ks]
    if key_rows:
        store.bulk_insert(conn, "obs_keys", ("k", "vid"), key_rows)
    sight_rows = [(vid, s.target, s.kind, s.n, int(s.anonymous), s.last_seen)
                  for vid, s in zip(vids, sightings, strict=True) if s is not None]
    if sight_rows:
        store.bulk_insert(conn, "sightings", ("vid", "target", "kind", "n", "anonymous", "last_seen"), sight_rows)


class CorrelationSQL:
    """Mixin of :class:`pacte.store.sqlbase.SQLStore`: value probes, line activity, sightings, default grading."""

    if TYPE_CHECKING:
        def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
            """Return every row of a read (provided by SQLStore)."""
            ...

        def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
            """Return the first row of a read (provided by SQLStore)."""
            ...

        def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
            """Run one write statement (provided by SQLStore)."""
            ...

        def _writing(self) -> AbstractContextManager[Conn]:
            """Return the serialised write connection (provided by SQLStore)."""
            ...

        def sql(self, text: str) -> str:
            """Return the statement in the backend's placeholder style (provided by SQLStore)."""
            ...

    def probe(self, reader: int, key: str, upper: str | None, limit: int, exclude_id: str | None = None,
              types: Sequence[str] = (), producer: int | None = None, collection: int | None = None,
              seen_after: str | None = None, seen_before: str | None = None) -> list[KeyMatch]:
        """Return up to ``limit`` distinct (key, object) pairs the reader may read for one probe.

        At most ``4 * limit`` readable versions are read: a probe whose first versions hold fewer than
        ``limit`` objects (one object in many versions) may return fewer pairs than it has.

        ``upper`` None: the key exactly; else every key in ``[key, upper)``. The filters narrow the
        versions that may match: their type, producer, a collection whose share shows them to the
        reader, a share shown to the reader at or after ``seen_after`` (or before ``seen_before``).
        """
        where, params = _matching(reader, exclude_id, types, producer, collection, seen_after, seen_before)
        # no DISTINCT in SQL: PostgreSQL sorts every matching row for it before the LIMIT (163 ms for a value
        # held 30,000 times); rows are read in index order (the ORDER BY keeps PostgreSQL on the key index for
        # a range it misestimates, instead of hashing every version) until enough distinct pairs are in hand
        rows = self._all(
            "SELECT x.k, v.id, v.type FROM obs_keys x JOIN versions v ON v.vid = x.vid WHERE "
            + ("x.k = ?" if upper is None else "x.k >= ? AND x.k < ?") + f" AND {where} ORDER BY x.k, x.vid LIMIT ?",
            [key, *([] if upper is None else [upper]), *params, _ROWS_PER_PAIR * limit])
        pairs = dict.fromkeys((str(r[0]), str(r[1]), str(r[2])) for r in rows)
        return [KeyMatch(k, i, t) for k, i, t in list(pairs)[:limit]]

    def present(self, reader: int, keys: Sequence[str], exclude_id: str | None = None, types: Sequence[str] = (),
                producer: int | None = None, collection: int | None = None, seen_after: str | None = None,
                seen_before: str | None = None) -> list[str]:
        """Return which of these keys some version the reader may read holds (under the same filters as probe).

        One look-up per key that stops at its first readable row, so a key held by a million versions
        costs what a rare one does.
        """
        where, params = _matching(reader, exclude_id, types, producer, collection, seen_after, seen_before)
        if getattr(self, "dialect", "") == "postgresql":  # one array and one sub-plan: planning 26 look-ups took 10 ms
            return [str(r[0]) for r in self._all(
                "SELECT q.k FROM unnest(?::text[]) AS q(k) WHERE EXISTS (SELECT 1 FROM obs_keys x JOIN versions v"
                f" ON v.vid = x.vid WHERE x.k = q.k AND {where})", [list(keys), *params])]
        one = ("SELECT * FROM (SELECT x.k FROM obs_keys x JOIN versions v ON v.vid = x.vid WHERE x.k = ?"
               f" AND {where} LIMIT 1) p{{n}}")
        out: list[str] = []
        for i in range(0, len(keys), 100):
            part = keys[i:i + 100]
            sql = " UNION ALL ".join(one.format(n=n) for n in range(len(part)))
            out.extend(str(r[0]) for r in self._all(sql, [x for k in part for x in (k, *params)]))
        return out

    def line_activity(self, reader: int, ids: Sequence[str]) -> list[LineActivity]:
        """Return, per object id and readable line, the first and last time a share showed it to the reader."""
        out: list[LineActivity] = []
        for part in _parts(ids):
            shown = shows("s", "c", "v", reader)
            out.extend(LineActivity(r[0], int(r[1]), r[2], r[3]) for r in self._all(
                "SELECT v.id, v.producer, MIN(s.added), MAX(s.added) FROM versions v JOIN shares s ON s.vid = v.vid"
                f" JOIN collections c ON c.cid = s.cid WHERE v.id IN ({_marks(len(part))}) AND {shown.sql}"
                " GROUP BY v.id, v.producer", [*part, *shown.params]))
        return out

    def sightings_of(self, reader: int, targets: Sequence[str]) -> list[SightingSeen]:
        """Return the sighting versions of these objects that count for the reader.

        Those it may read, and the anonymous ones it may not read when it produced a readable line of
        the sighted object (the producer learns that, and how often, not by whom: the caller never
        shows their producer).
        """
        out: list[SightingSeen] = []
        for part in _parts(targets):
            seen, mine, seen_t = visible("v", reader), visible("v", reader), visible("t", reader)
            pos = shows("s", "c", "v", reader)
            base = ("SELECT g.target, v.id, v.producer, v.vkey, g.kind, g.n, g.last_seen, {added}, {anon}"
                    " FROM sightings g JOIN versions v ON v.vid = g.vid WHERE g.target IN ({marks}) AND ")
            later = visible("w", reader)
            # a sighting line counts by its latest version the reader may read, whatever that version sights
            readable = base.format(
                added=f"(SELECT MIN(s.added) FROM shares s JOIN collections c ON c.cid = s.cid WHERE s.vid = v.vid"
                      f" AND {pos.sql})", anon="0", marks=_marks(len(part))) + (
                f"{seen.sql} AND NOT EXISTS (SELECT 1 FROM versions w WHERE w.id = v.id AND w.producer = v.producer"
                f" AND w.vkey > v.vkey AND {later.sql})")
            anonymous = base.format(added="v.added", anon="1", marks=_marks(len(part))) + (
                "g.anonymous = 1 AND EXISTS (SELECT 1 FROM shares wv WHERE wv.vid = v.vid)"  # withdrawn: none
                f" AND NOT {mine.sql} AND EXISTS (SELECT 1 FROM versions t WHERE t.id = g.target"
                f" AND t.producer = ? AND {seen_t.sql}) AND NOT EXISTS (SELECT 1 FROM versions w WHERE w.id = v.id"
                " AND w.producer = v.producer AND w.vkey > v.vkey AND EXISTS (SELECT 1 FROM shares ws WHERE"
                " ws.vid = w.vid))")
            rows = self._all(f"{readable} UNION ALL {anonymous}",
                             [*pos.params, *part, *seen.params, *later.params, *part, *mine.params, reader,
                              *seen_t.params])
            out.extend(SightingSeen(r[0], r[1], int(r[2]), r[3], r[4], int(r[5]), r[6], r[7], bool(r[8]))
                       for r in rows)
        return out

    def org_grading(self, org_id: int) -> tuple[str, int, str | None] | None:
        """Return a member's default grading (reliability, credibility, handling), if it set one."""
        row = self._one("SELECT reliability, credibility, handling FROM org_grading WHERE org_id = ?", (org_id,))
        return (str(row[0]), int(row[1]), row[2]) if row else None

    def set_org_grading(self, org_id: int, reliability: str, credibility: int, handling: str | None) -> None:
        """Set a member's default grading, applied to what it shares without grading of its own."""
        with self._writing() as conn:
            conn.execute(self.sql("DELETE FROM org_grading WHERE org_id = ?"), (org_id,))
            conn.execute(self.sql(
                "INSERT INTO org_grading (org_id, reliability, credibility, handling) VALUES (?, ?, ?, ?)"),
                (org_id, reliability, credibility, handling))

    def backfill_values(self, conn: Conn) -> None:
        """Index every stored version of the indexed types (migration 15 on a hub that holds data)."""
        last = 0
        while True:
            rows = conn.execute(self.sql(
                f"SELECT vid, doc FROM versions WHERE vid > ? AND type IN ({_marks(len(INDEXED_TYPES))})"
                " ORDER BY vid LIMIT 2000"), (last, *INDEXED_TYPES)).fetchall()
            if not rows:
                return
            facts = [index_doc(doc) for _, doc in rows]
            index_versions(self, conn, [int(r[0]) for r in rows], [f[0] for f in facts], [f[1] for f in facts])
            last = int(rows[-1][0])


def index_doc(doc: str | bytes) -> tuple[tuple[str, ...], SightingRow | None]:
    """Return the correlation keys and sighting facts of one stored object (empty for other types)."""
    obj = orjson.loads(doc)
    keys = keys_of(obj)
    try:
        facts = sighting_facts(obj)
    except ValueError:  # stored before the extension was checked: it counts as a plain sighting of nothing
        facts = None
    if facts is None:
        return keys, None
    return keys, SightingRow(facts.target, facts.kind, facts.count, facts.anonymous, facts.last_seen)


def _matching(reader: int, exclude_id: str | None, types: Sequence[str], producer: int | None,
              collection: int | None, seen_after: str | None, seen_before: str | None) -> tuple[str, list[Any]]:
    """Return the condition (and its parameters) a version ``v`` meets to match a probe for ``reader``."""
    seen = visible("v", reader)
    conds = [seen.sql]
    params: list[Any] = [*seen.params]
    if exclude_id is not None:
        conds.append("v.id <> ?")
        params.append(exclude_id)
    if types:
        conds.append(f"v.type IN ({_marks(len(types))})")
        params.extend(types)
    if producer is not None:
        conds.append("v.producer = ?")
        params.append(producer)
    if collection is not None or seen_after is not None or seen_before is not None:
        shown = shows("sf", "cf", "v", reader)
        extra = [("sf.cid = ?", collection), ("sf.added >= ?", seen_after), ("sf.added < ?", seen_before)]
        conds.append("EXISTS (SELECT 1 FROM shares sf JOIN collections cf ON cf.cid = sf.cid WHERE sf.vid = v.vid"
                     f" AND {' AND '.join(c for c, value in extra if value is not None)} AND {shown.sql})")
        params.extend(value for _, value in extra if value is not None)
        params.extend(shown.params)
    return " AND ".join(conds), params


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _parts(items: Sequence[str]) -> list[Sequence[str]]:
    ordered = sorted(set(items))
    return [ordered[i:i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]
