"""The engine of the crash-safety runs: real ``pacte serve`` processes SIGKILLed at random under load.

Used by ``bench/crash.py`` (200 kills per backend) and ``tests/durability/test_crash.py`` (a few).

Real server processes serve the hub: one on SQLite, two on one PostgreSQL schema. Writer
threads post bundles of 1-50 indicators (new ids, and new versions of objects they had
acknowledged), half through the native API (``POST /api/v1/collections/community/objects``),
half through TAXII (``POST /taxii2/pacte/collections/{id}/objects/``); a stream reader follows
``GET /api/v1/stream`` from the start of the log and resumes with ``Last-Event-ID`` after every
kill. A killer waits until the chosen server has acknowledged a write since it (re)started,
then SIGKILLs it after a uniform random delay and restarts it on the same port (PostgreSQL: one
of the two processes at random, sometimes both). After the last kill every server is killed and
restarted once more, and the run is checked:

* every acknowledged version (id, producer, modified) is stored exactly once, with its share and
  one ``object`` event, and is listed exactly once by ``GET /api/v1/objects?versions=all``;
* a write that was not acknowledged (connection dropped, 5xx) is all or nothing: every version of
  its bundle with share and event, or none of them; a write the server never received is absent;
  no indicator is stored that no client sent;
* the stream delivered exactly the reader's events of the log, in order, none twice, none missing;
* every acknowledged TAXII status resource is stored; SQLite ``PRAGMA integrity_check`` is ``ok``.

A writer acknowledges an API write on 200 with every object a success, a TAXII write on 202
with a status whose successes list every (id, version) posted.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from tests.durability.crashcheck import (
    Attempt,
    Report,
    api_versions,
    check_stream,
    check_writes,
    expected_events,
    read_store,
)

from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.positions import Surface
from pacte.policy import CollectionKind, Role
from pacte.store import open_store

PG = os.environ.get("PACTE_BENCH_PG", os.environ.get("PACTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
TAXII_TYPE = "application/taxii+json;version=2.1"
BASE = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass
class Config:
    """One crash run: backend, number of kills, clients, kill delay range."""

    backend: str = "sqlite"
    kills: int = 200
    seed: int = 1
    api_writers: int = 2
    taxii_writers: int = 2
    kill_after: tuple[float, float] = (0.05, 1.5)  # seconds after the server acknowledged a write
    both_share: float = 0.1  # PostgreSQL: share of kills that hit both processes at once
    db_url: str | None = None  # None: a fresh SQLite file / PostgreSQL schema, removed after a clean run
    keep: bool = False
    quiet: bool = False




def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stamp(ms: int) -> str:
    """Return the STIX timestamp ``ms`` milliseconds after the run's base time."""
    dt = BASE + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class Server:
    """One ``pacte serve`` process on a fixed port, restartable."""

    def __init__(self, url: str, port: int, log: Path) -> None:
        self.url, self.port, self.log = url, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.acks = 0  # writes acknowledged by this server (read by the killer)
        self.in_flight = 0

    def start(self) -> None:
        """Start the process and wait until it answers HTTP."""
        env = {**os.environ, "PACTE_DB": self.url, "PACTE_STREAM_HEARTBEAT_SECONDS": "1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "pacte.cli.main", "serve", "--port", str(self.port)],
                                         env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server on port {self.port} exited {self.proc.returncode}; see {self.log}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/api/v1/whoami", timeout=5)  # any answer: up
                return
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError(f"server on port {self.port} not ready after 60 s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.kills += 1

    def stop(self) -> None:
        """Stop the process gracefully (SIGTERM), SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)


class Run:
    """The shared state of a run: servers, credentials, attempts, stream records."""

    def __init__(self, cfg: Config, url: str, workdir: Path) -> None:
        self.cfg, self.url, self.workdir = cfg, url, workdir
        self.rng = random.Random(cfg.seed)
        n = 2 if cfg.backend == "postgres" else 1
        self.servers = [Server(url, free_port(), workdir / f"server-{i}.log") for i in range(n)]
        self.lock = threading.Lock()
        self.stop_writing = threading.Event()
        self.stop_reading = threading.Event()
        self.attempts: list[Attempt] = []
        self.connect_errors = 0
        self.received: list[tuple[str, str, str | None, str | None]] = []  # (event id, kind, object id, modified)
        self.last_event_id = "0"
        self.connections = 0  # streams opened (the first, then one per resume)
        self.kills_in_flight = 0
        self.restarts: list[float] = []  # seconds from SIGKILL to answering HTTP again, per kill
        self.stream_errors: list[str] = []
        self.writers: list[tuple[str, int, str]] = []  # (surface, producer org id, secret)
        self.reader_secret = ""
        self.reader_org = 0
        self.taxii_collection = ""
        self.community = 0

    # setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create the writer and reader members, their tokens, and find the community collection."""
        store = open_store(self.url)
        hub = Hub(store, Settings(db_url=self.url))
        try:
            surfaces = ["api"] * self.cfg.api_writers + ["taxii"] * self.cfg.taxii_writers
            for i, surface in enumerate(surfaces):
                org = m.add_org(store, hub.ids, hub.clock, f"Writer {i} ({surface})", None)
                _, secret = m.new_token(store, hub.ids, hub.clock, org, Role.ANALYST, None)
                self.writers.append((surface, org.org_id, secret))
            reader = m.add_org(store, hub.ids, hub.clock, "Stream reader", None)
            _, self.reader_secret = m.new_token(store, hub.ids, hub.clock, reader, Role.READER, None)
            self.reader_org = reader.org_id
            community = next(c for c in hub.collections_for(reader) if c.kind is CollectionKind.COMMUNITY)
            self.taxii_collection, self.community = community.uuid, community.cid
        finally:
            hub.close()

    # clients -------------------------------------------------------------------------------

    def pick(self) -> Server:
        """Return a server at random (clients are spread across every process)."""
        with self.lock:
            return self.servers[self.rng.randrange(len(self.servers))]

    def writer(self, index: int) -> None:
        """Post bundles until told to stop; record each attempt and how it ended."""
        surface, producer, secret = self.writers[index]
        rng = random.Random(self.cfg.seed * 1000 + index)
        tick = index * 10**9  # modified values of different writers never meet
        mine: list[tuple[str, str]] = []  # acknowledged (id, created) of this writer, for new versions
        auth = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(timeout=60) as client:
            while not self.stop_writing.is_set():
                n = rng.randint(1, 50)
                old = rng.sample(mine, min(len(mine), rng.randint(0, n // 3))) if mine and rng.random() < 0.5 else []
                objs: list[dict[str, Any]] = []
                for oid, created in old:
                    tick += 1
                    objs.append(_indicator(oid, created, stamp(tick), tick))
                while len(objs) < n:
                    tick += 1
                    objs.append(_indicator(f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                                           stamp(tick), stamp(tick), tick))
                attempt = Attempt(surface, producer, [(o["id"], producer, o["modified"]) for o in objs],
                                  renewed=len(old))
                while True:  # a connection that could not be made sent nothing: try another server
                    server = self.pick()
                    with self.lock:
                        server.in_flight += 1
                    try:
                        self._post(client, server, surface, auth, objs, attempt)
                        break
                    except httpx.ConnectError:
                        with self.lock:
                            self.connect_errors += 1
                        time.sleep(0.01)
                    except httpx.TransportError as exc:
                        attempt.outcome, attempt.note = "unknown", type(exc).__name__
                        break
                    finally:
                        with self.lock:
                            server.in_flight -= 1
                with self.lock:
                    self.attempts.append(attempt)
                    if attempt.outcome == "acked":
                        server.acks += 1
                if attempt.outcome == "acked":
                    mine.extend((o["id"], o["created"]) for o in objs if o["created"] == o["modified"])

    def _post(self, client: httpx.Client, server: Server, surface: str, auth: dict[str, str],
              objs: list[dict[str, Any]], attempt: Attempt) -> None:
        base = f"http://127.0.0.1:{server.port}"
        want = {(o["id"], o["modified"]) for o in objs}
        if surface == "api":
            body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs})
            r = client.post(f"{base}/api/v1/collections/community/objects", content=body,
                            headers={**auth, "Content-Type": "application/json"})
            if r.status_code == 200:
                doc = r.json()
                got = {(o["id"], o["version"]) for o in doc["results"] if o["status"] == "success"}
                if doc["failure_count"] == 0 and got == want:
                    attempt.outcome = "acked"
                    return
        else:
            body = orjson.dumps({"objects": objs})
            r = client.post(f"{base}/taxii2/pacte/collections/{self.taxii_collection}/objects/", content=body,
                            headers={**auth, "Content-Type": TAXII_TYPE, "Accept": TAXII_TYPE})
            if r.status_code == 202:
                doc = r.json()
                got = {(o["id"], o["version"]) for o in doc["successes"]}
                if doc["status"] == "complete" and doc["failure_count"] == 0 and got == want:
                    attempt.outcome, attempt.status_id = "acked", doc["id"]
                    return
        attempt.outcome = "unknown" if r.status_code >= 500 else "rejected"
        attempt.note = f"HTTP {r.status_code}: {r.text[:300]}"

    def reader(self) -> None:
        """Follow the stream from the start of the log, resuming with Last-Event-ID after every drop."""
        auth = {"Authorization": f"Bearer {self.reader_secret}"}
        while not self.stop_reading.is_set():
            server = self.pick()
            try:
                with httpx.Client(timeout=httpx.Timeout(10, read=10)) as client, client.stream(
                        "GET", f"http://127.0.0.1:{server.port}/api/v1/stream",
                        headers={**auth, "Last-Event-ID": self.last_event_id}) as r:
                    if r.status_code != 200:
                        self.stream_errors.append(f"HTTP {r.status_code}: {r.read()[:300]!r}")
                        time.sleep(0.2)
                        continue
                    self.connections += 1
                    self._follow(r)
            except httpx.TransportError:
                time.sleep(0.01)

    def _follow(self, r: httpx.Response) -> None:
        event_id: str | None = None
        kind = data = None
        for line in r.iter_lines():
            if self.stop_reading.is_set():
                return
            if line == "":  # the end of one event: only now is it received
                if kind == "error":
                    self.stream_errors.append(f"error event: {data}")
                elif event_id is not None and kind is not None:
                    doc = orjson.loads(data or "{}")
                    obj = doc.get("object") or {}
                    self.received.append((event_id, kind, obj.get("id"), obj.get("modified")))
                if event_id is not None:
                    self.last_event_id = event_id
                event_id = kind = data = None
            elif line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]

    # the killer ----------------------------------------------------------------------------

    def kill_loop(self) -> list[str]:
        """Kill and restart servers ``kills`` times; return problems seen while doing so."""
        problems: list[str] = []
        lo, hi = self.cfg.kill_after
        order: list[int] = list(range(len(self.servers)))
        self.rng.shuffle(order)  # PostgreSQL: the first kills hit each process, then at random
        kill_no = 0
        while kill_no < self.cfg.kills:
            if kill_no < len(order):
                targets = [self.servers[order[kill_no]]]
            elif len(self.servers) > 1 and self.rng.random() < self.cfg.both_share:
                targets = list(self.servers)
            else:
                targets = [self.servers[self.rng.randrange(len(self.servers))]]
            deadline = time.monotonic() + 30
            start = [t.acks for t in targets]
            while any(t.acks == a for t, a in zip(targets, start, strict=True)) and time.monotonic() < deadline:
                time.sleep(0.005)
            if time.monotonic() >= deadline:
                problems.append(f"kill {kill_no}: no write acknowledged for 30 s before the kill")
            time.sleep(self.rng.uniform(lo, hi))
            with self.lock:
                busy = sum(t.in_flight for t in targets)
            for t in targets:
                t.kill()
            self.kills_in_flight += busy > 0
            restart = time.monotonic()
            for t in targets:
                t.start()
            self.restarts.append(time.monotonic() - restart)
            kill_no += 1
            if not self.cfg.quiet and kill_no % 20 == 0:
                print(f"  {kill_no} kills, {len(self.attempts)} writes, {len(self.received)} events", flush=True)
        return problems


def _indicator(oid: str, created: str, modified: str, tick: int) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": oid, "created": created, "modified": modified,
            "name": f"crash {tick}", "pattern_type": "stix",
            "pattern": f"[ipv4-addr:value = '198.51.{tick // 250 % 250}.{tick % 250}']",
            "valid_from": "2024-05-01T00:00:00Z"}



def run(cfg: Config) -> Report:
    """Run one crash campaign on one backend and check it; return figures and violations."""
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"pacte-crash-{cfg.backend}-"))
    url = cfg.db_url or (str(workdir / "hub.sqlite3") if cfg.backend == "sqlite"
                         else f"{PG}{'&' if '?' in PG else '?'}schema=crash_{uuid.uuid4().hex[:12]}")
    r = Run(cfg, url, workdir)
    rep = Report()
    r.setup()
    threads = [threading.Thread(target=r.writer, args=(i,), daemon=True) for i in range(len(r.writers))]
    reader = threading.Thread(target=r.reader, daemon=True)
    try:
        for s in r.servers:
            s.start()
        reader.start()
        for t in threads:
            t.start()
        rep.violations += r.kill_loop()
        t_kills = time.monotonic()
        time.sleep(0.5)
        r.stop_writing.set()
        for t in threads:
            t.join(120)
        for s in r.servers:  # the final restart: every process killed once more, nothing written since
            s.kill()
            s.kills -= 1
        for s in r.servers:
            s.start()
        store = open_store(url)
        hub = Hub(store, Settings(db_url=url))
        try:
            expected = expected_events(r, store)
            positions = hub.positions.reader(Surface.STREAM, r.reader_org)
            target = expected[-1].eid if expected else 0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (positions.open(r.last_event_id) or 0) < target:
                time.sleep(0.1)
            r.stop_reading.set()
            reader.join(30)
            listed = api_versions(r)
            for s in r.servers:
                s.stop()
            t_final = time.monotonic()
            check_stream(r, hub, expected, rep)
        finally:
            hub.close()
        check_writes(r, read_store(url, r.community), listed, rep)
    finally:
        r.stop_writing.set()
        r.stop_reading.set()
        for s in r.servers:
            s.stop()
    rep.figures = {"backend": cfg.backend, "server processes": len(r.servers),
                   "kills": len(r.restarts), "processes killed per server": [s.kills for s in r.servers],
                   "restart seconds (median / max)": f"{statistics.median(r.restarts or [0]):.2f}"
                                                     f" / {max(r.restarts or [0]):.2f}",
                   "kills with a write in flight": r.kills_in_flight, **rep.figures,
                   "seconds": round(time.monotonic() - t0, 1),
                   "  of which kill loop / final restart and reads / checks":
                       f"{t_kills - t0:.1f} / {t_final - t_kills:.1f} / {time.monotonic() - t_final:.1f}"}
    if cfg.backend == "postgres" and cfg.kills >= 2 and min(s.kills for s in r.servers) == 0:
        rep.violations.append("a PostgreSQL process was never killed")
    if rep.violations or cfg.keep:
        rep.figures["kept"] = f"{url} (logs in {workdir})"
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        if cfg.db_url is None and cfg.backend == "postgres":
            s = open_store(url)
            s.drop_schema()  # type: ignore[attr-defined]
            s.close()
    return rep
