"""Migration 15 on a hub that already holds observables, indicators and sightings: they are indexed as new ones are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from pacte.store.base import Store
from pacte.store.postgres import PostgresStore
from pacte.store.schema import MIGRATIONS
from store.legacy import legacy_store

T = "2025-01-01T00:00:00.000Z"
K = "2025-01-01T00:00:00.000000000Z"
IP = "ipv4-addr--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"
IND = "indicator--7e33a43e-e34b-40ec-89da-36c9bb2cacd5"
SIG = "sighting--3a8f3c8e-1b5e-4f6c-9d3e-2a1b0c9d8e7f"
MAL = "malware--1a8f3c8e-1b5e-4f6c-9d3e-2a1b0c9d8e7f"
DOCS = {
    IP: {"type": "ipv4-addr", "spec_version": "2.1", "id": IP, "value": "45.33.10.7"},
    IND: {"type": "indicator", "spec_version": "2.1", "id": IND, "created": T, "modified": T, "valid_from": T,
          "pattern_type": "stix", "pattern": "[ipv4-addr:value ISSUBSET '45.33.10.0/24'] AND [url:value = 'http://evil.biz/x']"},
    SIG: {"type": "sighting", "spec_version": "2.1", "id": SIG, "created": T, "modified": T, "sighting_of_ref": IND,
          "count": 4},
    MAL: {"type": "malware", "spec_version": "2.1", "id": MAL, "created": T, "modified": T, "name": "x",
          "is_family": False},
}


def _old_schema(execute: Any, dialect: str) -> None:
    execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, statements in enumerate(MIGRATIONS[dialect][:14], start=1):
        for statement in statements:
            execute(statement)
        execute(f"INSERT INTO schema_version (version) VALUES ({number})")
    execute(f"INSERT INTO orgs (org_id, name, identity_id, created) VALUES (1, 'Alpha', 'identity--a', '{T}')")
    execute("INSERT INTO collections (cid, uuid, kind, name, title, owner_org, default_tlp, created) VALUES"
            f" (1, 'u1', 'private', 'private:Alpha', 'Alpha', 1, 2, '{T}')")
    execute("INSERT INTO members (cid, org_id) VALUES (1, 1)")
    for vid, (oid, doc) in enumerate(DOCS.items(), start=1):
        text = orjson.dumps(doc).decode().replace("'", "''")
        vkey = "" if doc["type"] == "ipv4-addr" else K
        execute("INSERT INTO versions (vid, id, type, vkey, modified, created, producer, created_by_ref, relayed, tlp,"
                f" revoked, sha, doc, added) VALUES ({vid}, '{oid}', '{doc['type']}', '{vkey}', NULL, NULL, 1, NULL, 0,"
                f" NULL, 0, 's{vid}', '{text}', '{T}')")
        execute(f"INSERT INTO shares (sid, vid, cid, org_id, added, type) VALUES ({vid}, {vid}, 1, 1, '{T}',"
                f" '{doc['type']}')")


def _legacy_store(backend: str, tmp_path: Path) -> Store:
    return legacy_store(backend, tmp_path, _old_schema)


def test_migration_indexes_what_the_hub_already_holds(backend: str, tmp_path: Path) -> None:
    store = _legacy_store(backend, tmp_path)
    try:
        assert store.schema_version() == len(MIGRATIONS[store.dialect])
        # the address is found by its own value and by the network the indicator names
        assert [(m.key, m.id) for m in store.probe(1, "ip4:2d210a07", None, 10)] == [("ip4:2d210a07", IP)]
        assert [m.id for m in store.probe(1, "net4:2d210a00/24", None, 10)] == [IND]
        assert [m.id for m in store.probe(1, "url:http://evil.biz/x", None, 10)] == [IND]
        assert store.probe(2, "ip4:2d210a07", None, 10) == []  # Alpha's private collection: nobody else reads it
        (seen,) = store.sightings_of(1, [IND])
        assert (seen.sighting_id, seen.kind, seen.n, seen.anonymous) == (SIG, "seen", 4, False)
        assert store.present(1, ["ip4:2d210a07", "ip4:2d210a08", "dom:biz.evil"]) == ["ip4:2d210a07"]
    finally:
        if isinstance(store, PostgresStore):
            store.drop_schema()
        store.close()
