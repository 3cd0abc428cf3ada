"""Migrations 10 to the last on a hub of the previous schema: same rows and vids, lines, per-producer markings.

Migration 14 drops the recorded owners (``objects``): each reader's line is chosen at read time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pacte.store.base import ObjectQuery, Store, VersionRow
from pacte.store.postgres import PostgresStore
from pacte.store.schema import MIGRATIONS
from store.legacy import legacy_store

A, B = 1, 2
X = "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"  # Alpha's, re-shared by Bravo into the group
Y = "attack-pattern--7e33a43e-e34b-40ec-89da-36c9bb2cacd5"  # relayed by Alpha (no owner before)
M = "marking-definition--3a8f3c8e-1b5e-4f6c-9d3e-2a1b0c9d8e7f"  # Bravo's statement
T = "2025-01-01T00:00:00.000Z"
K = "2025-01-01T00:00:00.000000000Z"
LEGACY = [
    f"INSERT INTO orgs (org_id, name, identity_id, created) VALUES ({A}, 'Alpha', 'identity--a', '{T}'),"
    f" ({B}, 'Bravo', 'identity--b', '{T}')",
    f"INSERT INTO collections (cid, uuid, kind, name, title, default_tlp, created) VALUES"
    f" (1, 'u1', 'community', 'community', 'Community', 1, '{T}'), (2, 'u2', 'group', 'AB', 'AB', 2, '{T}')",
    f"INSERT INTO members (cid, org_id) VALUES (2, {A}), (2, {B})",
    "INSERT INTO versions (vid, id, type, vkey, modified, created, producer, created_by_ref, relayed, tlp, revoked,"
    " sha, doc, added) VALUES"
    f" (1, '{X}', 'malware', '{K}', '{K}', '{K}', {A}, NULL, 0, NULL, 0, 'sx', '{{\"name\":\"x\"}}', '{T}'),"
    f" (2, '{Y}', 'attack-pattern', '{K}', '{K}', '{K}', {A}, 'identity--mitre', 1, NULL, 0, 'sy',"
    f" '{{\"name\":\"y\"}}', '{T}'),"
    f" (3, '{M}', 'marking-definition', '{K}', NULL, '{K}', {B}, NULL, 0, NULL, 0, 'sm', '{{\"name\":\"m\"}}', '{T}')",
    f"INSERT INTO shares (sid, vid, cid, org_id, added, type) VALUES (1, 1, 2, {A}, '{T}', 'malware'),"
    f" (2, 2, 1, {A}, '{T}', 'attack-pattern'), (3, 3, 1, {B}, '{T}', 'marking-definition')",
    f"INSERT INTO sharers (vid, org_id) VALUES (1, {B})",
    f"INSERT INTO objects (id, owner_org) VALUES ('{X}', {A}), ('{Y}', NULL), ('{M}', {B})",
    f"INSERT INTO marking_levels (marking_id, level) VALUES ('{M}', -1)",
]


def _old_schema(execute: Any, dialect: str) -> None:
    execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, statements in enumerate(MIGRATIONS[dialect][:9], start=1):
        for statement in statements:
            execute(statement)
        execute(f"INSERT INTO schema_version (version) VALUES ({number})")
    for statement in LEGACY:
        execute(statement)


def _legacy_store(backend: str, tmp_path: Path) -> Store:
    return legacy_store(backend, tmp_path, _old_schema)


def test_migration_keeps_rows_lines_and_markings(backend: str, tmp_path: Path) -> None:
    store = _legacy_store(backend, tmp_path)
    try:
        assert store.schema_version() == len(MIGRATIONS[store.dialect])
        everything = store.query(ObjectQuery(reader=A, versions="all")).items
        assert sorted((i.seq, i.id) for i in everything) == [(1, X), (2, Y), (3, M)]
        assert [i.id for i in store.query(ObjectQuery(reader=B, ids=[X])).items] == [X]  # legacy sharer reads it
        assert [i.id for i in store.query(ObjectQuery(reader=B, ids=[Y])).items] == [Y]  # the relay line
        with store.write() as tx:
            assert tx.marking_levels([M], A) == []  # a definition governs its producer's objects only
            defs = tx.marking_levels([M], B)
            assert [(d.marking_id, d.org_id, d.level, d.vid) for d in defs] == [(M, B, -1, 3)]
            assert [e.vid for e in tx.existing_versions([X], B)] == []  # Bravo's re-share is no version of its own
            # the same content as Bravo's own version is now a row of its own (the new unique key)
            (vid,) = tx.insert_versions([VersionRow(X, "malware", K, K, K, B, None, False, None, False, "sx",
                                                    '{"name":"x"}')], T)
        assert vid == 4
    finally:
        if isinstance(store, PostgresStore):
            store.drop_schema()
        store.close()
