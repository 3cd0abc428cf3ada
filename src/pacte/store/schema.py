"""Schema migrations, one ordered list per dialect; applied on first use of a database."""

from __future__ import annotations

from pacte.store.correlations import migration as _v15_values
from pacte.store.drafts import migration as _v5_drafts
from pacte.store.events import migration as _v3_events
from pacte.store.events import migration_v8 as _v8_stream
from pacte.store.events import migration_v9 as _v9_fence
from pacte.store.events import migration_v13 as _v13_again
from pacte.store.keys import migration as _keys
from pacte.store.ledger import migration as _v16_ledger

_COMMON_INDEXES = [
    "CREATE INDEX ix_tokens_org ON tokens (org_id)",
    "CREATE INDEX ix_members_org ON members (org_id, cid)",
    "CREATE INDEX ix_versions_type ON versions (type, vid)",
    "CREATE INDEX ix_versions_producer ON versions (producer, vid)",
    "CREATE INDEX ix_versions_vkey ON versions (vkey)",
    "CREATE INDEX ix_shares_cid ON shares (cid, sid)",
    "CREATE INDEX ix_unresolved_marking ON unresolved (marking_id)",
]


def _v1(int_pk: str, text: str, seq_pk: str) -> list[str]:
    return [
        f"""CREATE TABLE orgs (
            org_id {int_pk},
            name {text} NOT NULL UNIQUE,
            country {text},
            identity_id {text} NOT NULL UNIQUE,
            created {text} NOT NULL)""",
        f"""CREATE TABLE tokens (
            token_id {text} PRIMARY KEY,
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            role {text} NOT NULL CHECK (role IN ('reader', 'analyst', 'admin')),
            label {text},
            secret_hash {text} NOT NULL UNIQUE,
            created {text} NOT NULL,
            revoked {text})""",
        f"""CREATE TABLE collections (
            cid {int_pk},
            uuid {text} NOT NULL UNIQUE,
            kind {text} NOT NULL CHECK (kind IN ('community', 'group', 'private')),
            name {text} NOT NULL,
            title {text} NOT NULL,
            description {text},
            owner_org INTEGER REFERENCES orgs (org_id),
            default_tlp INTEGER NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            created {text} NOT NULL)""",
        "CREATE UNIQUE INDEX ux_collections_live_name ON collections (name) WHERE deleted = 0",
        """CREATE TABLE members (
            cid INTEGER NOT NULL REFERENCES collections (cid),
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            PRIMARY KEY (cid, org_id))""",
        f"""CREATE TABLE objects (
            id {text} PRIMARY KEY,
            owner_org INTEGER REFERENCES orgs (org_id))""",
        f"""CREATE TABLE versions (
            vid {seq_pk},
            id {text} NOT NULL,
            type {text} NOT NULL,
            vkey {text} NOT NULL,
            modified {text},
            created {text},
            producer INTEGER NOT NULL REFERENCES orgs (org_id),
            created_by_ref {text},
            relayed INTEGER NOT NULL,
            tlp INTEGER,
            revoked INTEGER NOT NULL,
            sha {text} NOT NULL,
            doc {text} NOT NULL,
            added {text} NOT NULL,
            UNIQUE (id, vkey, sha))""",
        f"""CREATE TABLE shares (
            sid {seq_pk},
            vid BIGINT NOT NULL REFERENCES versions (vid),
            cid INTEGER NOT NULL REFERENCES collections (cid),
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            added {text} NOT NULL,
            UNIQUE (vid, cid))""",
        f"""CREATE TABLE marking_levels (
            marking_id {text} PRIMARY KEY,
            level INTEGER NOT NULL)""",
        f"""CREATE TABLE unresolved (
            vid BIGINT NOT NULL REFERENCES versions (vid),
            marking_id {text} NOT NULL,
            PRIMARY KEY (vid, marking_id))""",
        *_COMMON_INDEXES,
    ]


def _v2_taxii(dialect: str) -> list[str]:
    """TAXII 2.1: status resources, an index for object-id lookups, and (SQLite) planner hints.

    Without statistics SQLite assumes every index equality matches ~10 rows, so for
    ``match[id]`` in a collection it walks ``ix_shares_cid`` in added order (the whole
    collection) instead of looking the id up. The hand-written ``sqlite_stat1`` rows below
    (SQLite's documented way to steer the planner) state the real shape: a collection holds
    many shares, an id few versions, a type many. A later ``ANALYZE`` replaces them with
    measured figures.
    """
    out = [
        """CREATE TABLE taxii_status (
            status_id TEXT PRIMARY KEY,
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            created TEXT NOT NULL,
            doc TEXT NOT NULL)""",
        "CREATE INDEX ix_taxii_status_created ON taxii_status (created)",
        "CREATE INDEX ix_versions_id ON versions (id, vkey)",
    ]
    if dialect == "sqlite":
        out.append("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing
        for tbl, idx, stat in (("shares", "ix_shares_cid", "1000000 100000 1"),
                               ("versions", "ix_versions_id", "1000000 2 1"),
                               ("versions", "ix_versions_type", "1000000 20000 1")):
            out.append(f"INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT '{tbl}', '{idx}', '{stat}'"
                       f" WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = '{tbl}' AND idx = '{idx}')")
    return out


def _v4_sharers() -> list[str]:
    """Every member that shared a version, even into a collection where it was already shared.

    ``shares`` keeps one row per (version, collection), the first sharer's; the rule "a member
    always reads what it shared" needs every sharer.
    """
    return [
        """CREATE TABLE sharers (
            vid BIGINT NOT NULL REFERENCES versions (vid),
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            PRIMARY KEY (vid, org_id))""",
        "INSERT INTO sharers (vid, org_id) SELECT DISTINCT vid, org_id FROM shares",
    ]


def _v6_share_types(dialect: str) -> list[str]:
    """The object type on each share, so that "objects of a type in a collection" is one index range.

    Without it the planner has to choose between every object of the type in the whole hub and every
    object in the collection; at a million objects that cost 30x (bench/README.md, TAXII section).
    """
    out = [
        "ALTER TABLE shares ADD COLUMN type TEXT",
        "UPDATE shares SET type = (SELECT v.type FROM versions v WHERE v.vid = shares.vid)",
        "CREATE INDEX ix_shares_cid_type ON shares (cid, type, sid)",
    ]
    if dialect == "sqlite":
        out.append("INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT 'shares', 'ix_shares_cid_type', '1000000 100000 2000 1'"
                   " WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'shares' AND idx = 'ix_shares_cid_type')")
    return out


def _v7_one_id_index(dialect: str) -> list[str]:
    """Drop ``ix_versions_id``: the unique (id, vkey, sha) index already serves id lookups.

    One index fewer to maintain on every insert; SQLite gets the seeded shape for the unique
    index instead (see migration 2).
    """
    out = ["DROP INDEX ix_versions_id"]
    if dialect == "sqlite":
        out += ["DELETE FROM sqlite_stat1 WHERE idx = 'ix_versions_id'",
                # the unique (id, vkey, sha) index: the only automatic index of versions
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT 'versions', name, '1000000 2 1 1'"
                " FROM sqlite_master WHERE type = 'index' AND tbl_name = 'versions' AND sql IS NULL"
                " AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE tbl = 'versions')"]
    return out


_VERSION_COLUMNS = "vid, id, type, vkey, modified, created, producer, created_by_ref, relayed, tlp, revoked, sha, doc, added"


def _v10_lines(dialect: str) -> list[str]:
    """Ownership lines and per-producer marking definitions.

    * A version is unique per (id, producer, vkey, content): identical content from two members is
      two versions, each with its own audience, so one member's share never widens another's.
      SQLite cannot drop a constraint, so the table is rebuilt (foreign keys deferred while the
      rows are copied back under the same vids).
    * ``objects`` records whether its owner is the creator its ``created_by_ref`` names
      (``by_creator``): a creator's claim beats a first poster's, nothing beats a creator's.
      Objects relayed before (no owner) belong to their first relayer.
    * ``markings`` replaces the hub-wide ``marking_levels``: a definition is kept per producer,
      with the version that defined it (to check who may rely on it).
    """
    if dialect == "sqlite":
        out = [
            f"CREATE TABLE versions_v9 AS SELECT {_VERSION_COLUMNS} FROM versions",
            "PRAGMA defer_foreign_keys = ON",
            "DROP TABLE versions",
            """CREATE TABLE versions (
                vid INTEGER PRIMARY KEY,
                id TEXT NOT NULL,
                type TEXT NOT NULL,
                vkey TEXT NOT NULL,
                modified TEXT,
                created TEXT,
                producer INTEGER NOT NULL REFERENCES orgs (org_id),
                created_by_ref TEXT,
                relayed INTEGER NOT NULL,
                tlp INTEGER,
                revoked INTEGER NOT NULL,
                sha TEXT NOT NULL,
                doc TEXT NOT NULL,
                added TEXT NOT NULL,
                UNIQUE (id, producer, vkey, sha))""",
            f"INSERT INTO versions ({_VERSION_COLUMNS}) SELECT {_VERSION_COLUMNS} FROM versions_v9 ORDER BY vid",
            "DROP TABLE versions_v9",
            "CREATE INDEX ix_versions_type ON versions (type, vid)",
            "CREATE INDEX ix_versions_producer ON versions (producer, vid)",
            "CREATE INDEX ix_versions_vkey ON versions (vkey)",
            "DELETE FROM sqlite_stat1 WHERE tbl = 'versions' AND idx LIKE 'sqlite_autoindex_versions%'",
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT 'versions', name, '1000000 2 2 1 1'"
            " FROM sqlite_master WHERE type = 'index' AND tbl_name = 'versions' AND sql IS NULL",
        ]
    else:
        out = ["ALTER TABLE versions DROP CONSTRAINT versions_id_vkey_sha_key",
               "ALTER TABLE versions ADD CONSTRAINT versions_line_key UNIQUE (id, producer, vkey, sha)"]
    return [
        *out,
        "ALTER TABLE objects ADD COLUMN by_creator INTEGER NOT NULL DEFAULT 0",
        "UPDATE objects SET owner_org = (SELECT v.producer FROM versions v WHERE v.id = objects.id"
        " ORDER BY v.vid LIMIT 1) WHERE owner_org IS NULL",
        "UPDATE objects SET by_creator = 1 WHERE EXISTS (SELECT 1 FROM versions v JOIN orgs o"
        " ON o.identity_id = v.created_by_ref WHERE v.id = objects.id AND o.org_id = objects.owner_org)",
        """CREATE TABLE markings (
            marking_id TEXT NOT NULL,
            org_id INTEGER NOT NULL REFERENCES orgs (org_id),
            level INTEGER NOT NULL,
            vid BIGINT NOT NULL REFERENCES versions (vid),
            PRIMARY KEY (marking_id, org_id))""",
        "INSERT INTO markings (marking_id, org_id, level, vid) SELECT ml.marking_id, v.producer, MAX(ml.level),"
        " MIN(v.vid) FROM marking_levels ml JOIN versions v ON v.id = ml.marking_id GROUP BY ml.marking_id, v.producer",
        "DROP TABLE marking_levels",
    ]


def _v12_share_types(dialect: str) -> list[str]:
    """``(type, sid)`` on shares: a typed native listing walks the shares of its type in sid order.

    The native listing places each version at the reader's first share that shows it (see
    ``policy.clauses.first_shown``), so it pages through shares, not versions; without this index a
    typed listing would either sort every version of the type per page or scan every share.
    """
    out = ["CREATE INDEX ix_shares_type ON shares (type, sid)"]
    if dialect == "sqlite":  # and a member's versions are many: walking shares beats sorting them (migration 2)
        for tbl, idx, stat in (("shares", "ix_shares_type", "1000000 20000 1"),
                               ("versions", "ix_versions_producer", "1000000 100000 1")):
            out.append(f"INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT '{tbl}', '{idx}', '{stat}'"
                       f" WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = '{tbl}' AND idx = '{idx}')")
    return out


def _v14_no_owners() -> list[str]:
    """Drop ``objects``: the owner of an id is no longer stored but chosen per reader.

    A hub-wide owner (first poster, or first member naming itself creator) was decided by posts a
    reader may not see; ``policy.clauses.preferred`` now ranks, for each reader, the versions it
    may read (see ``rank``), so nothing needs recording at write time.
    """
    return ["DROP TABLE objects"]


MIGRATIONS: dict[str, list[list[str]]] = {
    "sqlite": [_v1("INTEGER PRIMARY KEY", "TEXT", "INTEGER PRIMARY KEY"), _v2_taxii("sqlite"), _v3_events("sqlite"),
               _v4_sharers(), _v5_drafts("sqlite"), _v6_share_types("sqlite"),
               _v7_one_id_index("sqlite"), _v8_stream("sqlite"), _v9_fence("sqlite"), _v10_lines("sqlite"),
               _keys("sqlite"), _v12_share_types("sqlite"), _v13_again("sqlite"),
               _v14_no_owners(), _v15_values("sqlite"), _v16_ledger("sqlite")],
    "postgresql": [_v1("INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "TEXT", "BIGINT PRIMARY KEY"), _v2_taxii("postgresql"),
                   _v3_events("postgresql"), _v4_sharers(), _v5_drafts("postgresql"),
                   _v6_share_types("postgresql"), _v7_one_id_index("postgresql"), _v8_stream("postgresql"),
                   _v9_fence("postgresql"), _v10_lines("postgresql"),
                   _keys("postgresql"), _v12_share_types("postgresql"), _v13_again("postgresql"),
                   _v14_no_owners(), _v15_values("postgresql"), _v16_ledger("postgresql")],
}

# Steps that need Python after their statements (values only code can compute): run in the same transaction.
BACKFILLS = {15: "backfill_values"}
