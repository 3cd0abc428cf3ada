#!/usr/bin/env python3
"""The client side of ``bench/load.py``: one process running its share of the concurrent clients.

Mixed clients loop over a weighted mix of native and TAXII reads and writes with an exponential
think time; stream clients hold one SSE connection each and record the load objects they receive.
Every unexpected status, wrong body, timeout, transport error or broken stream is counted as an
error of its operation. The process writes its results (latencies after the warm-up, errors,
acknowledged writes, what each stream received) as JSON next to its config, for ``bench/load.py``.

    .venv/bin/python bench/loadclient.py CONFIG_JSON PART     (started by bench/load.py)
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

GROUP = "load-group"
TAXII = "application/taxii+json;version=2.1"
READ_TYPES = ("attack-pattern", "malware", "intrusion-set", "tool", "indicator", "course-of-action")
WEIGHTS = {"api_list": 12, "api_page": 8, "api_get": 15, "taxii_objects": 10, "taxii_next": 6,
           "taxii_manifest": 8, "taxii_get": 8, "api_post": 8, "taxii_post": 5}
DRAIN = 5.0  # seconds streams keep reading after the last write


class Stats:
    """Per-operation latencies (after the warm-up), counts and errors of one client process."""

    def __init__(self, warm_end: float) -> None:
        self.warm_end = warm_end
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter[str]] = defaultdict(Counter)
        self.samples: list[str] = []

    def ok(self, op: str, started: float, took: float) -> None:
        """Record one successful operation (its latency counts only after the warm-up)."""
        if started >= self.warm_end:
            self.lat[op].append(took * 1000.0)

    def error(self, op: str, why: str, detail: str = "") -> None:
        """Record one failed operation, whenever it happened."""
        self.errors[op][why] += 1
        if len(self.samples) < 30:
            self.samples.append(f"{time.strftime('%H:%M:%S')} {op} {why} {detail[:300]}")


class Expect(Exception):
    """A response that is not what the operation expects."""


def _indicators(n: int, sent_ns: int) -> list[dict[str, Any]]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return [{"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now,
             "modified": now, "name": f"load {sent_ns}", "pattern_type": "stix", "valid_from": now,
             "pattern": f"[ipv4-addr:value = '198.51.{random.randrange(256)}.{random.randrange(256)}']"}
            for _ in range(n)]


class Worker:
    """One client of the mix: reads and writes with think time until the end of the run."""

    def __init__(self, spec: dict[str, Any], cfg: dict[str, Any], http: httpx.AsyncClient, stats: Stats,
                 acked: list[tuple[str, str, int]], recent: deque[str]) -> None:
        self.spec, self.cfg, self.http, self.stats, self.acked, self.recent = spec, cfg, http, stats, acked, recent
        self.auth = {"Authorization": f"Bearer {spec['token']}"}
        self.taxii = {**self.auth, "Accept": TAXII}
        self.rnd = random.Random(spec["index"])
        self.ops = list(WEIGHTS)
        self.weights = list(WEIGHTS.values())

    async def run(self) -> None:
        """Loop over the weighted mix until the end time."""
        end, think = self.cfg["end"], self.cfg["think"]
        await asyncio.sleep(max(0.0, self.cfg["t0"] - time.time()) + self.rnd.random() * min(1.0, think * 5))
        while time.time() < end:
            op = self.rnd.choices(self.ops, self.weights)[0]
            await getattr(self, op)(op)
            if think > 0:
                await asyncio.sleep(self.rnd.expovariate(1.0 / think))

    async def _call(self, op: str, method: str, path: str, expect: int, **kw: Any) -> Any:
        """One request: time it, check its status, return its JSON (None when it failed)."""
        started = time.time()
        t = time.perf_counter()
        try:
            resp = await self.http.request(method, path, **kw)
            body = resp.content
            took = time.perf_counter() - t
            if resp.status_code != expect:
                raise Expect(f"HTTP {resp.status_code}: {body[:200]!r}")
            doc = orjson.loads(body)
        except Expect as exc:
            self.stats.error(op, "status", f"{path} {exc}")
            return None
        except httpx.TimeoutException as exc:
            self.stats.error(op, "timeout", f"{path} {type(exc).__name__}")
            return None
        except (httpx.HTTPError, OSError) as exc:
            self.stats.error(op, "transport", f"{path} {type(exc).__name__}: {exc}")
            return None
        except orjson.JSONDecodeError as exc:
            self.stats.error(op, "body", f"{path} {exc}")
            return None
        self.stats.ok(op, started, took)
        return doc

    def _check(self, op: str, cond: bool, detail: str) -> bool:
        if not cond:
            self.stats.error(op, "body", detail)
        return cond

    async def api_list(self, op: str) -> None:
        """List with a type filter."""
        kind = self.rnd.choice(READ_TYPES)
        doc = await self._call(op, "GET", f"/api/v1/objects?type={kind}&limit=50", 200, headers=self.auth)
        if doc is not None:
            self._check(op, all(o["type"] == kind for o in doc["objects"]), f"type filter {kind} not applied")

    async def api_page(self, op: str) -> None:
        """Page through a collection by ``next`` cursor (up to 3 pages)."""
        coll = self.rnd.choice(self.spec["read_names"])
        coll = quote(coll, safe="")
        path = f"/api/v1/objects?collection={coll}&limit=100"
        for _ in range(3):
            doc = await self._call(op, "GET", path, 200, headers=self.auth)
            if doc is None or not doc.get("more"):
                return
            if not self._check(op, bool(doc.get("next")), "more without next"):
                return
            path = f"/api/v1/objects?collection={coll}&limit=100&cursor={doc['next']}"

    def _some_id(self) -> str:
        if self.recent and self.rnd.random() < 0.3:
            return self.rnd.choice(self.recent)
        return self.rnd.choice(self.cfg["seed_ids"])

    async def api_get(self, op: str) -> None:
        """Object by id (ATT&CK, or a community write just acknowledged)."""
        oid = self._some_id()
        doc = await self._call(op, "GET", f"/api/v1/objects/{oid}", 200, headers=self.auth)
        if doc is not None:
            self._check(op, bool(doc["objects"]) and doc["objects"][0]["id"] == oid, f"{oid} not returned")

    async def taxii_objects(self, op: str) -> None:
        """TAXII objects with ``match[type]``."""
        kind = self.rnd.choice(READ_TYPES)
        doc = await self._call(op, "GET", f"/taxii2/pacte/collections/{self.cfg['community']}/objects/"
                               f"?match[type]={kind}&limit=50", 200, headers=self.taxii)
        if doc is not None:
            self._check(op, all(o["type"] == kind for o in doc.get("objects", [])), f"match[type]={kind} ignored")

    async def taxii_next(self, op: str) -> None:
        """TAXII objects paged by ``next`` (up to 3 pages of 200)."""
        coll = self.rnd.choice(self.spec["read_uuids"])
        base = f"/taxii2/pacte/collections/{coll}/objects/?limit=200"
        path = base
        for _ in range(3):
            doc = await self._call(op, "GET", path, 200, headers=self.taxii)
            if doc is None or not doc.get("more"):
                return
            if not self._check(op, bool(doc.get("next")), "more without next"):
                return
            path = f"{base}&next={doc['next']}"

    async def taxii_manifest(self, op: str) -> None:
        """TAXII manifest, filtered by type half of the time."""
        extra = f"&match[type]={self.rnd.choice(READ_TYPES)}" if self.rnd.random() < 0.5 else ""
        await self._call(op, "GET", f"/taxii2/pacte/collections/{self.cfg['community']}/manifest/?limit=100{extra}",
                         200, headers=self.taxii)

    async def taxii_get(self, op: str) -> None:
        """TAXII object by id."""
        oid = self._some_id()
        doc = await self._call(op, "GET", f"/taxii2/pacte/collections/{self.cfg['community']}/objects/{oid}/", 200,
                               headers=self.taxii)
        if doc is not None:
            objs = doc.get("objects", [])
            self._check(op, bool(objs) and objs[0]["id"] == oid, f"{oid} not returned")

    def _target(self) -> tuple[str, str, str]:
        """Return (audience, native collection name, TAXII collection uuid) of a write."""
        r = self.rnd.random()
        spec = self.spec
        if r < 0.2 and spec["group_uuid"]:
            return "group", GROUP, spec["group_uuid"]
        if r < 0.4:
            return f"private:{spec['org']}", spec["private_name"], spec["private_uuid"]
        return "community", "community", self.cfg["community"]

    def _acked(self, audience: str, objs: list[dict[str, Any]], sent_ns: int) -> None:
        for o in objs:
            self.acked.append((o["id"], audience, sent_ns))
            if audience == "community":
                self.recent.append(o["id"])

    async def api_post(self, op: str) -> None:
        """Native POST of a bundle of 1-5 indicators."""
        audience, name, _ = self._target()
        sent = time.time_ns()
        objs = _indicators(self.rnd.randint(1, 5), sent)
        body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs})
        doc = await self._call(op, "POST", f"/api/v1/collections/{quote(name, safe='')}/objects", 200, content=body,
                               headers={**self.auth, "Content-Type": "application/json"})
        if doc is not None and self._check(op, doc.get("success_count") == len(objs) and not doc.get("failure_count"),
                                           f"bundle not stored whole: {str(doc)[:200]}"):
            self._acked(audience, objs, sent)

    async def taxii_post(self, op: str) -> None:
        """TAXII POST of an envelope of 1-5 indicators (the status must be complete)."""
        audience, _, coll = self._target()
        sent = time.time_ns()
        objs = _indicators(self.rnd.randint(1, 5), sent)
        doc = await self._call(op, "POST", f"/taxii2/pacte/collections/{coll}/objects/", 202,
                               content=orjson.dumps({"objects": objs}),
                               headers={**self.taxii, "Content-Type": TAXII})
        if doc is not None and self._check(op, doc.get("status") == "complete" and doc.get("success_count") == len(objs),
                                           f"status not complete: {str(doc)[:200]}"):
            self._acked(audience, objs, sent)


class Subscriber:
    """One live stream: records the load objects it receives and their lag; resumes if it breaks."""

    def __init__(self, spec: dict[str, Any], cfg: dict[str, Any], http: httpx.AsyncClient, stats: Stats) -> None:
        self.spec, self.cfg, self.http, self.stats = spec, cfg, http, stats
        self.opened_ns = 0
        self.received: set[str] = set()
        self.lags: list[float] = []
        self.last_id: str | None = None
        self.duplicates = 0

    async def run(self) -> None:
        """Hold the stream until the end of the run plus the drain time."""
        stop = self.cfg["end"] + DRAIN
        while time.time() < stop:
            try:
                await asyncio.wait_for(self._once(), timeout=max(0.1, stop - time.time()))
            except TimeoutError:
                return  # the end of the run, not a failure
            except (httpx.HTTPError, OSError, Expect) as exc:
                self.stats.error("stream", "broken", f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.5)
                continue
            if time.time() < stop:
                self.stats.error("stream", "ended", "the server ended the stream")

    async def _once(self) -> None:
        headers = {"Authorization": f"Bearer {self.spec['token']}", "Accept": "text/event-stream"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        async with self.http.stream("GET", "/api/v1/stream", headers=headers) as resp:
            if resp.status_code != 200:
                raise Expect(f"HTTP {resp.status_code}")
            if not self.opened_ns:
                self.opened_ns = time.time_ns()
            buf = b""
            async for chunk in resp.aiter_raw():
                now = time.time_ns()
                buf += chunk
                cut = buf.rfind(b"\n\n")
                if cut < 0:
                    continue
                events, buf = buf[:cut].split(b"\n\n"), buf[cut + 2:]
                for ev in events:
                    self._event(ev, now)

    def _event(self, ev: bytes, now: int) -> None:
        fields = dict(line.split(b": ", 1) for line in ev.split(b"\n") if b": " in line and not line.startswith(b":"))
        if b"id" in fields:
            self.last_id = fields[b"id"].decode()
        if fields.get(b"event") == b"error":
            self.stats.error("stream", "error_event", fields.get(b"data", b"").decode())
        if fields.get(b"event") != b"object":
            return
        obj = orjson.loads(fields[b"data"])["object"]
        name = obj.get("name", "")
        if not name.startswith("load "):
            return
        if obj["id"] in self.received:
            self.duplicates += 1
        self.received.add(obj["id"])
        if now / 1e9 >= self.cfg["warm_end"]:
            self.lags.append((now - int(name[5:])) / 1e6)


async def _loop_lag(cfg: dict[str, Any], out: list[float]) -> None:
    """Measure how late this process's event loop wakes a 100 ms sleeper (a saturated client shows here)."""
    while time.time() < cfg["end"]:
        t = time.perf_counter()
        await asyncio.sleep(0.1)
        if time.time() >= cfg["warm_end"]:
            out.append((time.perf_counter() - t - 0.1) * 1000.0)


async def _client_main(cfg: dict[str, Any], part: int) -> dict[str, Any]:
    specs = [s for s in cfg["clients"] if s["proc"] == part]
    stats = Stats(cfg["warm_end"])
    acked: list[tuple[str, str, int]] = []
    recent: deque[str] = deque(maxlen=2000)
    timeout = httpx.Timeout(cfg["timeout"], connect=cfg["timeout"])
    limits = httpx.Limits(max_connections=len(specs) + 10, max_keepalive_connections=len(specs) + 10,
                          keepalive_expiry=2.0)  # below uvicorn's 5 s keep-alive: no reuse of a closing socket
    base = cfg["base"]
    lag: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http, \
            httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(45.0, connect=cfg["timeout"]),
                              limits=httpx.Limits(max_connections=len(specs) + 10)) as streams:
        subs = [Subscriber(s, cfg, streams, stats) for s in specs if s["kind"] == "stream"]
        workers = [Worker(s, cfg, http, stats, acked, recent) for s in specs if s["kind"] == "mixed"]
        await asyncio.gather(*(s.run() for s in subs), *(w.run() for w in workers), _loop_lag(cfg, lag))
    return {"lat": stats.lat, "errors": {k: dict(v) for k, v in stats.errors.items()}, "samples": stats.samples,
            "acked": acked, "loop_lag": lag,
            "subs": [{"org": s.spec["org"], "opened_ns": s.opened_ns, "received": sorted(s.received),
                      "lags": s.lags, "duplicates": s.duplicates} for s in subs]}


def client(cfg_file: str, part: int) -> None:
    """Run one client process (its share of the clients) and write its results next to the config."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    cfg = orjson.loads(Path(cfg_file).read_bytes())
    result = asyncio.run(_client_main(cfg, part))
    Path(f"{cfg_file}.{part}.out").write_bytes(orjson.dumps(result))


if __name__ == "__main__":
    client(sys.argv[1], int(sys.argv[2]))
