#!/usr/bin/env python3
"""TAXII 2.1 benchmark: Pacte (SQLite and PostgreSQL), OpenTAXII and medallion, side by side.

Drives every server with the peer kit's client (``../shared/bench/peer_taxii.py``, taxii2-client)
on the same data, and prints one table. Servers listen on 127.0.0.1 only; state lives in /tmp.

    .venv/bin/python bench/taxii.py                       # full comparison (issue 3)
    .venv/bin/python bench/taxii.py --only pacte-sqlite   # one server
    .venv/bin/python bench/taxii.py --scale 1000000       # latency with 1M synthetic objects stored

Peer venvs (/tmp/peervenv: medallion + taxii2-client, /tmp/otvenv: OpenTAXII) are created
when missing, with the commands of the kit's README. ``serve`` is the internal sub-command that
runs a Pacte server for one measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KIT = SHARED / "bench"
ATTACK = SHARED / "data" / "attack-enterprise.json"
WORK = Path("/tmp/pacte-taxii-bench")
PEERVENV = Path("/tmp/peervenv")
OTVENV = Path("/tmp/otvenv")
PG_URL = os.environ.get("PACTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
MEDALLION_OBJECTS = 5000


# ------------------------------------------------------------------ environment
def ensure_venvs(need_ot: bool) -> None:
    """Create the peer venvs (commands of the kit's README) when they are missing.

    /tmp/peervenv is always needed: its taxii2-client is the benchmark client for every server.
    """
    if not (PEERVENV / "bin" / "medallion").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERVENV)], check=True)
        subprocess.run([str(PEERVENV / "bin" / "pip"), "install", "-q", "medallion==3.0.0", "taxii2-client==2.3.0",
                        "stix2==3.0.2", "stix2-validator==3.3.2", "orjson"], check=True)
    if need_ot and not (OTVENV / "bin" / "opentaxii-create-account").exists():
        subprocess.run([sys.executable, "-m", "venv", str(OTVENV)], check=True)
        subprocess.run([str(OTVENV / "bin" / "pip"), "install", "-q", "--pre", "opentaxii==0.10.0b1", "gunicorn"],
                       check=True)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Wait until something answers on the URL's port."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {url}")


def run_client(label: str, api_root: str, collection: str, extra: list[str], max_objects: int = 0,
               data: Path = ATTACK) -> dict[str, Any]:
    """Run the kit's client against one API root; return its RESULT_JSON."""
    out = WORK / f"{label}.json"
    cmd = [str(PEERVENV / "bin" / "python"), str(KIT / "peer_taxii.py"), "--api-root", api_root,
           "--collection", collection, "--label", label, "--json-out", str(out), "--data", str(data), *extra]
    if max_objects:
        cmd += ["--max-objects", str(max_objects)]
    print(f"## {label}: {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, text=True, capture_output=True)
    sys.stdout.write("\n".join(ln for ln in proc.stdout.splitlines() if not ln.startswith("RESULT_JSON")) + "\n")
    if proc.returncode != 0:
        sys.stdout.write(proc.stderr[-3000:])
        return {"info": {"label": label}, "error": proc.stderr[-500:]}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# ------------------------------------------------------------------ Pacte
def prepare_pacte(db_url: str) -> tuple[str, str]:
    """Create a member with an analyst token on a fresh store; return (token, private collection uuid)."""
    from pacte.hub import Hub
    from pacte.hub.members import add_org, new_token, private_name
    from pacte.policy import Role
    from pacte.store import open_store

    hub = Hub(open_store(db_url))
    org = add_org(hub.store, hub.ids, hub.clock, "Bench", "FR")
    _, secret = new_token(hub.store, hub.ids, hub.clock, org, Role.ANALYST, "bench")
    coll = hub.store.collection_by_name(private_name(org))
    assert coll is not None
    hub.close()
    return secret, coll.uuid


@contextmanager
def pacte_server(db_url: str) -> Iterator[tuple[str, int]]:
    """Run a Pacte server (uvicorn, one process) on a free port; yield (API root URL, pid)."""
    port = free_port()
    log = (WORK / f"pacte-{port}.log").open("w")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", "--db", db_url,
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/taxii2/pacte/"
        wait_http(url)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def serve(db_url: str, port: int) -> None:
    """Serve one hub over HTTP (the ``serve`` sub-command)."""
    import uvicorn

    from pacte.api.app import create_app
    from pacte.config import Settings
    from pacte.hub import Hub
    from pacte.store import open_store

    hub = Hub(open_store(db_url), Settings(db_url=db_url))
    uvicorn.run(create_app(hub), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def sqlite_url(name: str) -> str:
    """Return the path of a fresh SQLite database under the work directory."""
    path = WORK / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def pg_url() -> str:
    """Return a PostgreSQL URL with a fresh schema."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}schema=bench_{uuid.uuid4().hex[:10]}"


def drop_pg(url: str) -> None:
    """Drop the schema of a benchmark PostgreSQL store."""
    from pacte.store.postgres import PostgresStore

    store = PostgresStore(url)
    store.drop_schema()
    store.close()


def analyze_pg(url: str) -> None:
    """Collect planner statistics for a benchmark schema (what autovacuum does on a normal server)."""
    import psycopg

    from pacte.store.postgres import split_schema

    conninfo, schema = split_schema(url)
    with psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}") as conn:
        conn.execute("ANALYZE versions, shares, members, collections")


def bench_pacte(label: str, db_url: str, max_objects: int = 0, extra: list[str] | None = None) -> dict[str, Any]:
    """Measure Pacte on one store.

    On PostgreSQL the client runs twice, ingest then the reads, with an ``ANALYZE`` in between:
    the test server runs with autovacuum off, and without statistics the planner turns the
    ``versions=last`` anti-join into a nested loop over the whole collection (seconds per page).
    """
    token, coll = prepare_pacte(db_url)
    args = ["--token", token, *(extra or [])]
    with pacte_server(db_url) as (url, pid):
        args += ["--server-pid", str(pid)]
        if not db_url.startswith("postgresql"):
            return run_client(label, url, coll, args, max_objects)
        first = run_client(label + "-ingest", url, coll, [*args, "--phases", "ingest"], max_objects)
        analyze_pg(db_url)
        added_after = first.get("info", {}).get("added_after") or ""
        rest = run_client(label, url, coll, [*args, "--phases", "read,query,manifest", "--added-after", added_after],
                          max_objects)
        rest["ingest"] = first.get("ingest", [])
        rest.setdefault("info", {})["objects"] = first.get("info", {}).get("objects")
        rest["info"]["note"] = "ANALYZE between ingest and reads"
        return rest


# ------------------------------------------------------------------ peers
def bench_opentaxii() -> dict[str, Any]:
    """Measure OpenTAXII 0.10.0b1 (SQLite, gunicorn 1 worker, Bearer JWT)."""
    env = {**os.environ, "OTVENV": str(OTVENV)}
    ctl = str(KIT / "opentaxii_ctl.sh")
    started = subprocess.run(["bash", ctl, "start"], env=env, text=True, capture_output=True, check=True)
    _, api_root, coll, worker = started.stdout.split()[-4:]
    try:
        token = subprocess.run(["bash", ctl, "token"], env=env, text=True, capture_output=True,
                               check=True).stdout.strip()
        return run_client("opentaxii", api_root, coll, ["--token", token, "--server-pid", worker])
    finally:
        subprocess.run(["bash", ctl, "stop"], env=env, capture_output=True)


def bench_medallion() -> dict[str, Any]:
    """Measure medallion 3.0.0 (memory backend) at 5,000 objects."""
    env = {**os.environ, "VENV": str(PEERVENV)}
    ctl = str(KIT / "medallion_ctl.sh")
    pid = subprocess.run(["bash", ctl, "start"], env=env, text=True, capture_output=True,
                         check=True).stdout.split()[-1]
    try:
        return run_client("medallion", "http://127.0.0.1:5800/bench/", "2f6f1b6e-5d0c-4c53-9f55-1d2c35a4e0a1",
                          ["--user", "bench", "--password", "bench-Passw0rd", "--server-pid", pid,
                           "--phase-budget", "300", "--timeout", "300"], MEDALLION_OBJECTS)
    finally:
        subprocess.run(["bash", ctl, "stop"], env=env, capture_output=True)


# ------------------------------------------------------------------ synthetic data (1M check)
def synthetic(n: int, seed: int = 7) -> Iterator[list[dict[str, Any]]]:
    """Yield batches of valid synthetic STIX 2.1 objects (indicators, malware, intrusion sets, relationships)."""
    rnd = random.Random(seed)
    batch: list[dict[str, Any]] = []
    made: list[str] = []
    for i in range(n):
        ts = f"20{20 + i % 6}-0{1 + i % 9}-1{i % 10}T0{i % 10}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z"
        oid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        kind = i % 20
        obj: dict[str, Any]
        if kind < 12:
            ip = f"{10 + i % 200}.{(i >> 8) % 256}.{(i >> 16) % 256}.{i % 256}"
            obj = {"type": "indicator", "id": f"indicator--{oid}", "name": f"synthetic {ip}",
                   "pattern": f"[ipv4-addr:value = '{ip}']", "pattern_type": "stix", "valid_from": ts,
                   "indicator_types": ["malicious-activity"]}
        elif kind < 15:
            obj = {"type": "malware", "id": f"malware--{oid}", "name": f"synthetic family {i}", "is_family": True}
        elif kind < 16:
            obj = {"type": "intrusion-set", "id": f"intrusion-set--{oid}", "name": f"synthetic set {i}"}
        elif kind < 18 or len(made) < 2:
            obj = {"type": "attack-pattern", "id": f"attack-pattern--{oid}", "name": f"synthetic technique {i}"}
        else:
            obj = {"type": "relationship", "id": f"relationship--{oid}", "relationship_type": "uses",
                   "source_ref": made[rnd.randrange(len(made))], "target_ref": made[rnd.randrange(len(made))]}
        obj.update(spec_version="2.1", created=ts, modified=ts)
        if obj["type"] != "relationship":
            made.append(obj["id"])
            if len(made) > 5000:
                made = made[-2000:]
        batch.append(obj)
        if len(batch) == 5000:
            yield batch
            batch = []
    if batch:
        yield batch


def load_synthetic(db_url: str, n: int) -> float:
    """Fill a store with n synthetic objects (community and a sharing group); return objects/s."""
    from pacte.hub import Hub
    from pacte.hub.members import add_group, add_org
    from pacte.store import open_store

    hub = Hub(open_store(db_url))
    org = add_org(hub.store, hub.ids, hub.clock, "Synthetic", "DE")
    group = add_group(hub.store, hub.ids, hub.clock, "synthetic-group", [org])
    t0 = time.perf_counter()
    done = 0
    for i, batch in enumerate(synthetic(n)):
        report = hub.share_as(org, hub.community if i % 2 else group, batch)
        if report.failures:
            bad = next(o for o in report.outcomes if not o.ok)
            raise RuntimeError(f"synthetic object refused: {bad}")
        done += len(batch)
        if i % 40 == 0:
            print(f"  synthetic {done}/{n} ({done / (time.perf_counter() - t0):.0f} obj/s)", flush=True)
    rate = n / (time.perf_counter() - t0)
    hub.close()
    return rate


# ------------------------------------------------------------------ report
def _q(result: dict[str, Any], name: str) -> float | None:
    for q in result.get("queries", []):
        if q["query"] == name and q["latency_s"].get("median") is not None:
            return float(q["latency_s"]["median"]) * 1000
    return None


def _ingest(result: dict[str, Any], size: int) -> float | None:
    for r in result.get("ingest", []):
        if r["envelope"] == size and r.get("obj_per_s"):
            return float(r["obj_per_s"])
    return None


def table(results: list[dict[str, Any]]) -> str:
    """Return a side-by-side Markdown table of the measurements."""
    def fmt(v: float | None, unit: str = "", nd: int = 0) -> str:
        return "-" if v is None else f"{v:,.{nd}f}{unit}"

    rows: list[tuple[str, list[str]]] = []
    rows.append(("objects", [str(r.get("info", {}).get("objects", "-")) for r in results]))
    for size in (1, 100, 1000):
        rows.append((f"ingest, envelopes of {size:,} (obj/s)", [fmt(_ingest(r, size)) for r in results]))
    for phase, title in (("readback", "full read-back, limit 1,000 (obj/s)"), ("manifest", "manifest, paged (records/s)")):
        cells = []
        for r in results:
            ph = r.get(phase) or {}
            err = [d["error"] for d in ph.get("runs", []) if "error" in d]
            cells.append(fmt(ph.get("items_per_s_median")) + (" (error)" if err and not ph.get("items") else ""))
        rows.append((title, cells))
    for name, title in (("match[type]=intrusion-set", "`match[type]=intrusion-set` (ms, median)"),
                        ("match[id]=<id>", "`match[id]` (ms, median)"), ("GET objects/<id>/", "object by id (ms, median)"),
                        ("added_after=<ts>", "`added_after` last envelope (ms, median)"),
                        ("manifest page 1 (limit)", "manifest page 1 (ms, median)")):
        rows.append((title, [fmt(_q(r, name), nd=2) for r in results]))
    rows.append(("server peak RSS (MiB)", [
        fmt((r.get("server_rss_kib", {}).get("end", {}).get("hwm") or 0) / 1024 or None) for r in results]))
    head = "| measure | " + " | ".join(str(r.get("info", {}).get("label", "?")) for r in results) + " |"
    sep = "|---|" + "---|" * len(results)
    return "\n".join([head, sep, *(f"| {t} | " + " | ".join(c) + " |" for t, c in rows)])


def growth(results: list[dict[str, Any]]) -> str:
    """Return the latency ratios (with synthetic objects / ATT&CK only) of each scale pair."""
    lines = []
    for base, big in zip(results[::2], results[1::2], strict=False):
        ratios = []
        for name in ("match[type]=intrusion-set", "match[id]=<id>", "GET objects/<id>/", "added_after=<ts>",
                     "manifest page 1 (limit)"):
            b, g = _q(base, name), _q(big, name)
            ratios.append(f"{name}: {b:.2f} -> {g:.2f} ms (x{g / b:.2f})" if b and g else f"{name}: -")
        read = [r.get("readback", {}).get("items_per_s_median") for r in (base, big)]
        lines.append(f"{big['info']['label']}: " + "; ".join(ratios) + f"; read-back {read[0]:.0f} -> {read[1]:.0f} obj/s"
                     if all(read) else f"{big['info']['label']}: " + "; ".join(ratios))
    return "\n".join(lines)


def main() -> None:
    """Parse arguments and run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    sv = sub.add_parser("serve", help="internal: serve one hub")
    sv.add_argument("--db", required=True)
    sv.add_argument("--port", type=int, required=True)
    ap.add_argument("--only", help="comma-separated subset of pacte-sqlite,pacte-postgres,opentaxii,medallion,"
                                   "pacte-sqlite-5k")
    ap.add_argument("--scale", type=int, default=0,
                    help="instead of the comparison: store N synthetic objects, then measure Pacte (SQLite"
                         " and PostgreSQL unless --only) on ATT&CK queries beside them")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json-out", default=str(WORK / "summary.json"))
    a = ap.parse_args()
    if a.cmd == "serve":
        serve(a.db, a.port)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    if not ATTACK.exists():
        sys.exit(f"missing {ATTACK}")
    runs = ["--runs", str(a.runs)]
    results: list[dict[str, Any]] = []
    if a.scale:
        which = (a.only or "pacte-sqlite,pacte-postgres").split(",")
        ensure_venvs(False)
        for name in which:
            base = sqlite_url("scale-base") if name == "pacte-sqlite" else pg_url()
            results.append(bench_pacte(f"{name} (ATT&CK only)", base, extra=runs))
            if name == "pacte-postgres":
                drop_pg(base)
            url = sqlite_url("scale") if name == "pacte-sqlite" else pg_url()
            rate = load_synthetic(url, a.scale)
            print(f"# {name}: {a.scale} synthetic objects stored at {rate:.0f} obj/s", flush=True)
            res = bench_pacte(f"{name}+{a.scale // 1000}k", url, extra=runs)
            res["synthetic"] = {"objects": a.scale, "load_obj_per_s": rate}
            results.append(res)
            if name == "pacte-postgres":
                drop_pg(url)
    else:
        which = (a.only or "pacte-sqlite,pacte-postgres,opentaxii,medallion,pacte-sqlite-5k").split(",")
        ensure_venvs("opentaxii" in which)
        for name in which:
            if name == "pacte-sqlite":
                results.append(bench_pacte(name, sqlite_url("full"), extra=runs))
            elif name == "pacte-sqlite-5k":
                results.append(bench_pacte(name, sqlite_url("5k"), MEDALLION_OBJECTS, extra=runs))
            elif name == "pacte-postgres":
                url = pg_url()
                results.append(bench_pacte(name, url, extra=runs))
                drop_pg(url)
            elif name == "opentaxii":
                results.append(bench_opentaxii())
            elif name == "medallion":
                results.append(bench_medallion())
    print()
    print(table(results))
    if a.scale:
        print()
        print(growth(results))
    Path(a.json_out).write_text(json.dumps(results))
    shutil.copy(a.json_out, WORK / f"summary-{int(time.time())}.json")


if __name__ == "__main__":
    main()
