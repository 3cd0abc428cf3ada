"""The engine of the crash-safety runs: real ``pacte serve`` processes SIGKILLed at random under load.

Used by ``bench/crash.py`` (200 kills per backend) and ``tests/durability/test_crash.py`` (a few).

Real server processes serve the hub: one on SQLite, two on one PostgreSQL schema. Writer
threads post bundles of 1-50 indicators (new ids, and new versions of objects they had
acknowledged), half through the native API (``POST /api/v1/collections/community/objects``),
half through TAXII (``POST /taxii2/pacte/collections/{id}/objects/``); a stream reader follows
``GET /api/v1/stream`` from the start of the log and resumes with ``Last-Event-ID`` after every
kill. Half of the writes whose answer was lost are sent again as they were, like a client that
retries. Servers are forked by a launcher process that imported pacte once (each child runs the
``pacte serve`` command; ``Config.fork=False`` starts a fresh interpreter instead). A killer waits until the chosen server has acknowledged a write since it (re)started,
then SIGKILLs it after a uniform random delay and restarts it on the same port (PostgreSQL: one
of the two processes at random, sometimes both). After the last kill every server is killed and
restarted once more, and the run is checked:

* every acknowledged version (id, producer, modified) is stored exactly once, with its share and
  one ``object`` event, and is listed exactly once by ``GET /api/v1/objects?versions=all``;
* a write that was not acknowledged (connection dropped, 5xx) is all or nothing: every version of
  its bundle with share and event, or none of them (a POST whose connection could not be made
  reached no server and is sent again); no indicator is stored that no client sent;
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
from itertools import pairwise
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
    fork: bool = True  # servers forked by a launcher that imported pacte once; False: a fresh interpreter each
    retry_share: float = 0.5  # share of unacknowledged writes sent again (the same bundle)
    db_url: str | None = None  # None: a fresh SQLite file / PostgreSQL schema, removed after a clean run
    keep: bool = False
    quiet: bool = False




def free_port() -> int:
    """Return a TCP port free on loopback now, below Linux's ephemeral range.

    A server is restarted on its port hundreds of times; while it is down, a port of the
    ephemeral range (32768-60999) can be taken as the local end of any outgoing connection.
    """
    rng = random.Random()
    while True:
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def stamp(ms: int) -> str:
    """Return the STIX timestamp ``ms`` milliseconds after the run's base time."""
    dt = BASE + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# The forking launcher: imports the server's code once, then forks one child per start. Each child
# runs the ``pacte serve`` command itself; SIGKILL ends it like any process. On a loaded machine a
# fresh interpreter takes 1-20 s to import (0.9 s of CPU), which would make 200 kills take hours.
LAUNCHER = """
import os, signal, sys
import pacte.cli.main, pacte.cli.serving, pacte.api.app, pacte.store.sqlite, pacte.store.postgres
for name in ("uvloop", "httptools", "uvicorn.protocols.http.httptools_impl", "uvicorn.lifespan.on",
             "uvicorn.protocols.websockets.auto", "uvicorn.loops.auto"):
    try:
        __import__(name)
    except ImportError:
        pass
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
for line in sys.stdin:
    port, log = line.rstrip("\\n").split(" ", 1)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        try:
            pacte.cli.main.cli.main(["serve", "--port", port], prog_name="pacte")
        finally:
            os._exit(0)
    print(pid, flush=True)
"""


class Launcher:
    """A process that has imported pacte and forks a ``pacte serve`` child on demand."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def spawn(self, port: int, log: Path) -> int:
        """Fork a server on ``port`` logging to ``log``; return its pid."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{port} {log}\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        """End the launcher (its children are stopped by their servers)."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exec mode, not yet reaped) is dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


class Server:
    """One ``pacte serve`` process on a fixed port, restartable."""

    def __init__(self, env: dict[str, str], port: int, log: Path, launcher: Launcher | None) -> None:
        self.env, self.port, self.log, self.launcher = env, port, log, launcher
        self.proc: subprocess.Popen[bytes] | None = None  # exec mode only
        self.pid = 0
        self.kills = 0
        self.port_busy = 0  # starts that found the port taken (by another process) and were repeated
        self.acks = 0  # writes acknowledged by this server (read by the killer)
        self.in_flight = 0

    def start(self) -> None:
        """Start the process and wait until it answers HTTP; again while its port is briefly taken."""
        for _ in range(20):
            if self._start():
                return
            time.sleep(0.5)
            self.port_busy += 1
        raise RuntimeError(f"port {self.port} stayed in use; see {self.log}")

    def _start(self) -> bool:
        """Start the process (forked by the launcher, or a fresh interpreter); False if its port was in use."""
        size = self.log.stat().st_size if self.log.exists() else 0
        if self.launcher is not None:
            self.pid = self.launcher.spawn(self.port, self.log)
        else:
            with self.log.open("ab") as out:
                self.proc = subprocess.Popen([sys.executable, "-m", "pacte.cli.main", "serve", "--port", str(self.port)],
                                             env=self.env, stdout=out, stderr=subprocess.STDOUT)
            self.pid = self.proc.pid
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not _alive(self.pid):
                with self.log.open("rb") as f:
                    f.seek(size)
                    if b"address already in use" in f.read():
                        return False
                raise RuntimeError(f"server on port {self.port} exited; see {self.log}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/api/v1/whoami", timeout=5)  # any answer: up
                return True
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"server on port {self.port} not ready after 120 s; see {self.log}")

    def _end(self, sig: int, timeout: float) -> bool:
        os.kill(self.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.proc is not None and self.proc.poll() is not None) or not _alive(self.pid):
                return True
            time.sleep(0.005)
        return False

    def kill(self) -> None:
        """SIGKILL the process and wait until it is gone."""
        if not self._end(signal.SIGKILL, 30):
            raise RuntimeError(f"server {self.pid} survived SIGKILL for 30 s")
        self.kills += 1

    def stop(self) -> None:
        """Stop the process gracefully (SIGTERM), SIGKILL if it lingers."""
        if self.pid and _alive(self.pid) and not self._end(signal.SIGTERM, 15):
            self._end(signal.SIGKILL, 30)


class Run:
    """The shared state of a run: servers, credentials, attempts, stream records."""

    def __init__(self, cfg: Config, url: str, workdir: Path) -> None:
        self.cfg, self.url, self.workdir = cfg, url, workdir
        self.rng = random.Random(cfg.seed)
        n = 2 if cfg.backend == "postgres" else 1
        env = {**os.environ, "PACTE_DB": url, "PACTE_STREAM_HEARTBEAT_SECONDS": "1"}
        self.launcher = Launcher(env) if cfg.fork else None
        self.servers = [Server(env, free_port(), workdir / f"server-{i}.log", self.launcher) for i in range(n)]
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
                versions = [(o["id"], producer, o["modified"]) for o in objs]
                attempt = Attempt(surface, producer, versions, renewed=len(old))
                self._send(client, surface, auth, objs, attempt)
                while attempt.outcome == "unknown" and rng.random() < self.cfg.retry_share:
                    attempt.retried = True  # a client that lost its answer sends the same bundle again
                    attempt = Attempt(surface, producer, versions, renewed=len(old), retry=True)
                    self._send(client, surface, auth, objs, attempt)
                if attempt.outcome == "acked":
                    mine.extend((o["id"], o["created"]) for o in objs if o["created"] == o["modified"])

    def _send(self, client: httpx.Client, surface: str, auth: dict[str, str], objs: list[dict[str, Any]],
              attempt: Attempt) -> None:
        """Post one bundle to a server (another one while connections are refused); record the attempt."""
        while True:
            server = self.pick()
            with self.lock:
                server.in_flight += 1
            try:
                self._post(client, server, surface, auth, objs, attempt)
                break
            except httpx.ConnectError:  # nothing was sent
                with self.lock:
                    self.connect_errors += 1
                time.sleep(0.05)
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
        marks = [time.monotonic()]
        store = open_store(url)
        hub = Hub(store, Settings(db_url=url))
        try:
            expected = expected_events(r, store)
            marks.append(time.monotonic())
            positions = hub.positions.reader(Surface.STREAM, r.reader_org)
            target = expected[-1].eid if expected else 0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (positions.open(r.last_event_id) or 0) < target:
                time.sleep(0.1)
            r.stop_reading.set()
            reader.join(30)
            marks.append(time.monotonic())
            listed = api_versions(r)
            marks.append(time.monotonic())
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
        if r.launcher is not None:
            r.launcher.close()
    rep.figures = {"backend": cfg.backend, "server processes": len(r.servers),
                   "kills": len(r.restarts), "processes killed per server": [s.kills for s in r.servers],
                   "restart seconds (median / max)": f"{statistics.median(r.restarts or [0]):.2f}"
                                                     f" / {max(r.restarts or [0]):.2f}",
                   "kills with a write in flight": r.kills_in_flight,
                   "restarts repeated, port taken": sum(s.port_busy for s in r.servers), **rep.figures,
                   "seconds": round(time.monotonic() - t0, 1),
                   "  of which kill loop / final restart and reads / checks":
                       f"{t_kills - t0:.1f} / {t_final - t_kills:.1f} / {time.monotonic() - t_final:.1f}",
                   "  final: writers stop + restart / log read / stream catch-up / API listing":
                       " / ".join(f"{b - a:.1f}" for a, b in pairwise([t_kills, *marks]))}
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
