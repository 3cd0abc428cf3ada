#!/usr/bin/env python3
"""Cost of choosing each reader's line when several members hold the same object ids (issue 10).

Three members relay the same ATT&CK objects (marking definitions, then attack patterns, malware,
intrusion sets and tools) into ``community``; a fourth member lists ``versions=last`` in pages of
1,000, over the whole hub and over the collection, best of three. Every id is held in three lines,
so each listed version is ranked against the others (``policy.clauses.rank``).

    .venv/bin/python bench/lines.py [--backends sqlite,postgres] [--objects 3000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.store import open_store
from pacte.store.base import ObjectQuery, Store
from pacte.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT.parent / "shared" / "data" / "attack-enterprise.json"
PG = os.environ.get("PACTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
KINDS = ("attack-pattern", "malware", "intrusion-set", "tool")


def listing(store: Store, reader: int, **filters: Any) -> tuple[int, float]:
    """Page through ``versions=last`` as the reader; return (objects, seconds)."""
    start, count, after = time.perf_counter(), 0, 0
    while True:
        page = store.query(ObjectQuery(reader=reader, versions="last", limit=1000, after_seq=after, **filters))
        count += len(page.items)
        if not page.more:
            return count, time.perf_counter() - start
        after = page.items[-1].seq


def run(backend: str, objects: list[dict[str, Any]]) -> None:
    """Fill one store with three lines per id and print the listing times."""
    tmp = tempfile.mkdtemp()
    url = str(Path(tmp) / "lines.sqlite3") if backend == "sqlite" else f"{PG}?schema=bench_{uuid.uuid4().hex[:10]}"
    store = open_store(url)
    try:
        hub = Hub(store, Settings())
        orgs = [m.add_org(store, hub.ids, hub.clock, f"M{i}", None) for i in range(4)]
        for org in orgs[:3]:
            for k in range(0, len(objects), 1000):
                hub.share_as(org, hub.community, objects[k:k + 1000])
        if isinstance(store, PostgresStore):
            store.after_bulk_write(10**9)  # statistics now, as autovacuum would
        reader = orgs[3].org_id
        for label, filters in (("hub", {}), ("community", {"collection": hub.community.cid})):
            count, seconds = min((listing(store, reader, **filters) for _ in range(3)), key=lambda r: r[1])
            print(f"{backend:9} {label:10} {count:6} objects, 3 lines each: {seconds * 1000:7.0f} ms"
                  f" ({count / seconds:,.0f} obj/s)")
    finally:
        if isinstance(store, PostgresStore):
            store.drop_schema()
        store.close()


def main() -> None:
    """Parse arguments and run each backend."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--objects", type=int, default=3000, help="SDOs taken from the bundle (before the type filter)")
    args = ap.parse_args()
    everything = orjson.loads(BUNDLE.read_bytes())["objects"]
    objects = [o for o in everything if o["type"] == "marking-definition"]
    objects += [o for o in everything if o["type"] in KINDS][:args.objects]
    for backend in args.backends.split(","):
        run(backend, objects)


if __name__ == "__main__":
    main()
