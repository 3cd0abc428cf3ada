#!/usr/bin/env python3
"""Load test (issue 10): 200 concurrent clients reading, writing and streaming over loopback, for minutes.

A real ``pacte serve`` process (SQLite, or PostgreSQL with ``--backend postgres``) is seeded with
MITRE ATT&CK Enterprise (imported by a member into ``community``) and 8 members, the first 4 in a
sharing group, each with analyst tokens (one per client). One or two client processes (asyncio +
httpx, ``bench/loadclient.py``) then run ``--clients`` concurrent clients until ``--seconds`` have passed (warm-up included):

* ``--streams`` of them hold a live stream each (``GET /api/v1/stream``, SSE, no filter), spread over the
  members; every object they receive is matched against the writes of every client process: a write
  that started after the stream opened into a collection the stream's member reads must arrive
  (``missed`` otherwise), one it may not read must not (``leaked``); the delivery lag is the receive
  time minus the time its POST started (it includes the write itself);
* the others loop over a weighted mix, with an exponential think time (``--think`` mean): native reads
  (list with a type filter, paging by ``next`` cursor over a collection, object by id, of ATT&CK or of a
  write just acknowledged), TAXII reads (objects with ``match[type]``, ``next`` paging, manifest,
  object by id) and writes of 1-5 indicators (native POST and TAXII POST, into community, the group
  or the member's private collection).

Any unexpected status, a body that does not say what it should, a timeout, a transport error or a
broken stream is an error of its operation. The server's RSS (and its open files and threads) is
sampled every second; the RSS at the end of the warm-up is the baseline. Prints latency p50/p90/p99/max
and throughput per operation (measured after the warm-up), the stream figures, RSS, the CPU used by
the server and by each client process (to tell whether the client is the bottleneck) and a PASS/FAIL
line against the goals: 0 errors, 0 missed or leaked events, RSS at the end at most 10 % above the
baseline. Exits 1 on FAIL.

    .venv/bin/python bench/load.py [--clients 200] [--streams 20] [--seconds 600] [--warmup 60]
                                   [--backend sqlite|postgres] [--procs 2] [--think 0.2] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from loadclient import GROUP, READ_TYPES, WEIGHTS

ROOT = Path(__file__).resolve().parents[1]
ATTACK = ROOT.parent / "shared" / "data" / "attack-enterprise.json"
PG = os.environ.get("PACTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PACTE = str(Path(sys.executable).with_name("pacte"))
MEMBERS = 8
IN_GROUP = 4  # members 0..3 are in the sharing group
RSS_GOAL = 10.0  # % growth after the warm-up
CLIENT = Path(__file__).with_name("loadclient.py")


# ------------------------------------------------------------------ diagnostic server
def serve_diagnosed(db: str, port: int, diag_file: str, cache_kib: int) -> None:
    """Serve like ``pacte serve`` and log the server's memory by owner every 5 s (``--diagnose``).

    SQLite's own allocations (page caches of every connection) come from ``sqlite3_memory_used``
    of the library the ``sqlite3`` module is linked to; Python's from its allocated block count;
    the C heap's from ``mallinfo2``. ``cache_kib`` (experiment) sets every SQLite connection's page cache.
    """
    import ctypes

    if cache_kib:
        import pacte.store.sqlite as backend

        connect = backend._connect

        def small_cache(path: str) -> Any:
            conn = connect(path)
            conn.execute(f"PRAGMA cache_size=-{cache_kib}")
            return conn

        backend._connect = small_cache

    from pacte.cli.hubctx import hub_from
    from pacte.cli.serving import run_server

    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                         "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    me = psutil.Process()
    hub = hub_from(db, host="127.0.0.1", port=port)

    def log() -> None:
        with open(diag_file, "ab") as out:
            while True:
                row = {"t": time.time(), "rss": me.memory_info().rss / 2**20,
                       "sqlite": lib.sqlite3_memory_used() / 2**20, "py_blocks": sys.getallocatedblocks(),
                       "threads": threading.active_count(),
                       "sqlite_connections": len(getattr(hub.store, "_readers", [])) + 1}
                info = libc.mallinfo2()
                row.update(malloc_used=(info.uordblks + info.hblkhd) / 2**20, malloc_free=info.fordblks / 2**20)
                out.write(orjson.dumps(row) + b"\n")
                out.flush()
                time.sleep(5.0)

    threading.Thread(target=log, daemon=True).start()
    run_server(hub, "127.0.0.1", port)


# ------------------------------------------------------------------ orchestration
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(db: str, n_clients: int, n_streams: int, procs: int, tmp: Path, seed: int) -> dict[str, Any]:
    """Create members, the group and one analyst token per client; import ATT&CK; return the client config."""
    from pacte.config import Settings
    from pacte.hub import Hub
    from pacte.hub.clock import RandomIds
    from pacte.hub.members import add_group, add_org, new_token, private_name
    from pacte.policy import Role

    hub = Hub.open(Settings(db_url=db))
    ids = RandomIds()
    orgs = [add_org(hub.store, hub.ids, hub.clock, f"Load {i}", "FR") for i in range(MEMBERS)]
    group = add_group(hub.store, hub.ids, hub.clock, GROUP, orgs[:IN_GROUP])
    add_org(hub.store, hub.ids, hub.clock, "Seeder", "FR")
    community = hub.store.collection_by_name("community")
    assert community is not None
    clients = []
    stream_every = n_clients / n_streams if n_streams else 0
    for i in range(n_clients):
        org = orgs[i % MEMBERS]
        private = hub.store.collection_by_name(private_name(org))
        assert private is not None
        in_group = i % MEMBERS < IN_GROUP
        is_stream = n_streams > 0 and i % stream_every < 1 and sum(c["kind"] == "stream" for c in clients) < n_streams
        reads = [("community", community.uuid), (private_name(org), private.uuid)]
        if in_group:
            reads.append((GROUP, group.uuid))
        clients.append({"index": i, "proc": i % procs, "org": org.name, "kind": "stream" if is_stream else "mixed",
                        "token": new_token(hub.store, ids, hub.clock, org, Role.ANALYST, f"load {i}")[1],
                        "private_name": private_name(org), "private_uuid": private.uuid,
                        "group_uuid": group.uuid if in_group else None,
                        "read_names": [r[0] for r in reads], "read_uuids": [r[1] for r in reads]})
    hub.close()
    bundle = orjson.loads(ATTACK.read_bytes())
    objects = bundle["objects"][:seed] if seed else bundle["objects"]
    # a member's objects are readable by others only once it published the markings they reference
    objects += [o for o in bundle["objects"][len(objects):] if o["type"] == "marking-definition"]
    seed_file = tmp / "seed.json"
    seed_file.write_bytes(orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}))
    t = time.perf_counter()
    subprocess.run([PACTE, "import", str(seed_file), "--org", "Seeder", "--quiet"], check=True,
                   env={**os.environ, "PACTE_DB": db}, stdout=subprocess.DEVNULL)
    print(f"seeded {len(objects):,} ATT&CK objects in {time.perf_counter() - t:.1f} s", flush=True)
    seed_ids = [o["id"] for o in objects if o["type"] in READ_TYPES and not o.get("revoked")]
    return {"clients": clients, "community": community.uuid, "seed_ids": seed_ids,
            "group_members": [o.name for o in orgs[:IN_GROUP]]}


def _analyze_pg(db: str) -> None:
    import psycopg

    from pacte.store.postgres import split_schema

    conninfo, schema = split_schema(db)
    with psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}") as conn:
        conn.execute("ANALYZE")


class Sampler(threading.Thread):
    """Every second: the server's RSS, open files and threads, and the CPU of the server and clients."""

    def __init__(self, server: int, clients: list[int]) -> None:
        super().__init__(daemon=True)
        self.server = psutil.Process(server)
        self.clients = [psutil.Process(p) for p in clients]
        self.rows: list[dict[str, float]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        """Sample until halted."""
        procs = [self.server, *self.clients]
        for p in procs:
            p.cpu_percent(None)
        while not self.halt.wait(1.0):
            try:
                row = {"t": time.time(), "rss": self.server.memory_info().rss / 2**20,
                       "fds": float(self.server.num_fds()), "threads": float(self.server.num_threads()),
                       "cpu_server": self.server.cpu_percent(None) / 100}
                for i, p in enumerate(self.clients):
                    row[f"cpu_client{i}"] = p.cpu_percent(None) / 100 if p.is_running() else 0.0
            except psutil.Error:
                continue
            self.rows.append(row)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _readable(org: str, audience: str, group_members: list[str]) -> bool:
    return audience == "community" or (audience == "group" and org in group_members) or audience == f"private:{org}"


def summarise(cfg: dict[str, Any], outs: list[dict[str, Any]], samples: list[dict[str, float]],
              measured: float) -> dict[str, Any]:
    """Merge the client processes' results and the server samples into the run's figures."""
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    acked: dict[str, tuple[str, int]] = {}
    for out in outs:
        for op, values in out["lat"].items():
            lat[op] += values
        for op, counts in out["errors"].items():
            errors[op].update(counts)
        acked.update((oid, (aud, sent)) for oid, aud, sent in out["acked"])
    ops: dict[str, Any] = {}
    for op in [*WEIGHTS, "stream"]:
        v = lat.get(op, [])
        ops[op] = {"n": len(v), "per_s": round(len(v) / measured, 1), "p50": _pct(v, .5), "p90": _pct(v, .9),
                   "p99": _pct(v, .99), "max": max(v) if v else float("nan"), "errors": sum(errors[op].values()),
                   "why": dict(errors[op])}
    missed = leaked = dup = received = 0
    lags: list[float] = []
    group = cfg["group_members"]
    for out in outs:
        for sub in out["subs"]:
            got = set(sub["received"])
            received += len(got)
            dup += sub["duplicates"]
            lags += sub["lags"]
            if not sub["opened_ns"]:
                missed += 1
                continue
            expected = {oid for oid, (aud, sent) in acked.items()
                        if sent > sub["opened_ns"] and _readable(sub["org"], aud, group)}
            missed += len(expected - got)
            leaked += sum(1 for oid in got if oid in acked and not _readable(sub["org"], acked[oid][0], group))
    after = [s for s in samples if s["t"] >= cfg["warm_end"]]
    base = [s["rss"] for s in samples if cfg["warm_end"] - 5 <= s["t"] <= cfg["warm_end"]] or [after[0]["rss"]]
    end = [s["rss"] for s in after if s["t"] >= cfg["end"] - 5] or [after[-1]["rss"]]
    rss = {"warm": sum(base) / len(base), "max": max(s["rss"] for s in after), "end": sum(end) / len(end),
           "fds_warm": after[0]["fds"], "fds_end": after[-1]["fds"], "fds_max": max(s["fds"] for s in after),
           "threads_max": max(s["threads"] for s in after)}
    rss["growth_pct"] = (rss["end"] / rss["warm"] - 1) * 100
    rss["max_growth_pct"] = (rss["max"] / rss["warm"] - 1) * 100
    cpu = {k: round(sum(s.get(k, 0.0) for s in after) / len(after), 2) for k in after[0] if k.startswith("cpu_")}
    loop = [x for out in outs for x in out["loop_lag"]]
    return {"ops": ops, "stream": {"received": received, "acked_writes": len(acked), "missed": missed,
                                   "leaked": leaked, "duplicates": dup, "lag_p50": _pct(lags, .5),
                                   "lag_p90": _pct(lags, .9), "lag_p99": _pct(lags, .99),
                                   "lag_max": max(lags) if lags else float("nan"), "lag_n": len(lags)},
            "rss": rss, "cpu_cores": cpu, "client_loop_lag_ms": {"p50": _pct(loop, .5), "p99": _pct(loop, .99),
                                                                 "max": max(loop) if loop else float("nan")},
            "samples": [s for out in outs for s in out["samples"]][:30]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, serve, load, and return the summary."""
    tmp = Path(tempfile.mkdtemp(prefix="pacte-load-"))
    db = str(tmp / "hub.sqlite3") if args.backend == "sqlite" else f"{PG}?schema=load_{uuid.uuid4().hex[:12]}"
    cfg = setup(db, args.clients, args.streams, args.procs, tmp, args.seed)
    if args.backend == "postgres":
        _analyze_pg(db)
    port = _free_port()
    log = (tmp / "server.log").open("wb")
    diag = tmp / "diagnose.jsonl"
    cmd = ([sys.executable, __file__, "--serve", db, str(port), str(diag), str(args.sqlite_cache_kib)] if args.diagnose
           else [PACTE, "serve", "--db", db, "--port", str(port)])
    server = subprocess.Popen(cmd, env={**os.environ, "PACTE_DB": db}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/taxii2/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        t0 = time.time() + 3.0
        cfg.update(base=base, t0=t0, warm_end=t0 + args.warmup, end=t0 + args.seconds, think=args.think,
                   timeout=args.timeout)
        cfg_file = tmp / "config.json"
        cfg_file.write_bytes(orjson.dumps(cfg))
        clients = [subprocess.Popen([sys.executable, str(CLIENT), str(cfg_file), str(i)])
                   for i in range(args.procs)]
        sampler = Sampler(server.pid, [c.pid for c in clients])
        sampler.start()
        print(f"load: {args.clients} clients ({args.streams} streams) in {args.procs} processes, "
              f"{args.seconds:.0f} s (warm-up {args.warmup:.0f} s), {args.backend}, server pid {server.pid}, "
              f"log {tmp / 'server.log'}", flush=True)
        next_print = t0
        while any(c.poll() is None for c in clients):
            time.sleep(1.0)
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            last = sampler.rows[-1] if sampler.rows else None
            if last and last["t"] >= next_print:
                next_print += 60.0
                print(f"  {time.strftime('%H:%M:%S')} t={last['t'] - t0:4.0f} s rss {last['rss']:.0f} MiB "
                      f"fds {last['fds']:.0f} cpu server {last['cpu_server']:.2f}", flush=True)
        sampler.halt.set()
        sampler.join()
        failed = [c.returncode for c in clients if c.returncode]
        if failed:
            raise RuntimeError(f"a client process failed: {failed}")
        outs = [orjson.loads(Path(f"{cfg_file}.{i}.out").read_bytes()) for i in range(args.procs)]
        summary = summarise(cfg, outs, sampler.rows, args.seconds - args.warmup)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    text = (tmp / "server.log").read_text(errors="replace")
    summary["server_log"] = {"path": str(tmp / "server.log"), "tracebacks": text.count("Traceback"),
                             "error_lines": sum(1 for ln in text.splitlines() if ln.startswith("ERROR"))}
    if args.diagnose:
        rows = [orjson.loads(ln) for ln in diag.read_bytes().splitlines()]
        summary["diagnose"] = [r for i, r in enumerate(rows) if i % 6 == 0 or i == len(rows) - 1]
    for f in tmp.glob("hub.sqlite3*"):
        f.unlink()
    (tmp / "seed.json").unlink(missing_ok=True)
    if args.backend == "postgres":
        from pacte.store.postgres import PostgresStore

        store = PostgresStore(db)
        store.drop_schema()
        store.close()
    return summary


def report(s: dict[str, Any], args: argparse.Namespace, load: tuple[list[float], list[float]]) -> bool:
    """Print the tables and the PASS/FAIL line; return whether the run passed."""
    print(f"\n## load, {args.backend}, {args.clients} clients ({args.streams} streams), {args.seconds:.0f} s, "
          f"warm-up {args.warmup:.0f} s, think {args.think} s")
    print(f"load average before {load[0]}, after {load[1]}")
    print("\n| operation | n | per s | p50 ms | p90 ms | p99 ms | max ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for op, r in s["ops"].items():
        if op == "stream":
            continue
        print(f"| {op} | {r['n']} | {r['per_s']} | {r['p50']:.1f} | {r['p90']:.1f} | {r['p99']:.1f} | {r['max']:.0f}"
              f" | {r['errors']} {r['why'] or ''} |")
    st = s["stream"]
    print(f"| stream delivery lag | {st['lag_n']} | - | {st['lag_p50']:.1f} | {st['lag_p90']:.1f} | "
          f"{st['lag_p99']:.1f} | {st['lag_max']:.0f} | {s['ops']['stream']['errors']} {s['ops']['stream']['why'] or ''} |")
    print(f"\nstream: {st['received']:,} load objects received, {st['acked_writes']:,} objects written and acknowledged,"
          f" missed {st['missed']}, leaked {st['leaked']}, duplicates {st['duplicates']}")
    r = s["rss"]
    print(f"server RSS: after warm-up {r['warm']:.1f} MiB, max {r['max']:.1f}, end {r['end']:.1f}; growth "
          f"{r['growth_pct']:+.1f} % (max {r['max_growth_pct']:+.1f} %); open files {r['fds_warm']:.0f} -> "
          f"{r['fds_end']:.0f} (max {r['fds_max']:.0f}), threads max {r['threads_max']:.0f}")
    print(f"CPU (cores, mean after warm-up): {s['cpu_cores']}; client event-loop lag ms {s['client_loop_lag_ms']}")
    print(f"server log: {s['server_log']}")
    for row in s.get("diagnose", []):
        print(f"  diagnose {time.strftime('%H:%M:%S', time.gmtime(row['t']))}: rss {row['rss']:.1f} MiB, "
              f"SQLite {row['sqlite']:.1f} MiB ({row['sqlite_connections']} connections), "
              f"Python blocks {row['py_blocks']:,}, threads {row['threads']}, malloc in use {row['malloc_used']:.1f} MiB, "
              f"free in arenas {row['malloc_free']:.1f} MiB")
    for line in s["samples"]:
        print("  error sample:", line)
    errors = sum(r["errors"] for r in s["ops"].values()) + s["server_log"]["tracebacks"]
    ok = errors == 0 and st["missed"] == 0 and st["leaked"] == 0 and r["growth_pct"] <= RSS_GOAL
    print(f"\n{'PASS' if ok else 'FAIL'}: errors {errors} (goal 0), stream missed {st['missed']} / leaked {st['leaked']}"
          f" (goal 0), RSS growth after warm-up {r['growth_pct']:+.1f} % (goal <= {RSS_GOAL:.0f} %)", flush=True)
    return ok


def main() -> None:
    """Parse arguments and run the load test (or, internally, one client process)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve_diagnosed(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=200, help="concurrent clients, streams included")
    ap.add_argument("--streams", type=int, default=20, help="how many of the clients hold a live stream")
    ap.add_argument("--seconds", type=float, default=600.0, help="whole run, warm-up included")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds not measured (RSS baseline at its end)")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--think", type=float, default=0.2, help="mean think time between a client's requests (s)")
    ap.add_argument("--timeout", type=float, default=30.0, help="request timeout (s): a slower answer is an error")
    ap.add_argument("--seed", type=int, default=0, help="ATT&CK objects to import first (0: all 24,771)")
    ap.add_argument("--diagnose", action="store_true",
                    help="serve through a wrapper of run_server that logs SQLite's and Python's memory every 5 s")
    ap.add_argument("--sqlite-cache-kib", type=int, default=0,
                    help="with --diagnose: experiment with this SQLite page cache per connection (KiB)")
    ap.add_argument("--json", help="write the summary as JSON to this file")
    args = ap.parse_args()
    before = [round(x, 2) for x in os.getloadavg()]
    summary = run(args)
    after = [round(x, 2) for x in os.getloadavg()]
    ok = report(summary, args, (before, after))
    if args.json:
        summary.update(args=vars(args), load_before=before, load_after=after, passed=ok,
                       utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
        Path(args.json).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
