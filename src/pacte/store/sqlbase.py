"""The SQL shared by the SQLite and PostgreSQL backends, written once with ``?`` placeholders."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pacte.policy import CollectionKind, Role, preferred, visible
from pacte.policy.clauses import first_shown, shown_at
from pacte.store.base import (
    Collection,
    ExistingVersion,
    MarkingDef,
    ObjectQuery,
    Org,
    Page,
    StoredObject,
    Token,
    VersionRow,
    WriteTxn,
)
from pacte.store.correlations import CorrelationSQL, index_versions
from pacte.store.drafts import DraftsSQL
from pacte.store.events import (
    COLLECTION_DELETED,
    DEFAULT_TLP_CHANGED,
    MARKING_CHANGED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    OBJECT,
    TOKEN_REVOKED,
    EventLogSQL,
    repeats,
)
from pacte.store.ledger import LedgerSQL
from pacte.store.schema import BACKFILLS, MIGRATIONS
from pacte.store.taxii_status import TaxiiStatusSQL, save_status


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses."""

    def fetchone(self) -> Any:
        """Return the next row."""
        ...

    def fetchall(self) -> list[Any]:
        """Return the remaining rows."""
        ...


class Conn(Protocol):
    """The part of a DB-API connection the store uses."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement."""
        ...


_ORG = "org_id, name, country, identity_id, created"
_TOKEN = "token_id, org_id, role, label, created, revoked"
_COLL = "cid, uuid, kind, name, title, description, owner_org, default_tlp, deleted, created"
_CHUNK = 500


def _org(r: Sequence[Any]) -> Org:
    return Org(int(r[0]), r[1], r[2], r[3], r[4])


def _token(r: Sequence[Any]) -> Token:
    return Token(r[0], int(r[1]), Role(r[2]), r[3], r[4], r[5])


def _coll(r: Sequence[Any]) -> Collection:
    return Collection(int(r[0]), r[1], CollectionKind(r[2]), r[3], r[4], r[5], r[6], int(r[7]), bool(r[8]), r[9])


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def next_added(now: str, last: str | None) -> str:
    """Return the added time of a write transaction's shares: ``now`` in whole microseconds, or ``last`` if later.

    Every share of one write transaction gets this one time, and times never decrease in sid order
    (TAXII's date-added order is the share order; pages cut inside a run of equal times end before
    it, see ``taxii.reads``). Rows are not counted, so a write the reader cannot see never moves the
    time of a share it can see. Residual: if the clock goes backwards (below ``last``, which may be a
    hidden write's), ``last`` is reused, so that share is dated by the earlier write, not by ``now``.
    """
    now = now[:26] + "000Z"  # whole microseconds
    return now if last is None or now > last else last


_NO_NEW_VID = 2**62


class SQLWriteTxn:
    """The write transaction's lookups and inserts, shared by both dialects."""

    def __init__(self, store: SQLStore, conn: Conn) -> None:
        self.store = store
        self.conn = conn
        self.rows_written = 0
        self._first_new_vid = _NO_NEW_VID  # versions from this id on were inserted by this transaction
        self._next_vid: int | None = None
        self._next_sid: int | None = None
        self._added_at: str | None = None  # the one added time of this transaction's shares

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.store.sql(sql), params)

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.store.executemany(self.conn, self.store.sql(sql), rows)

    def existing_versions(self, ids: Sequence[str], producer: int) -> list[ExistingVersion]:
        """Return the stored versions of these object ids in the line of ``producer``."""
        out: list[ExistingVersion] = []
        for part in _chunks(list(set(ids))):  # by id alone: a producer condition steers planners to its index
            out.extend(ExistingVersion(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in self._x(
                f"SELECT vid, id, vkey, sha, producer FROM versions WHERE id IN ({_marks(len(part))})", part
            ).fetchall() if int(r[4]) == producer)
        return out

    def marking_levels(self, ids: Sequence[str], org_id: int) -> list[MarkingDef]:
        """Return the definitions of these markings that ``org_id`` published."""
        out: list[MarkingDef] = []
        for part in _chunks(sorted(set(ids))):
            out.extend(MarkingDef(r[0], int(r[1]), int(r[2]), int(r[3])) for r in self._x(
                "SELECT marking_id, org_id, level, vid FROM markings"
                f" WHERE marking_id IN ({_marks(len(part))}) AND org_id = ?", [*part, org_id]).fetchall())
        return out

    def member_identities(self, identity_ids: Sequence[str]) -> dict[str, int]:
        """Return {identity id: org id} for identities that belong to members."""
        out: dict[str, int] = {}
        for part in _chunks(list(set(identity_ids))):
            for ident, org in self._x(
                f"SELECT identity_id, org_id FROM orgs WHERE identity_id IN ({_marks(len(part))})", part
            ).fetchall():
                out[ident] = int(org)
        return out

    def _added(self, now: str) -> str:
        if self._added_at is None:
            row = self._x("SELECT added FROM shares ORDER BY sid DESC LIMIT 1").fetchone()
            self._added_at = next_added(now, row[0] if row else None)
        return self._added_at

    def insert_versions(self, rows: Sequence[VersionRow], added: str) -> list[int]:
        """Insert new versions and return their version ids, in order."""
        if not rows:
            return []
        if self._next_vid is None:
            self._next_vid = int(self._x("SELECT COALESCE(MAX(vid), 0) FROM versions").fetchone()[0]) + 1
        first = self._next_vid
        if self._first_new_vid == _NO_NEW_VID:
            self._first_new_vid = first
        self.rows_written += len(rows)
        vids = list(range(first, first + len(rows)))
        self._next_vid = first + len(rows)
        self.store.bulk_insert(
            self.conn, "versions",
            ("vid", "id", "type", "vkey", "modified", "created", "producer", "created_by_ref", "relayed",
             "tlp", "revoked", "sha", "doc", "added"),
            [(vid, r.id, r.type, r.vkey, r.modified, r.created, r.producer, r.created_by_ref, int(r.relayed),
              r.tlp, int(r.revoked), r.sha, r.doc, added) for vid, r in zip(vids, rows, strict=True)],
        )
        index_versions(self.store, self.conn, vids, [r.keys for r in rows], [r.sighting for r in rows])
        return vids

    def insert_shares(self, shares: Sequence[tuple[int, int, int, str]], now: str) -> list[bool]:
        """Insert (vid, cid, org, type) shares, all with this transaction's added time; True if new."""
        if not shares:
            return []
        present: set[tuple[int, int]] = set()
        vids = list({s[0] for s in shares})
        for part in _chunks(vids):
            for vid, cid in self._x(
                f"SELECT vid, cid FROM shares WHERE vid IN ({_marks(len(part))})", part
            ).fetchall():
                present.add((int(vid), int(cid)))
        if self._next_sid is None:
            self._next_sid = int(self._x("SELECT COALESCE(MAX(sid), 0) FROM shares").fetchone()[0]) + 1
        rows: list[tuple[int, int, int, int, str, str]] = []
        fresh: list[bool] = []
        added = self._added(now)
        for vid, cid, org, otype in shares:
            if (vid, cid) in present:
                fresh.append(False)
                continue
            present.add((vid, cid))
            rows.append((self._next_sid, vid, cid, org, added, otype))
            self._next_sid += 1
            fresh.append(True)
        self.store.bulk_insert(self.conn, "shares", ("sid", "vid", "cid", "org_id", "added", "type"), rows)
        # a version's producer reads it through versions.producer; other sharers need a row
        reshared = list({(vid, org) for vid, _, org, _ in shares if vid < self._first_new_vid})
        if reshared:
            self.store.bulk_insert_new(self.conn, "sharers", ("vid", "org_id"), reshared)
        self.store._event_append(self.conn, [(OBJECT, r[1], r[2], r[3], None) for r in rows],
                                 repeats([(r[1], r[2]) for r in rows], present, self._first_new_vid))
        return fresh

    def record_markings(self, defs: Sequence[MarkingDef]) -> list[int]:
        """Store marking definitions; return the vids of their producers' versions now fully resolved."""
        if not defs:
            return []
        self._many("INSERT INTO markings (marking_id, org_id, level, vid) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   [(d.marking_id, d.org_id, d.level, d.vid) for d in defs])
        touched: set[int] = set()
        for org_id in sorted({d.org_id for d in defs}):
            ids = sorted({d.marking_id for d in defs if d.org_id == org_id})
            for part in _chunks(ids):
                mine = (f"marking_id IN ({_marks(len(part))}) AND EXISTS"
                        " (SELECT 1 FROM versions v WHERE v.vid = unresolved.vid AND v.producer = ?)")
                touched.update(int(r[0]) for r in self._x(
                    f"SELECT vid FROM unresolved WHERE {mine}", [*part, org_id]).fetchall())
                self._x(f"DELETE FROM unresolved WHERE {mine}", [*part, org_id])
        if not touched:
            return []
        still: set[int] = set()
        for part in _chunks(sorted(touched)):
            still.update(int(r[0]) for r in self._x(
                f"SELECT vid FROM unresolved WHERE vid IN ({_marks(len(part))})", part).fetchall())
        return sorted(touched - still)

    def add_unresolved(self, pairs: Sequence[tuple[int, str]]) -> None:
        """Remember (vid, marking id) references that could not be resolved."""
        if pairs:
            self._many("INSERT INTO unresolved (vid, marking_id) VALUES (?, ?) ON CONFLICT DO NOTHING", pairs)

    def version_docs(self, vids: Sequence[int]) -> dict[int, str]:
        """Return the stored JSON of versions."""
        out: dict[int, str] = {}
        for part in _chunks(list(vids)):
            for vid, doc in self._x(
                f"SELECT vid, doc FROM versions WHERE vid IN ({_marks(len(part))})", part).fetchall():
                out[int(vid)] = doc
        return out

    def save_taxii_status(self, status_id: str, org_id: int, created: str, doc: str, purge_before: str) -> None:
        """Store a TAXII status resource in this transaction; purge those created before ``purge_before``."""
        save_status(self.conn, self.store.sql, status_id, org_id, created, doc, purge_before)

    def set_version_tlp(self, updates: Sequence[tuple[int, int | None]]) -> None:
        """Update the explicit TLP level of versions."""
        if updates:
            self._many("UPDATE versions SET tlp = ? WHERE vid = ?", [(t, v) for v, t in updates])
            self.store._event_append(self.conn, [(MARKING_CHANGED, v, None, None, None) for v, _ in updates])


class SQLStore(TaxiiStatusSQL, EventLogSQL, DraftsSQL, CorrelationSQL, LedgerSQL, ABC):
    """The Store implementation over a DB-API connection; backends supply connections."""

    dialect: str = ""
    row_value_seek = False  # page collections with a (cid, sid) row-value range (see _seeks)

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Conn]:
        """Return a connection for reads (autocommit)."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[Conn]:
        """Return a connection inside the one serialised write transaction."""

    @abstractmethod
    def sql(self, text: str) -> str:
        """Return the statement in the backend's placeholder style."""

    @abstractmethod
    def executemany(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many rows."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def after_bulk_write(self, rows: int) -> None:
        """Hook run after a committed write of ``rows`` new versions (backends refresh statistics)."""

    def bulk_insert(self, conn: Conn, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many new rows into a table (backends may use a faster bulk path)."""
        marks = ",".join("?" * len(columns))
        self.executemany(conn, self.sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"), rows)

    def bulk_insert_new(self, conn: Conn, table: str, columns: Sequence[str],
                        rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows into a table, skipping those whose key is already there."""
        marks = ",".join("?" * len(columns))
        self.executemany(conn, self.sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"), rows)

    # schema
    def _migrate(self) -> None:
        with self._writing() as conn:
            conn.execute(self.sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
            row = conn.execute(self.sql("SELECT MAX(version) FROM schema_version")).fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            steps = MIGRATIONS[self.dialect]
            for number, statements in enumerate(steps[current:], start=current + 1):
                for statement in statements:
                    conn.execute(statement)
                if number in BACKFILLS:
                    getattr(self, BACKFILLS[number])(conn)
                conn.execute(self.sql("INSERT INTO schema_version (version) VALUES (?)"), (number,))

    def schema_version(self) -> int:
        """Return the schema version the database is at."""
        return int(self._one("SELECT MAX(version) FROM schema_version")[0])

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._reading() as conn:
            return conn.execute(self.sql(sql), params).fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._reading() as conn:
            return list(conn.execute(self.sql(sql), params).fetchall())

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._writing() as conn:
            return int(conn.execute(self.sql(sql), params).rowcount)

    # members and tokens
    def add_org(self, name: str, country: str | None, identity_id: str, now: str) -> Org:
        """Create a member organisation."""
        with self._writing() as conn:
            row = conn.execute(self.sql(
                f"INSERT INTO orgs (name, country, identity_id, created) VALUES (?,?,?,?) RETURNING {_ORG}"),
                (name, country, identity_id, now)).fetchone()
        return _org(row)

    def list_orgs(self) -> list[Org]:
        """Return all member organisations by name."""
        return [_org(r) for r in self._all(f"SELECT {_ORG} FROM orgs ORDER BY name")]

    def org_by_name(self, name: str) -> Org | None:
        """Return the member with this name."""
        row = self._one(f"SELECT {_ORG} FROM orgs WHERE name = ?", (name,))
        return _org(row) if row else None

    def org_by_id(self, org_id: int) -> Org | None:
        """Return the member with this id."""
        row = self._one(f"SELECT {_ORG} FROM orgs WHERE org_id = ?", (org_id,))
        return _org(row) if row else None

    def add_token(self, token_id: str, org_id: int, role: Role, label: str | None, secret_hash: str,
                  now: str) -> Token:
        """Store a new token (its secret only as a hash)."""
        self._exec("INSERT INTO tokens (token_id, org_id, role, label, secret_hash, created) VALUES (?,?,?,?,?,?)",
                   (token_id, org_id, role.value, label, secret_hash, now))
        return Token(token_id, org_id, role, label, now, None)

    def list_tokens(self, org_id: int | None = None) -> list[Token]:
        """Return tokens, all or one member's."""
        if org_id is None:
            return [_token(r) for r in self._all(f"SELECT {_TOKEN} FROM tokens ORDER BY created, token_id")]
        return [_token(r) for r in self._all(
            f"SELECT {_TOKEN} FROM tokens WHERE org_id = ? ORDER BY created, token_id", (org_id,))]

    def revoke_token(self, token_id: str, now: str, org_id: int | None = None) -> bool:
        """Revoke a token (optionally only if it belongs to org_id); True if it was active."""
        if org_id is None:
            return self._exec_logged("UPDATE tokens SET revoked = ? WHERE token_id = ? AND revoked IS NULL",
                                     (now, token_id), (TOKEN_REVOKED, None, None, None, token_id)) > 0
        return self._exec_logged("UPDATE tokens SET revoked = ? WHERE token_id = ? AND org_id = ? AND revoked IS NULL",
                                 (now, token_id, org_id), (TOKEN_REVOKED, None, None, org_id, token_id)) > 0

    def token_by_hash(self, secret_hash: str) -> tuple[Token, Org] | None:
        """Return the active token with this secret hash and its member."""
        row = self._one(
            "SELECT t.token_id, t.org_id, t.role, t.label, t.created, t.revoked,"
            " o.org_id, o.name, o.country, o.identity_id, o.created"
            " FROM tokens t JOIN orgs o ON o.org_id = t.org_id WHERE t.secret_hash = ? AND t.revoked IS NULL",
            (secret_hash,))
        return (_token(row[:6]), _org(row[6:])) if row else None

    # collections
    def add_collection(self, uuid: str, kind: CollectionKind, name: str, title: str,
                       description: str | None, owner_org: int | None, default_tlp: int,
                       now: str) -> Collection:
        """Create a collection."""
        with self._writing() as conn:
            row = conn.execute(self.sql(
                "INSERT INTO collections (uuid, kind, name, title, description, owner_org, default_tlp, created)"
                f" VALUES (?,?,?,?,?,?,?,?) RETURNING {_COLL}"),
                (uuid, kind.value, name, title, description, owner_org, default_tlp, now)).fetchone()
            coll = _coll(row)
            if owner_org is not None:
                conn.execute(self.sql("INSERT INTO members (cid, org_id) VALUES (?, ?)"), (coll.cid, owner_org))
        return coll

    def list_collections(self) -> list[Collection]:
        """Return every live collection."""
        return [_coll(r) for r in self._all(f"SELECT {_COLL} FROM collections WHERE deleted = 0 ORDER BY cid")]

    def collection_by_name(self, name: str) -> Collection | None:
        """Return the live collection with this name."""
        row = self._one(f"SELECT {_COLL} FROM collections WHERE name = ? AND deleted = 0", (name,))
        return _coll(row) if row else None

    def collection_by_uuid(self, uuid: str) -> Collection | None:
        """Return the live collection with this uuid."""
        row = self._one(f"SELECT {_COLL} FROM collections WHERE uuid = ? AND deleted = 0", (uuid,))
        return _coll(row) if row else None

    def delete_collection(self, cid: int) -> None:
        """Mark a collection deleted: its audience no longer exists."""
        self._exec_logged("UPDATE collections SET deleted = 1 WHERE cid = ?", (cid,),
                          (COLLECTION_DELETED, None, cid, None, None))

    def set_default_tlp(self, cid: int, level: int) -> None:
        """Change the default marking of a collection."""
        self._exec_logged("UPDATE collections SET default_tlp = ? WHERE cid = ?", (level, cid),
                          (DEFAULT_TLP_CHANGED, None, cid, None, None))

    def add_member(self, cid: int, org_id: int) -> bool:
        """Add a member to a collection's audience; True if it was not one."""
        return self._exec_logged("INSERT INTO members (cid, org_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                 (cid, org_id), (MEMBER_ADDED, None, cid, org_id, None)) > 0

    def remove_member(self, cid: int, org_id: int) -> bool:
        """Remove a member from a collection's audience; True if it was one."""
        return self._exec_logged("DELETE FROM members WHERE cid = ? AND org_id = ?", (cid, org_id),
                                 (MEMBER_REMOVED, None, cid, org_id, None)) > 0

    def members_of(self, cid: int) -> list[int]:
        """Return the org ids in a collection's explicit audience."""
        return [int(r[0]) for r in self._all("SELECT org_id FROM members WHERE cid = ? ORDER BY org_id", (cid,))]

    def is_member(self, cid: int, org_id: int) -> bool:
        """Return True if the org belongs to the collection's audience."""
        row = self._one(
            "SELECT 1 FROM collections c WHERE c.cid = ? AND c.deleted = 0 AND (c.kind = 'community'"
            " OR EXISTS (SELECT 1 FROM members m WHERE m.cid = c.cid AND m.org_id = ?))", (cid, org_id))
        return row is not None

    def readable_collections(self, org_id: int) -> list[Collection]:
        """Return the live collections whose audience includes the org."""
        return [_coll(r) for r in self._all(
            f"SELECT {_COLL} FROM collections c WHERE c.deleted = 0 AND (c.kind = 'community'"
            " OR EXISTS (SELECT 1 FROM members m WHERE m.cid = c.cid AND m.org_id = ?)) ORDER BY c.cid",
            (org_id,))]

    # objects
    def write(self) -> AbstractContextManager[WriteTxn]:
        """Open the one write transaction (serialised across threads and processes)."""
        return _TxnContext(self)

    def _where(self, q: ObjectQuery) -> tuple[str, str, list[Any], str, str]:
        """Return (FROM clause, WHERE clause, params, position, added) for a query, policy included.

        In a collection, a version is placed by its share into it; elsewhere by the reader's first share
        that shows it (``policy.clauses.first_shown``): listings walk shares in sid order, id look-ups
        take that share of each version found. No share the reader may not see places or dates anything.
        """
        params: list[Any] = []
        seek = self._seeks(q)
        conds: list[str] = []
        if seek:  # see _seeks: the (cid, sid) index is entered at the cursor and read in order
            source = "versions v JOIN shares sc ON sc.vid = v.vid AND (sc.cid, sc.sid) > (?, ?) AND sc.cid <= ?"
            params.extend((q.collection, q.after_seq, q.collection))
            seq, added, kind = "sc.sid", "sc.added", "sc"
        elif q.collection is not None:
            source = "versions v JOIN shares sc ON sc.vid = v.vid AND sc.cid = ?"
            params.append(q.collection)
            seq, added, kind = "sc.sid", "sc.added", "sc"
        elif q.ids:
            pos = shown_at("v", q.reader)
            params.extend(pos.params)
            seq, added, kind = "x.pos", "sp.added", "v"
        else:
            source = "shares s JOIN versions v ON v.vid = s.vid JOIN collections c ON c.cid = s.cid"
            first = first_shown("s", "c", "v", q.reader)
            conds.append(first.sql)
            params.extend(first.params)
            seq, added, kind = "s.sid", "s.added", "s"
        if kind == "sc":
            seen = visible("v", q.reader)
            conds.append(seen.sql)
            params.extend(seen.params)
        if q.after_seq and not seek and kind != "v":
            conds.append(f"{seq} > ?")
            params.append(q.after_seq)
        if q.ids:  # ids are filed lower-cased (UUID hex is case-insensitive)
            conds.append(f"v.id IN ({_marks(len(q.ids))})")
            params.extend(i.lower() for i in q.ids)
        if q.types:  # the share's copy of the type: (cid, type, sid) and (type, sid) serve the walks
            conds.append(f"{kind}.type IN ({_marks(len(q.types))})")
            params.extend(q.types)
        for cond, value in (("v.producer = ?", q.producer), ("v.vkey >= ?", q.modified_from),
                            ("v.vkey <= ?", q.modified_to), (f"{added} > ?", None if kind == "v" else q.added_after)):
            if value is not None:
                conds.append(cond)
                params.append(value)
        if q.version_keys:
            conds.append(f"v.vkey IN ({_marks(len(q.version_keys))})")
            params.extend(q.version_keys)
        elif q.versions != "all":
            chosen = preferred("v", q.reader, q.versions, q.collection)
            conds.append(chosen.sql)
            params.extend(chosen.params)
        if kind != "v":
            return source, " AND ".join(conds), params, seq, added
        # by id: the few versions of these ids, each at the reader's first share that shows it (none: unreadable)
        source = (f"(SELECT v.vid AS vid, {pos.sql} AS pos FROM versions v WHERE {' AND '.join(conds)}) x"
                  " JOIN versions v ON v.vid = x.vid JOIN shares sp ON sp.sid = x.pos")
        outer = [("x.pos > ?", q.after_seq or None), ("sp.added > ?", q.added_after)]
        params.extend(value for _, value in outer if value is not None)
        return source, " AND ".join(["x.pos IS NOT NULL", *(c for c, value in outer if value is not None)]), params, seq, added

    def _seeks(self, q: ObjectQuery) -> bool:
        """Return True if a collection read walks the (cid, sid) index from a row-value cursor.

        With ``sc.cid = ?`` PostgreSQL's planner may read the whole ``shares`` primary key in
        sid order and filter on cid, expecting the collection's rows to be spread evenly; when
        they sit at the end (a collection filled after others) page 1 reads every other share
        first (measured: 1M shares elsewhere, 24k in the collection, 110 ms instead of 0.1 ms).
        A row-value range on (cid, sid), ordered by (cid, sid), only the composite index can
        serve. Only for plain collection pages: id, type and added-after filters have their
        own indexes.
        """
        return (self.row_value_seek and q.collection is not None and not q.ids and not q.types
                and q.added_after is None and not q.version_keys)

    def query(self, q: ObjectQuery) -> Page:
        """Return one page of the object versions the reader may read."""
        source, where, params, seq, added = self._where(q)
        order = "sc.cid, sc.sid" if self._seeks(q) else seq
        rows = self._all(
            f"SELECT {seq}, v.id, v.type, v.vkey, v.modified, {added}, v.doc, v.producer FROM {source} WHERE {where}"
            f" ORDER BY {order} LIMIT ?", [*params, q.limit + 1])
        more = len(rows) > q.limit
        return Page([StoredObject(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], int(r[7])) for r in rows[:q.limit]],
                    more)

    def count(self, q: ObjectQuery) -> int:
        """Return how many object versions the query matches for its reader."""
        source, where, params, _, _ = self._where(q)
        return int(self._one(f"SELECT COUNT(*) FROM {source} WHERE {where}", params)[0])

    def iter_all(self, q: ObjectQuery, batch: int = 5000) -> Iterator[StoredObject]:
        """Yield every matching version, page by page."""
        q.limit = batch
        while True:
            page = self.query(q)
            yield from page.items
            if not page.more:
                return
            q.after_seq = page.next_seq


class _TxnContext:
    """Context manager that opens the backend's write connection and hands out a WriteTxn."""

    def __init__(self, store: SQLStore) -> None:
        self.store = store
        self._cm: AbstractContextManager[Conn] | None = None

    def __enter__(self) -> WriteTxn:
        self._cm = self.store._writing()
        conn = self._cm.__enter__()
        self._txn = SQLWriteTxn(self.store, conn)
        return self._txn

    @property
    def _rows(self) -> int:
        return self._txn.rows_written

    def __exit__(self, *exc: Any) -> None:
        assert self._cm is not None
        self._cm.__exit__(*exc)
        if exc[0] is None:
            self.store._events_committed()
            self.store.after_bulk_write(self._rows)
