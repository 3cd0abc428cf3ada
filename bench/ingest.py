#!/usr/bin/env python3
"""Ingest and read-back benchmark of the hub core (issue 2), on SQLite and PostgreSQL.

Imports the MITRE ATT&CK Enterprise bundle (24,771 objects) through ``pacte import`` and through
the native API (bundles of 1,000 over loopback HTTP to a real ``pacte serve``), then reads
everything back as one member through the API (pages of 1,000). Prints objects/s and peak RSS.

    .venv/bin/python bench/ingest.py [--backends sqlite,postgres] [--bundle PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = ROOT.parent / "shared" / "data" / "attack-enterprise.json"
PG = os.environ.get("PACTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PACTE = [sys.executable, "-m", "pacte.cli.main"]
GOALS = {"cli import": 15_000, "api ingest": 10_000, "api read-back": 30_000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pacte(*args: str, db: str) -> str:
    env = {**os.environ, "PACTE_DB": db}
    out = subprocess.run([*PACTE, *args], env=env, check=True, capture_output=True, text=True)
    return out.stdout


def _setup(db: str) -> tuple[str, str]:
    """Create the importing member and a reader member; return their analyst tokens."""
    _pacte("org", "add", "Importer", "--country", "FR", db=db)
    _pacte("org", "add", "Reader", "--country", "DE", db=db)
    writer = _pacte("token", "new", "--org", "Importer", "--role", "analyst", db=db).strip().splitlines()[-1]
    reader = _pacte("token", "new", "--org", "Reader", "--role", "reader", db=db).strip().splitlines()[-1]
    return writer, reader


def bench_cli(db: str, bundle: Path, n: int) -> dict[str, float]:
    """Time ``pacte import`` of the whole bundle in a child process."""
    _setup(db)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    _pacte("import", str(bundle), "--org", "Importer", "--quiet", db=db)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"objects": n, "seconds": wall, "rate": n / wall, "rss_mb": max(rss, before) / 1024}


def bench_api(db: str, bundle: Path, objects: list[bytes]) -> dict[str, float]:
    """Post bundles of 1,000 to a real server, then page everything back as another member."""
    writer, reader = _setup(db)
    port = _free_port()
    env = {**os.environ, "PACTE_DB": db}
    server = subprocess.Popen([*PACTE, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(200):
                try:
                    client.get("/api/v1/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            bodies = [b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":['
                      + b",".join(objects[i:i + 1000]) + b"]}" for i in range(0, len(objects), 1000)]
            head = {"Authorization": f"Bearer {writer}", "Content-Type": "application/json"}
            t0 = time.perf_counter()
            stored = 0
            for body in bodies:
                r = client.post("/api/v1/collections/community/objects", content=body, headers=head)
                r.raise_for_status()
                stored += orjson.loads(r.content)["success_count"]
            ingest = time.perf_counter() - t0
            t0 = time.perf_counter()
            got, cursor = 0, None
            while True:
                params: dict[str, str | int] = {"limit": 1000}
                if cursor:
                    params["cursor"] = cursor
                r = client.get("/api/v1/objects", params=params, headers={"Authorization": f"Bearer {reader}"})
                r.raise_for_status()
                page = orjson.loads(r.content)
                got += len(page["objects"])
                if not page["more"]:
                    break
                cursor = page["next"]
            read = time.perf_counter() - t0
        rss = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    return {"stored": stored, "ingest_rate": stored / ingest, "read": got, "read_rate": got / read,
            "server_rss_mb": rss}


def _db_for(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return str(tmp / f"bench-{uuid.uuid4().hex[:8]}.sqlite3")
    return f"{PG}?schema=bench_{uuid.uuid4().hex[:12]}"


def _drop(db: str) -> None:
    if db.startswith("postgresql"):
        from pacte.store.postgres import PostgresStore

        store = PostgresStore(db)
        store.drop_schema()
        store.close()


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    args = ap.parse_args()
    raw = orjson.loads(args.bundle.read_bytes())["objects"]
    objects = [orjson.dumps(o) for o in raw]
    n = len(objects)
    del raw
    print(f"bundle: {args.bundle.name}, {n} objects; machine: {os.cpu_count()} cores")
    rows: list[tuple[str, str, str, str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="pacte-bench-"))
    try:
        for backend in args.backends.split(","):
            db = _db_for(backend, tmp)
            try:
                cli = bench_cli(db, args.bundle, n)
            finally:
                _drop(db)
            db = _db_for(backend, tmp)
            try:
                api = bench_api(db, args.bundle, objects)
            finally:
                _drop(db)
            rows += [
                (backend, "cli import (pacte import)", f"{cli['rate']:,.0f} obj/s", f"{cli['rss_mb']:.0f} MB"),
                (backend, "api ingest (bundles of 1,000)", f"{api['ingest_rate']:,.0f} obj/s",
                 f"{api['server_rss_mb']:.0f} MB (server)"),
                (backend, f"api read-back ({int(api['read'])} objects)", f"{api['read_rate']:,.0f} obj/s", ""),
            ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'backend':<9} {'measure':<36} {'rate':>14}  peak RSS")
    for backend, what, rate, rss in rows:
        print(f"{backend:<9} {what:<36} {rate:>14}  {rss}")
    print("\ngoals (SQLite): cli import >= 15,000 obj/s; api ingest >= 10,000 obj/s;"
          " read-back >= 30,000 obj/s; peak RSS < 400 MB")
    print("peer (shared/bench/README.md, same machine): OpenTAXII ingest ~585 obj/s, read-back ~12,500 obj/s;"
          " medallion ingest ~525 obj/s")
    print("RESULT_JSON " + orjson.dumps(rows).decode())


if __name__ == "__main__":
    main()
