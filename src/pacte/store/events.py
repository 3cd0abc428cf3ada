"""The store's part of immediate sharing: the durable event log and webhook registrations.

Every accepted write appends one or more rows to ``events`` inside its own transaction, with
``eid`` strictly increasing in commit order (writers are serialised by both backends). The
log is the source of truth of every push channel: SSE streams and webhooks page it with
:meth:`EventLogSQL.stream_events`, whose SQL embeds :func:`pacte.policy.visible`, so
what a subscriber receives is decided by the policy at delivery time.

Event kinds:

* ``object``: a version was shared into a collection (vid, cid, org = the sharer).
* ``member-added`` / ``member-removed``: an org joined or left a collection's audience.
* ``token-revoked``: a token stopped working (org, token).
* ``collection-deleted``, ``default-tlp-changed`` (cid), ``marking-changed`` (vid) and
  ``share-deleted`` (vid, cid, org; written by a database trigger on ``shares``, so that every
  deletion path is logged in its own transaction): changes that may narrow what members read.

Only ``object`` events (to readers) and membership events (to the org concerned) are ever
delivered; the other kinds exist so that open streams re-check authorisation at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pacte.policy import Clause, share_grants, visible
from pacte.stix.timestamps import format_key

if TYPE_CHECKING:
    from pacte.store.sqlbase import Conn

OBJECT = "object"
MEMBER_ADDED = "member-added"
MEMBER_REMOVED = "member-removed"
TOKEN_REVOKED = "token-revoked"
COLLECTION_DELETED = "collection-deleted"
DEFAULT_TLP_CHANGED = "default-tlp-changed"
MARKING_CHANGED = "marking-changed"
SHARE_DELETED = "share-deleted"  # logged by a trigger: whatever code path deletes a share
DELIVERED_KINDS = (OBJECT, MEMBER_ADDED, MEMBER_REMOVED)

# PostgreSQL: a narrowing change commits holding the advisory lock (FENCE_KEY, hashtext(schema))
# exclusively; a stream broker holds it shared while it checks the log and hands what it read to its
# connections (pacte.stream.broker). One fence per schema: hubs in other schemas never wait on it.
FENCE_KEY = 0x70616366  # "pacf"
FENCE_LOCK = f"({FENCE_KEY}, hashtext(current_schema()))"

# (kind, vid, cid, org_id, token_id)
EventSpec = tuple[str, int | None, int | None, int | None, str | None]

# Whether the write transaction open in this thread logged a narrowing (non-object) event.
_pending = threading.local()


@dataclass(slots=True)
class EventQuery:
    """What a subscriber asks of the log: events in (after, upto] it may read, narrowed by filters."""

    reader: int
    after: int
    upto: int
    limit: int = 1000
    types: Sequence[str] = ()
    producer: int | None = None
    collection: int | None = None
    tlp: Sequence[int] = ()
    labels: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class EventRow:
    """One deliverable event as the log returns it."""

    eid: int
    kind: str
    time: str
    collection_id: str | None
    collection_name: str | None
    object_id: str | None
    type: str | None
    producer: str | None
    tlp: int | None
    doc: str | None
    vid: int | None = None  # the version of an object event (a stream sends each version once)
    again: bool = True  # the version may have had an object event before this one (see migration_v13)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A member's webhook registration."""

    wid: int
    uuid: str
    org_id: int
    token_id: str
    url: str
    secret: str
    filters: str  # JSON object of the stream filters
    cursor: int
    created: str
    disabled: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver an event to a webhook."""

    delivery_id: str
    eid: int
    attempt: int
    time: str
    outcome: str  # delivered | retrying | failed | withdrawn
    http_status: int | None
    error: str | None
    ms: int


# The last event id ever assigned: pruning may empty the table, never rewind the sequence.
_HEAD = "SELECT COALESCE((SELECT MAX(eid) FROM events), (SELECT MAX(pruned_upto) FROM event_horizon), 0)"
_WEBHOOK = "wid, uuid, org_id, token_id, url, secret, filters, cursor, created, disabled"


def _through(x: str, reader: int) -> Clause:
    """SQL: ``reader`` may read version ``v`` through the share that object event ``x`` logged.

    Either the reader made that share, or it still exists in a live collection that grants the
    version to the reader (:func:`pacte.policy.share_grants`) and whose audience had the reader
    already when ``x`` was logged (no ``member-added`` for the reader after it).
    """
    grant = share_grants(f"c{x}", "v", reader)
    return Clause(
        f"({x}.org_id = ? OR EXISTS (SELECT 1 FROM shares s{x} JOIN collections c{x} ON c{x}.cid = s{x}.cid"
        f" WHERE s{x}.vid = {x}.vid AND s{x}.cid = {x}.cid AND {grant.sql}"
        f" AND NOT EXISTS (SELECT 1 FROM events j{x} WHERE j{x}.kind = '{MEMBER_ADDED}' AND j{x}.cid = {x}.cid"
        f" AND j{x}.org_id = ? AND j{x}.eid > {x}.eid)))",
        (reader, *grant.params, reader))


def _first_share(reader: int) -> Clause:
    """SQL: object event ``e`` is the first of its version (still in the log) that ``reader`` could read.

    An object event is delivered once per version: not if an earlier event of the same version was
    readable through its own share.
    """
    earlier = _through("p", reader)
    return Clause(f"NOT EXISTS (SELECT 1 FROM events p WHERE p.vid = e.vid AND p.kind = '{OBJECT}'"
                  f" AND p.eid < e.eid AND {earlier.sql})", earlier.params)


def repeats(shares: Sequence[tuple[int, int]], present: set[tuple[int, int]], first_new_vid: int) -> list[bool]:
    """Return, per new (vid, cid) share, whether its object event may repeat a version (``events.again``).

    ``present`` holds every share of these versions, the new ones included; versions from
    ``first_new_vid`` on were inserted by this transaction. Only the first share of such a version
    is not a repeat; a version that existed before may have had shares since deleted.
    """
    new = set(shares)
    shared = {vid for vid, cid in present if (vid, cid) not in new}
    out: list[bool] = []
    for vid, _ in shares:
        out.append(vid < first_new_vid or vid in shared)
        shared.add(vid)
    return out


def _webhook(r: Sequence[Any]) -> Webhook:
    return Webhook(int(r[0]), r[1], int(r[2]), r[3], r[4], r[5], r[6], int(r[7]), r[8], r[9])


def event_time() -> str:
    """Return the wall-clock time in the store's sortable form (events age in real time)."""
    return format_key(datetime.now(UTC))


def migration(dialect: str) -> list[str]:
    """Return the statements that create the event log and webhook tables."""
    int_pk = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    seq_pk = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "BIGINT PRIMARY KEY"  # SQLite: the rowid itself
    return [
        f"""CREATE TABLE events (
            eid {seq_pk},
            kind TEXT NOT NULL,
            vid BIGINT,
            cid INTEGER,
            org_id INTEGER,
            token_id TEXT,
            time TEXT NOT NULL)""",
        "CREATE INDEX ix_events_time ON events (time)",
        "CREATE TABLE event_horizon (pruned_upto BIGINT NOT NULL)",
        "INSERT INTO event_horizon (pruned_upto) VALUES (0)",
        f"""CREATE TABLE webhooks (
            wid {int_pk},
            uuid TEXT NOT NULL UNIQUE,
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            token_id TEXT NOT NULL REFERENCES tokens (token_id),
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            filters TEXT NOT NULL,
            cursor BIGINT NOT NULL,
            created TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            disabled TEXT,
            lease_owner TEXT,
            lease_until BIGINT NOT NULL DEFAULT 0)""",
        "CREATE INDEX ix_webhooks_org ON webhooks (org_id)",
        f"""CREATE TABLE webhook_deliveries (
            did {int_pk},
            wid INTEGER NOT NULL REFERENCES webhooks (wid),
            delivery_id TEXT NOT NULL,
            eid BIGINT NOT NULL,
            attempt INTEGER NOT NULL,
            time TEXT NOT NULL,
            outcome TEXT NOT NULL,
            http_status INTEGER,
            error TEXT,
            ms INTEGER NOT NULL)""",
        "CREATE INDEX ix_webhook_deliveries ON webhook_deliveries (wid, did)",
        "CREATE INDEX ix_webhook_deliveries_time ON webhook_deliveries (time)",
        *_share_delete_trigger(dialect),
    ]


def _share_deleted_function(lock: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION pacte_log_share_deleted() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            PERFORM pg_advisory_xact_lock{lock};
            INSERT INTO events (eid, kind, vid, cid, org_id, token_id, time)
            VALUES ((SELECT COALESCE((SELECT MAX(eid) FROM events), (SELECT MAX(pruned_upto) FROM event_horizon), 0)
                     + 1), '{SHARE_DELETED}', OLD.vid, OLD.cid, OLD.org_id, NULL,
                    to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '000Z');
            PERFORM pg_notify(CASE WHEN current_schema() = 'public' THEN 'pacte_events'
                              ELSE 'pacte_events_' || current_schema() END, 'narrowing');
            RETURN OLD;
        END
        $body$"""


def migration_v8(dialect: str) -> list[str]:
    """Indexes for "each version once" on the stream; PostgreSQL: share deletions take the fence lock."""
    out = [f"CREATE INDEX ix_events_vid ON events (vid, eid) WHERE kind = '{OBJECT}'",
           f"CREATE INDEX ix_events_joined ON events (cid, org_id, eid) WHERE kind = '{MEMBER_ADDED}'"]
    if dialect == "postgresql":
        out.append(_share_deleted_function(f"({FENCE_KEY})"))
    return out


def migration_v9(dialect: str) -> list[str]:
    """PostgreSQL: share deletions take the fence lock of their own schema (see FENCE_LOCK)."""
    return [_share_deleted_function(FENCE_LOCK)] if dialect == "postgresql" else []


def migration_v13(dialect: str) -> list[str]:
    """``events.again``: 0 on the first object event of a version, so a stream checks only the others.

    A stream or webhook remembers the versions it delivered and drops a later event of one of them
    (after a narrowing change hid the share it came through, the log's first-share rule would let
    it through again); an event with ``again = 0`` cannot repeat anything, so it skips that check.
    Existing rows, and rows written by code that does not know the column, default to 1 (checked).
    """
    return ["ALTER TABLE events ADD COLUMN again INTEGER NOT NULL DEFAULT 1"]


def fence_sql(dialect: str) -> str:
    """Return the one statement of :meth:`EventLogSQL.fence_check` (the head, and any narrowing after ``?``)."""
    marks = "%s" if dialect == "postgresql" else "?"
    return (f"SELECT ({_HEAD[7:]}), EXISTS (SELECT 1 FROM events WHERE eid > {marks} AND kind <> '{OBJECT}')")


def _share_delete_trigger(dialect: str) -> list[str]:
    """Return the trigger that logs every deleted share (writers are serialised, so MAX + 1 is safe)."""
    next_eid = ("(SELECT COALESCE((SELECT MAX(eid) FROM events), (SELECT MAX(pruned_upto) FROM event_horizon), 0)"
                " + 1)")
    if dialect == "sqlite":
        return [f"""CREATE TRIGGER tr_shares_deleted AFTER DELETE ON shares BEGIN
            INSERT INTO events (eid, kind, vid, cid, org_id, token_id, time)
            VALUES ({next_eid}, '{SHARE_DELETED}', OLD.vid, OLD.cid, OLD.org_id, NULL,
                    strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000000Z');
        END"""]
    return [
        f"""CREATE FUNCTION pacte_log_share_deleted() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            INSERT INTO events (eid, kind, vid, cid, org_id, token_id, time)
            VALUES ({next_eid}, '{SHARE_DELETED}', OLD.vid, OLD.cid, OLD.org_id, NULL,
                    to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '000Z');
            PERFORM pg_notify(CASE WHEN current_schema() = 'public' THEN 'pacte_events'
                              ELSE 'pacte_events_' || current_schema() END, 'narrowing');
            RETURN OLD;
        END
        $body$""",
        "CREATE TRIGGER tr_shares_deleted AFTER DELETE ON shares FOR EACH ROW EXECUTE FUNCTION pacte_log_share_deleted()",
    ]


class EventLogSQL:
    """Mixin of :class:`pacte.store.sqlbase.SQLStore`: the event log, its wake-ups and webhooks."""

    dialect: str

    if TYPE_CHECKING:
        def _writing(self) -> AbstractContextManager[Conn]: ...
        def _one(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
        def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...
        def sql(self, text: str) -> str:
            """Return the statement in the backend's placeholder style."""

        def executemany(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
            """Run one statement for many rows."""

        def bulk_insert(self, conn: Conn, table: str, columns: Sequence[str],
                        rows: Sequence[Sequence[Any]]) -> None:
            """Insert many new rows into a table."""

    _listeners_lock = threading.Lock()

    # writing the log (inside the caller's write transaction)
    def _event_append(self, conn: Conn, specs: Sequence[EventSpec], again: Sequence[bool] = ()) -> None:
        """Append events in the open write transaction; eids follow commit order.

        ``again`` (one per spec, else all True) says whether an object event's version may have had an
        object event before; False only for the first share of a version this transaction inserted.
        """
        if not specs:
            return
        first = int(conn.execute(self.sql(_HEAD)).fetchone()[0]) + 1
        now = event_time()
        flags = [int(a) for a in again] if again else [1] * len(specs)
        self.bulk_insert(conn, "events", ("eid", "kind", "vid", "cid", "org_id", "token_id", "time", "again"),
                         [(first + i, *spec, now, flags[i]) for i, spec in enumerate(specs)])
        narrowing = any(spec[0] != OBJECT for spec in specs)
        if narrowing:
            _pending.narrowing = True
        channel = self.event_channel()
        if narrowing and channel is not None:  # wait until no broker is between its check and its sends
            conn.execute(f"SELECT pg_advisory_xact_lock{FENCE_LOCK}")
        if channel is not None:  # PostgreSQL: delivered to every LISTENer when the transaction commits
            conn.execute(self.sql("SELECT pg_notify(?, ?)"), (channel, "narrowing" if narrowing else ""))

    def _exec_logged(self, sql: str, params: Sequence[Any], spec: EventSpec) -> int:
        """Run one write statement and, if it changed rows, log ``spec`` in the same transaction."""
        with self._writing() as conn:
            changed = int(conn.execute(self.sql(sql), params).rowcount)
            if changed > 0:
                self._event_append(conn, [spec])
        if changed > 0:
            self._events_committed()
        return changed

    # in-process wake-ups
    def add_event_listener(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(narrowing)`` in the committing thread after each commit that may have logged events.

        ``narrowing`` is True when the transaction logged a change that may narrow what members
        read (token, membership, marking, collection); the call happens before the write
        returns to its caller, hence before the change is acknowledged to anyone.
        """
        with self._listeners_lock:
            self.__dict__.setdefault("_event_listeners", []).append(callback)

    def remove_event_listener(self, callback: Callable[[bool], None]) -> None:
        """Stop calling a callback registered with :meth:`add_event_listener`."""
        with self._listeners_lock:
            listeners: list[Callable[[bool], None]] = self.__dict__.get("_event_listeners", [])
            if callback in listeners:
                listeners.remove(callback)

    def _events_committed(self, narrowing: bool = False) -> None:
        """Signal the listeners that a write transaction committed (call it after the commit).

        Writes that bypass ``write()`` and ``_exec_logged`` (e.g. a share deletion, logged by the
        trigger) should call ``self._events_committed(narrowing=True)`` once their transaction
        committed, so that open streams drop what they read before the change.
        """
        narrowing = narrowing or bool(getattr(_pending, "narrowing", False))
        _pending.narrowing = False
        listeners: list[Callable[[bool], None]] = list(self.__dict__.get("_event_listeners", ()))
        for callback in listeners:
            callback(narrowing)

    def event_channel(self) -> str | None:
        """Return the PostgreSQL NOTIFY channel of this store's event log (None on SQLite)."""
        if self.dialect != "postgresql":
            return None
        schema = getattr(self, "schema", None)
        return f"pacte_events_{schema}" if schema else "pacte_events"

    # reading the log
    def event_head(self) -> int:
        """Return the id of the last committed event (0 when the log is empty)."""
        return int(self._one(_HEAD)[0])

    def event_horizon(self) -> int:
        """Return the highest event id pruned by retention: resuming before it is impossible."""
        return int(self._one("SELECT MAX(pruned_upto) FROM event_horizon")[0])

    def auth_changed_after(self, eid: int) -> bool:
        """Return True if an event that may narrow what members read committed after ``eid``."""
        return self._one("SELECT 1 FROM events WHERE eid > ? AND kind <> ? LIMIT 1", (eid, OBJECT)) is not None

    def fence_check(self, after: int) -> tuple[int, bool]:
        """Return the head of the log and whether a narrowing event follows ``after``, in one snapshot."""
        row = self._one(fence_sql(self.dialect), (after,))
        return int(row[0]), bool(row[1])

    def active_tokens(self, token_ids: Sequence[str]) -> set[str]:
        """Return which of these tokens are still active (not revoked)."""
        out: set[str] = set()
        ids = sorted(set(token_ids))
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out.update(r[0] for r in self._all(
                f"SELECT token_id FROM tokens WHERE revoked IS NULL AND token_id IN ({','.join('?' * len(part))})",
                part))
        return out

    def _label_clause(self, n: int) -> str:
        marks = ",".join("?" * n)
        if self.dialect == "sqlite":
            return (f"EXISTS (SELECT 1 FROM json_each(v.doc, '$.labels') j WHERE j.value IN ({marks}))")
        return ("EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(v.doc::jsonb -> 'labels')"
                f" = 'array' THEN v.doc::jsonb -> 'labels' ELSE '[]'::jsonb END) j(value) WHERE j.value IN ({marks}))")

    def stream_events(self, q: EventQuery) -> list[EventRow]:
        """Return, in order, the events in (after, upto] that the reader may receive, filters applied.

        Object events need the version to be readable under the sharing policy (evaluated now,
        in this query) and readable through the share the event logged by a reader who was in its
        audience then (a member who joins later is told by ``member-added``, not sent the past);
        a version readable through an earlier share still in the log is not delivered again.
        Membership events go to the organisation concerned only.
        """
        rule = visible("v", q.reader) & _through("e", q.reader) & _first_share(q.reader)
        obj: list[str] = [rule.sql]
        params: list[Any] = [q.after, q.upto, *rule.params]
        if q.types:
            obj.append(f"v.type IN ({','.join('?' * len(q.types))})")
            params.extend(q.types)
        if q.producer is not None:
            obj.append("v.producer = ?")
            params.append(q.producer)
        if q.collection is not None:
            obj.append("e.cid = ?")
            params.append(q.collection)
        if q.tlp:
            obj.append(f"COALESCE(v.tlp, c.default_tlp) IN ({','.join('?' * len(q.tlp))})")
            params.extend(q.tlp)
        if q.labels:
            obj.append(self._label_clause(len(q.labels)))
            params.extend(q.labels)
        member = "e.org_id = ?"
        params.append(q.reader)
        if q.collection is not None:
            member += " AND e.cid = ?"
            params.append(q.collection)
        params.append(q.limit)
        rows = self._all(
            "SELECT e.eid, e.kind, e.time, c.uuid, c.name, v.id, v.type, o.name, COALESCE(v.tlp, c.default_tlp),"
            " v.doc, e.vid, e.again FROM events e"
            " LEFT JOIN collections c ON c.cid = e.cid"
            " LEFT JOIN versions v ON v.vid = e.vid"
            " LEFT JOIN orgs o ON o.org_id = v.producer"
            " WHERE e.eid > ? AND e.eid <= ? AND ("
            f"(e.kind = '{OBJECT}' AND {' AND '.join(obj)})"
            f" OR (e.kind IN ('{MEMBER_ADDED}', '{MEMBER_REMOVED}') AND {member}))"
            " ORDER BY e.eid LIMIT ?", params)
        return [EventRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                         None if r[8] is None else int(r[8]), r[9], None if r[10] is None else int(r[10]),
                         bool(r[11]))
                for r in rows]

    def prune_events(self, before: str) -> int:
        """Delete the events (and webhook delivery logs) older than ``before``; return the new horizon."""
        with self._writing() as conn:
            conn.execute(self.sql("DELETE FROM webhook_deliveries WHERE time < ?"), (before,))
            row = conn.execute(self.sql("SELECT MAX(eid) FROM events WHERE time < ?"), (before,)).fetchone()
            upto = int(row[0]) if row and row[0] is not None else 0
            if upto:
                conn.execute(self.sql("DELETE FROM events WHERE eid <= ?"), (upto,))
                conn.execute(self.sql("UPDATE event_horizon SET pruned_upto = ? WHERE pruned_upto < ?"),
                             (upto, upto))
            return int(conn.execute(self.sql("SELECT MAX(pruned_upto) FROM event_horizon")).fetchone()[0])

    # webhooks
    def add_webhook(self, uuid: str, org_id: int, token_id: str, url: str, secret: str, filters: str,
                    now: str) -> Webhook:
        """Register a webhook that starts after the current head of the log."""
        with self._writing() as conn:
            head = int(conn.execute(self.sql(_HEAD)).fetchone()[0])
            row = conn.execute(self.sql(
                "INSERT INTO webhooks (uuid, org_id, token_id, url, secret, filters, cursor, created)"
                f" VALUES (?,?,?,?,?,?,?,?) RETURNING {_WEBHOOK}"),
                (uuid, org_id, token_id, url, secret, filters, head, now)).fetchone()
        return _webhook(row)

    def webhooks(self, org_id: int | None = None) -> list[Webhook]:
        """Return the live webhooks, all or one member's."""
        if org_id is None:
            return [_webhook(r) for r in self._all(f"SELECT {_WEBHOOK} FROM webhooks WHERE deleted = 0 ORDER BY wid")]
        return [_webhook(r) for r in self._all(
            f"SELECT {_WEBHOOK} FROM webhooks WHERE deleted = 0 AND org_id = ? ORDER BY wid", (org_id,))]

    def webhook(self, wid: int) -> Webhook | None:
        """Return a live webhook by its number."""
        row = self._one(f"SELECT {_WEBHOOK} FROM webhooks WHERE wid = ? AND deleted = 0", (wid,))
        return _webhook(row) if row else None

    def webhook_by_uuid(self, uuid: str, org_id: int) -> Webhook | None:
        """Return a live webhook of this member by its id."""
        row = self._one(f"SELECT {_WEBHOOK} FROM webhooks WHERE uuid = ? AND org_id = ? AND deleted = 0",
                        (uuid, org_id))
        return _webhook(row) if row else None

    def delete_webhook(self, wid: int) -> None:
        """Stop and forget a webhook (its delivery log stays)."""
        with self._writing() as conn:
            conn.execute(self.sql("UPDATE webhooks SET deleted = 1 WHERE wid = ?"), (wid,))

    def disable_webhook(self, wid: int, reason: str) -> None:
        """Stop delivering to a webhook, saying why."""
        with self._writing() as conn:
            conn.execute(self.sql("UPDATE webhooks SET disabled = ? WHERE wid = ?"), (reason, wid))

    def lease_webhook(self, wid: int, owner: str, now_ms: int, until_ms: int) -> bool:
        """Take or renew the right to deliver a webhook (one server process at a time)."""
        with self._writing() as conn:
            changed = conn.execute(self.sql(
                "UPDATE webhooks SET lease_owner = ?, lease_until = ? WHERE wid = ? AND deleted = 0"
                " AND (lease_owner = ? OR lease_owner IS NULL OR lease_until < ?)"),
                (owner, until_ms, wid, owner, now_ms)).rowcount
        return int(changed) > 0

    def advance_webhook(self, wid: int, eid: int, owner: str) -> bool:
        """Record that a webhook is done with events up to ``eid``; False if the lease was lost."""
        with self._writing() as conn:
            changed = conn.execute(self.sql(
                "UPDATE webhooks SET cursor = ? WHERE wid = ? AND lease_owner = ? AND cursor < ?"),
                (eid, wid, owner, eid)).rowcount
        return int(changed) > 0

    def log_delivery(self, wid: int, d: Delivery) -> None:
        """Append one delivery attempt to a webhook's log."""
        with self._writing() as conn:
            conn.execute(self.sql(
                "INSERT INTO webhook_deliveries (wid, delivery_id, eid, attempt, time, outcome, http_status, error, ms)"
                " VALUES (?,?,?,?,?,?,?,?,?)"),
                (wid, d.delivery_id, d.eid, d.attempt, d.time, d.outcome, d.http_status, d.error, d.ms))

    def deliveries(self, wid: int, limit: int = 100) -> list[Delivery]:
        """Return a webhook's latest delivery attempts, newest first."""
        return [Delivery(r[0], int(r[1]), int(r[2]), r[3], r[4], None if r[5] is None else int(r[5]), r[6], int(r[7]))
                for r in self._all(
                    "SELECT delivery_id, eid, attempt, time, outcome, http_status, error, ms FROM webhook_deliveries"
                    " WHERE wid = ? ORDER BY did DESC LIMIT ?", (wid, limit))]
