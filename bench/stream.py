#!/usr/bin/env python3
"""Live stream benchmark (issue 4): publish-to-receive latency while ingesting, for 1, 100 and 1,000 subscribers.

A real ``pacte serve`` process on SQLite (or PostgreSQL) serves the hub. The bench process
publishes through the native API over loopback at a steady rate (default 1,000 objects/s: a
bundle of 50 every 50 ms, on schedule, up to 4 posts in flight). A separate client process
holds N SSE connections (asyncio protocols read in ``data_received``: no StreamReader, no task
per read, so the client costs the shared CPU as little as possible; one token per connection,
spread over 10 reader organisations). With no filter every subscriber receives every object; with ``--filtered``
each one filters one of 5 STIX types and receives a fifth of them. Each object's name carries
the wall-clock time its bundle was posted, so latency = receive time - post time: it includes
validation, the commit, the stream round and the socket. Latency is taken on every 10th
connection (every event it receives); every connection counts the events it receives. Prints p50/p99/max latency, the
events/s delivered to all subscribers, the CPU used by each process (user + system, and system
alone) and the load average.

    .venv/bin/python bench/stream.py [--subscribers 1,100,1000] [--rate 1000] [--seconds 10] [--db postgres] [--filtered]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
PACTE = str(Path(sys.executable).with_name("pacte"))
PG = os.environ.get("PACTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
NAME = re.compile(rb'"name":"bench (\d+)"')
READER_ORGS = 10
SAMPLE = 10  # latency is measured on every 10th connection; every connection counts what it receives
TYPES = ("indicator", "malware", "attack-pattern", "tool", "campaign")  # --filtered: one per subscriber


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# subscriber process ------------------------------------------------------------------------

OBJECT = b"event: object\n"
EDGE = len(OBJECT) - 1  # a marker split across two reads lies within the last/first EDGE bytes


class _Subscriber(asyncio.Protocol):
    """One SSE connection, read in ``data_received`` (no StreamReader, no task per read: the client's
    CPU is the hub's CPU on this machine). Counts every object event; a sampled connection also takes
    the latency of each one from the post time in its name."""

    def __init__(self, request: bytes, hist: Counter[int], totals: list[int], opened: asyncio.Future[None],
                 measure: bool) -> None:
        self.request, self.hist, self.totals, self.opened, self.measure = request, hist, totals, opened, measure
        self.head = b""
        self.edge = b""
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the request."""
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        """Count (and, when sampled, time) the object events in what arrived."""
        now = time.time_ns()
        if not self.opened.done():
            self.head += data
            cut = self.head.find(b"\r\n\r\n")
            if cut < 0:
                return
            if b" 200 " not in self.head.split(b"\r\n", 1)[0]:
                self.opened.set_exception(RuntimeError(self.head.decode(errors="replace")))
                return
            self.opened.set_result(None)
            data, self.head = self.head[cut + 4:], b""
        if not self.measure:
            self.totals[0] += data.count(OBJECT) + (self.edge + data[:EDGE]).count(OBJECT)
            self.edge = data[-EDGE:]
            return
        buf = self.tail + data
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            self.tail = buf
            return
        self.tail = buf[cut:]
        found = Counter(NAME.findall(buf, 0, cut))
        for sent, n in found.items():
            self.hist[(now - int(sent)) // 1_000_000] += n
            self.totals[0] += n


async def _client_main(port: int, tokens: list[str]) -> None:
    hist: Counter[int] = Counter()
    totals = [0]
    loop = asyncio.get_running_loop()
    opened: list[asyncio.Future[None]] = []
    for i, line in enumerate(tokens):
        token, _, query = line.partition("?")
        request = (f"GET /api/v1/stream{'?' + query if query else ''} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode()
        fut: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda r=request, f=fut, m=i % SAMPLE == 0: _Subscriber(r, hist, totals, f, m),
                                     "127.0.0.1", port)
        opened.append(fut)
    await asyncio.gather(*opened)
    print("READY", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)  # "START"
    assert line.strip() == "START"
    hist.clear()
    totals[0] = 0
    line = await loop.run_in_executor(None, sys.stdin.readline)  # "STOP"
    print(orjson.dumps({"hist": {str(k): v for k, v in hist.items()}, "events": totals[0]}).decode(), flush=True)


def client(port: int, tokens_file: str) -> None:
    """Run the subscriber side: N connections, latency histogram, printed as JSON at STOP."""
    tokens = Path(tokens_file).read_text().split()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_client_main(port, tokens))


# orchestration -----------------------------------------------------------------------------

def _setup(db: str, n_tokens: int) -> tuple[str, list[str]]:
    from pacte.config import Settings
    from pacte.hub import Hub
    from pacte.hub.clock import RandomIds
    from pacte.hub.members import add_org, new_token
    from pacte.policy import Role

    hub = Hub.open(Settings(db_url=db))
    ids = RandomIds()
    producer = add_org(hub.store, hub.ids, hub.clock, "Producer", "FR")
    writer = new_token(hub.store, ids, hub.clock, producer, Role.ANALYST, "bench")[1]
    readers = [add_org(hub.store, hub.ids, hub.clock, f"Reader {i}", None) for i in range(READER_ORGS)]
    tokens = [new_token(hub.store, ids, hub.clock, readers[i % READER_ORGS], Role.READER, None)[1]
              for i in range(n_tokens)]
    hub.close()
    return writer, tokens


def _object(kind: str, sent_ns: int) -> dict[str, Any]:
    now = "2026-01-01T00:00:00.000Z"
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uuid.uuid4()}", "created": now,
                           "modified": now, "name": f"bench {sent_ns}",
                           "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}
    if kind == "indicator":
        obj.update(pattern="[ipv4-addr:value = '203.0.113.9']", pattern_type="stix", valid_from=now)
    elif kind == "malware":
        obj["is_family"] = False
    return obj


def _bundle(n: int, sent_ns: int) -> bytes:
    objs = [_object(TYPES[i % len(TYPES)], sent_ns) for i in range(n)]
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs})


def _ingest(base: str, token: str, rate: int, seconds: float, every: float, stop: threading.Event) -> tuple[int, float]:
    """Post a bundle every ``every`` seconds, on schedule (up to 4 in flight, like several producers)."""
    per = max(1, round(rate * every))
    local = threading.local()

    def post(body: bytes) -> int:
        """Post one bundle (one HTTP client per thread); return how many objects it carried."""
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = httpx.Client(timeout=30)
        resp = http.post(base + "/api/v1/collections/community/objects", content=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        resp.raise_for_status()
        return per

    start = time.monotonic()
    futures = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        tick = start
        while time.monotonic() - start < seconds and not stop.is_set():
            futures.append(pool.submit(post, _bundle(per, time.time_ns())))
            tick += every
            delay = tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent = sum(f.result() for f in futures)
    return sent, time.monotonic() - start


def _cpu(pid: int) -> tuple[float, float]:
    """Return the CPU seconds (user, system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _percentile(hist: Counter[int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return float("nan")
    rank = q * total
    seen = 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= rank:
            return float(ms)
    return float(max(hist))


def run(subscribers: list[int], rate: int, seconds: float, db_kind: str, filtered: bool) -> list[dict[str, Any]]:
    """Run every scenario and return one result row per subscriber count."""
    tmp = Path(tempfile.mkdtemp(prefix="pacte-stream-bench-"))
    db = str(tmp / "hub.sqlite3") if db_kind == "sqlite" else f"{PG}?schema=bench_{uuid.uuid4().hex[:12]}"
    writer, tokens = _setup(db, max(subscribers))
    port = _free_port()
    env = {**os.environ, "PACTE_DB": db}
    server = subprocess.Popen([PACTE, "serve", "--db", db, "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rows: list[dict[str, Any]] = []
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/api/v1/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for n in subscribers:
            tok_file = tmp / f"tokens-{n}.txt"
            tok_file.write_text("\n".join(f"{t}?type={TYPES[i % len(TYPES)]}" if filtered else t
                                           for i, t in enumerate(tokens[:n])))
            cli = subprocess.Popen([sys.executable, __file__, "--client", str(port), str(tok_file)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert cli.stdin is not None and cli.stdout is not None
            assert cli.stdout.readline().strip() == "READY"
            stop = threading.Event()
            _ingest(base, writer, rate, 1.0, 0.05, stop)  # warm-up, not measured
            time.sleep(0.5)
            cli.stdin.write("START\n")
            cli.stdin.flush()
            cpu0 = {"server": _cpu(server.pid), "client": _cpu(cli.pid), "bench": _cpu(os.getpid())}
            sent, took = _ingest(base, writer, rate, seconds, 0.05, stop)
            cpu: dict[str, float] = {}
            for k, pid in (("server", server.pid), ("client", cli.pid), ("bench", os.getpid())):
                user, system = (now - before for now, before in zip(_cpu(pid), cpu0[k], strict=True))
                cpu[k] = round((user + system) / took, 2)
                cpu[k + "_sys"] = round(system / took, 2)
            time.sleep(3.0)  # drain
            cli.stdin.write("STOP\n")
            cli.stdin.flush()
            result = orjson.loads(cli.stdout.readline())
            cli.wait(30)
            hist = Counter({int(k): v for k, v in result["hist"].items()})
            expected = sent * n // (len(TYPES) if filtered else 1)
            row = {"subscribers": n, "ingested_per_s": round(sent / took), "p50_ms": _percentile(hist, 0.50),
                   "p99_ms": _percentile(hist, 0.99), "max_ms": float(max(hist)) if hist else float("nan"),
                   "delivered_per_s": round(result["events"] / took), "received": result["events"],
                   "expected": expected, "cpu_cores": cpu, "load": [round(x, 2) for x in os.getloadavg()],
                   "utc": time.strftime("%H:%M", time.gmtime())}
            rows.append(row)
            print(orjson.dumps(row).decode(), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if db_kind == "postgres":
            from pacte.store.postgres import PostgresStore

            store = PostgresStore(db)
            store.drop_schema()
            store.close()
    return rows


def main() -> None:
    """Parse arguments and run the benchmark (or, internally, the subscriber process)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", default="1,100,1000")
    ap.add_argument("--rate", type=int, default=1000, help="objects published per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured ingest time per scenario")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--filtered", action="store_true",
                    help="each subscriber filters one of 5 STIX types (receives 1/5 of the objects)")
    args = ap.parse_args()
    rows = run([int(x) for x in args.subscribers.split(",")], args.rate, args.seconds, args.db, args.filtered)
    print("\n| subscribers | ingested obj/s | p50 ms | p99 ms | max ms | events/s delivered | received/expected"
          " | CPU hub/client | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['subscribers']} | {r['ingested_per_s']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f}"
              f" | {r['delivered_per_s']} | {r['received']}/{r['expected']}"
              f" | {r['cpu_cores']['server']}/{r['cpu_cores']['client']} | {r['load'][0]} |")


if __name__ == "__main__":
    main()
