#!/usr/bin/env python3
"""Correlation benchmark (issue 11, item 9): one bundle of 43,000 observables shared into a hub holding 1,000,000.

A MISP user reported 2 min 6 s to add one event of 43,000 attributes, and MISP's correlation table reached
291 GB for 10.4 M attributes (about 28 KB per attribute). This script stores ``--stored`` synthetic
observables and indicators through ``Hub.share_as`` (batches of up to 10,000, six members, community, two
sharing groups and a private collection), then shares ``--new`` new objects in one call and measures:

1. the time to store the ``--stored`` objects (reported only);
2. the time (and this process's CPU time) of the one share of ``--new`` objects until it is committed, then
   queryable (Pacte stores no pairs: a correlation is found at read time from the value index ``obs_keys``);
   then 200 of the new objects that overlap stored ones by construction are checked to have (at least) the
   links they were built with, and 50 fresh ones to have none;
3. value search latency (``Hub.search``; hits and misses over addresses, networks, domains, URLs, e-mail
   addresses and hashes) as a member that reads everything and as one that reads only ``community``;
4. ``Hub.correlations`` latency (the read behind ``GET /api/v1/objects/{id}/correlations``);
5. database bytes per stored object at a quarter, half and all of ``--stored`` (SQLite: file and WAL after a
   checkpoint, and per table from ``dbstat``; PostgreSQL: ``pg_total_relation_size`` of the schema's tables).

Everything is deterministic: values, ids (random-looking UUIDv4 from a keyed hash, one per object like MISP's
attribute uuids, so one value shared twice is two objects) and the choice of overlaps come from ``--seed``.
The data is generated here (no file, no licence needed). In process, no HTTP; the machine's load average is
printed beside each figure (2 cores shared with other sessions).

    .venv/bin/python bench/correlate.py                                 # SQLite and PostgreSQL, 1,000,000 stored
    .venv/bin/python bench/correlate.py --backend sqlite --stored 20000 # a quick run
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from pacte.hub import Hub
    from pacte.store.base import Collection, Org

PG = os.environ.get("PACTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "bench_correlate"
MISP_SECONDS = 126.0  # 2 min 6 s for one event of 43,000 attributes (a MISP user's report)
MISP_TABLE_BYTES = 291e9  # MISP's correlation table for 10.4 M attributes
MISP_ATTRIBUTES = 10.4e6
GOAL_SHARE_S = 5.0
GOAL_MEDIAN_MS = 10.0
GOAL_P99_MS = 50.0

# ---------------------------------------------------------------------------------------------- the data
# Stored object i: its kind is fixed by its slot i % 20 (proportions: 30 % IPv4 addresses, 20 % domains,
# 15 % URLs, 15 % files, 10 % e-mail addresses, 10 % indicators); index spaces keep values apart:
# stored objects use indices [0, 5e7), values of stored indicators that point at nothing 5e7 + i, fresh values
# of the new bundle 1e8 + n, values searched for and never stored 1.5e8 + s (all below 2**28: addresses stay distinct).
SLOTS = ["ipv4-addr"] * 6 + ["domain-name"] * 4 + ["url"] * 3 + ["file"] * 3 + ["email-addr"] * 2 + ["indicator"] * 2
IND_KINDS = ("ip", "cidr", "domain", "sha256", "url")
FRESH_INDICATOR, FRESH_NEW, FRESH_SEARCH = 50_000_000, 100_000_000, 150_000_000
ADDR_A = (23, 31, 37, 45, 62, 77, 91, 103, 109, 141, 146, 178, 185, 188, 193, 212)  # addresses
NET_B = (5, 46, 80, 94, 176, 195)  # networks of CIDR indicators (disjoint from ADDR_A)
TLDS = ("com", "net", "org", "info", "io", "biz", "xyz", "top", "ru", "de")
SYLL = ("ka", "lo", "mi", "ne", "ro", "su", "ta", "vi", "zo", "pe", "da", "gu", "fi", "be", "xa", "qu")
CREATED = "2025-01-01T00:00:00.000Z"
SEED_KEY = [b"11"]  # set from --seed before anything is generated


def _h(*parts: object) -> bytes:
    """Return 32 deterministic bytes for these parts."""
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=32, key=SEED_KEY[0]).digest()



def _id(kind: str, tag: str, i: int) -> str:
    """Return a deterministic UUIDv4-shaped STIX id."""
    return f"{kind}--{uuid.UUID(bytes=_h('id', tag, i)[:16], version=4)}"


def _perm(x: int, bits: int) -> int:
    """Return an odd-multiplier permutation of ``x`` on ``bits`` bits (distinct inputs, distinct outputs)."""
    mask = (1 << bits) - 1
    return ((x * 0x5BD1E5 + 0x3C6EF3) & mask) ^ (0xA5A5A5 & mask)


def ip_of(i: int) -> str:
    """Return the distinct IPv4 address of value index ``i``."""
    x = _perm(i, 28)  # 16 first octets x 2**24
    rest = x & 0xFFFFFF
    return f"{ADDR_A[x >> 24]}.{rest >> 16}.{(rest >> 8) & 255}.{rest & 255}"


def cidr_of(i: int) -> tuple[str, int]:
    """Return the distinct /24 network (as text) of value index ``i`` and its integer base address."""
    b = NET_B[i % len(NET_B)]
    rest = _perm(i // len(NET_B), 16)
    base = (b << 24) | (rest << 8)
    return f"{b}.{rest >> 8}.{rest & 255}.0/24", base


def domain_of(i: int) -> str:
    """Return the distinct domain name of value index ``i`` (every fourth one under ``www.`` or ``mail.``)."""
    h = _h("dom", i)
    word = "".join(SYLL[c & 15] for c in h[:3])
    name = f"{word}{i:x}.{TLDS[h[3] % len(TLDS)]}"
    if i % 4 == 3:
        return ("www." if h[4] & 1 else "mail.") + name
    return name


def url_of(i: int, host: str | None = None) -> str:
    """Return the URL of value index ``i`` (on its own host unless one is given)."""
    h = _h("url", i)
    path = "/".join(("dl", "wp-content", "api", "x", "files", "gate")[c % 6] for c in h[:2])
    return f"{'https' if h[2] & 1 else 'http'}://{host or domain_of(i)}/{path}/{h[3:7].hex()}.php"


def hashes_of(i: int) -> tuple[str, str]:
    """Return the MD5-like and SHA-256-like hex digests of value index ``i``."""
    return _h("md5", i)[:16].hex(), _h("sha256", i).hex()


def email_of(i: int, domain: str | None = None) -> str:
    """Return the e-mail address of value index ``i``."""
    return f"{('info', 'admin', 'billing', 'hr', 'noreply')[i % 5]}{i:x}@{domain or domain_of(i)}"


def _ts(i: int) -> str:
    """Return a deterministic STIX timestamp (one second per index within a year)."""
    s = i % 31_000_000
    day, rest = divmod(s, 86400)
    return f"2025-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}.000Z"


def sco(kind: str, oid: str, value: str | tuple[str, str], n: int) -> dict[str, Any]:
    """Return one STIX 2.1 observable (file: MD5 and SHA-256 hashes, else a value)."""
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": oid}
    if kind == "file":
        assert isinstance(value, tuple)
        obj["hashes"] = {"MD5": value[0], "SHA-256": value[1]}
        obj["name"] = f"sample-{n:x}.exe"
    else:
        obj["value"] = value
    return obj


def indicator(oid: str, pattern: str, n: int) -> dict[str, Any]:
    """Return one STIX 2.1 indicator with a STIX pattern."""
    return {"type": "indicator", "spec_version": "2.1", "id": oid, "created": CREATED, "modified": _ts(n),
            "name": f"bench indicator {n:x}", "indicator_types": ["malicious-activity"], "pattern": pattern,
            "pattern_type": "stix", "valid_from": CREATED}


def pattern_for(kind: str, value: str) -> str:
    """Return the STIX pattern of one comparison."""
    path = {"ip": "ipv4-addr:value", "cidr": "ipv4-addr:value", "domain": "domain-name:value",
            "sha256": "file:hashes.'SHA-256'", "url": "url:value", "email": "email-addr:value"}[kind]
    return f"[{path} = '{value}']"


def stored_kind(i: int) -> str:
    """Return the STIX type of stored object ``i``."""
    return SLOTS[i % 20]


def stored_ind_kind(i: int) -> str:
    """Return what stored indicator ``i`` matches (ip, cidr, domain, sha256, url)."""
    return IND_KINDS[(i // 20) % 5]


def stored_id(i: int) -> str:
    """Return the id of stored object ``i``."""
    return _id(stored_kind(i), "stored", i)


def stored_host(i: int) -> str:
    """Return the host of stored URL or e-mail ``i``: its own name, or its block's domain (slot 12, 17)."""
    block = i - i % 20
    if i % 20 == 12:
        return domain_of(block + 6)  # a URL on a stored domain
    if i % 20 == 11:
        return ip_of(block)  # a URL on a stored address
    if i % 20 == 17:
        return domain_of(block + 7)
    return domain_of(i)


def stored_ind_value(i: int) -> str:
    """Return the value stored indicator ``i`` matches: every other one is a stored observable of its block."""
    kind, block, second = stored_ind_kind(i), i - i % 20, i % 20 - 18  # slots 18 and 19 point at two values
    own = (i // 100) % 2 == 0  # half point at their block's observables, half at values stored nowhere else
    j = FRESH_INDICATOR + i
    if kind == "ip":
        return ip_of(block + 1 + second if own else j)
    if kind == "cidr":
        return cidr_of(i)[0]
    if kind == "domain":
        return domain_of(block + 8 + second if own else j)
    if kind == "sha256":
        return hashes_of(block + 13 + second if own else j)[1]
    return str(stored_value(block + 10 + second)) if own else url_of(j)


def stored_object(i: int) -> dict[str, Any]:
    """Return stored object ``i``."""
    kind, oid = stored_kind(i), stored_id(i)
    if kind == "indicator":
        return indicator(oid, pattern_for(stored_ind_kind(i), stored_ind_value(i)), i)
    return sco(kind, oid, stored_value(i), i)


def stored_value(i: int) -> str | tuple[str, str]:
    """Return the value of stored observable ``i`` (a pair of digests for files)."""
    kind = stored_kind(i)
    if kind == "ipv4-addr":
        return ip_of(i)
    if kind == "domain-name":
        return domain_of(i)
    if kind == "url":
        return url_of(i, stored_host(i))
    if kind == "file":
        return hashes_of(i)
    return email_of(i, stored_host(i))


@dataclass
class NewObject:
    """One object of the new bundle and the stored objects it must link to, by construction."""

    obj: dict[str, Any]
    category: str
    expected: set[str] = field(default_factory=set)


def _pick(n: int, stored: int, slots: tuple[int, ...], salt: str, kind_filter: str | None = None) -> int:
    """Return a stored index in one of these slots (deterministic in ``n``), of an indicator kind if asked."""
    blocks = stored // 20
    if blocks == 0:
        raise SystemExit("--stored must be at least 20")
    for attempt in range(1000):
        h = int.from_bytes(_h("pick", salt, n, attempt)[:8], "big")
        i = (h % blocks) * 20 + slots[(h // blocks) % len(slots)]
        if kind_filter is None or stored_ind_kind(i) == kind_filter:
            return i
    raise RuntimeError(f"no stored object of kind {kind_filter}")


def new_object(n: int, stored: int) -> NewObject:
    """Return object ``n`` of the new bundle: 30 % of them overlap stored objects in one known way."""
    def oid(kind: str) -> str:
        return _id(kind, "new", n)

    c = int.from_bytes(_h("cat", n)[:2], "big") % 100
    if c < 10:  # the same value as a stored observable
        j = _pick(n, stored, tuple(range(18)), "same")
        kind = stored_kind(j)
        return NewObject(sco(kind, oid(kind), stored_value(j), n), "same value", {stored_id(j)})
    if c < 15:  # an address inside a stored CIDR indicator
        j = _pick(n, stored, (18, 19), "cidr", "cidr")
        base = cidr_of(j)[1] + 1 + _h("host", n)[0] % 254
        ip = f"{base >> 24}.{(base >> 16) & 255}.{(base >> 8) & 255}.{base & 255}"
        return NewObject(sco("ipv4-addr", oid("ipv4-addr"), ip, n), "address in stored network", {stored_id(j)})
    if c < 20:  # a subdomain of a stored domain
        j = _pick(n, stored, (6, 7, 8, 9), "sub")
        name = f"{('cdn', 'api', 'login', 'update', 'vpn')[n % 5]}{n:x}.{domain_of(j)}"
        return NewObject(sco("domain-name", oid("domain-name"), name, n), "subdomain of stored domain", {stored_id(j)})
    if c < 25:  # a URL on a stored domain
        j = _pick(n, stored, (6, 7, 8, 9), "url")
        return NewObject(sco("url", oid("url"), url_of(FRESH_NEW + n, domain_of(j)), n), "URL on stored domain",
                         {stored_id(j)})
    if c < 28:  # an indicator whose pattern holds a stored observable's value
        j = _pick(n, stored, (0, 2, 3, 4, 5, 6, 7, 9, 13, 14, 15), "ind")
        kind = stored_kind(j)
        held = stored_value(j)
        pat = (pattern_for("sha256", held[1]) if isinstance(held, tuple)
               else pattern_for("ip" if kind == "ipv4-addr" else "domain", held))
        return NewObject(indicator(oid("indicator"), pat, n), "indicator of stored value", {stored_id(j)})
    if c < 30:  # an e-mail address on a stored domain
        j = _pick(n, stored, (6, 7, 8, 9), "mail")
        return NewObject(sco("email-addr", oid("email-addr"), email_of(FRESH_NEW + n, domain_of(j)), n),
                         "e-mail on stored domain", {stored_id(j)})
    f = FRESH_NEW + n  # a value stored nowhere
    kind = ("ipv4-addr", "ipv4-addr", "domain-name", "url", "file", "file", "email-addr", "indicator")[c % 8]
    if kind == "indicator":
        return NewObject(indicator(oid(kind), pattern_for("ip", ip_of(f)), n), "fresh")
    value: str | tuple[str, str] = {"ipv4-addr": ip_of, "domain-name": domain_of, "url": url_of,
                                    "email-addr": email_of}[kind](f) if kind != "file" else hashes_of(f)
    return NewObject(sco(kind, oid(kind), value, n), "fresh")


def stored_batches(stored: int, size: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Yield (batch number, objects) of the stored set."""
    for b, start in enumerate(range(0, stored, size)):
        yield b, [stored_object(i) for i in range(start, min(stored, start + size))]


# -------------------------------------------------------------------------------------------- the hub
@dataclass
class Setup:
    """Members and channels of the benchmark hub."""

    hub: Hub
    orgs: list[Org]
    groups: list[Collection]
    everything: Org  # reads every channel the stored objects are in
    little: Org  # reads community only


def setup(hub: Hub) -> Setup:
    """Create six members, two sharing groups; member 2 is in both, member 5 in neither."""
    from pacte.hub.members import add_group, add_org

    orgs = [add_org(hub.store, hub.ids, hub.clock, f"Bench{k}", "FR") for k in range(6)]
    groups = [add_group(hub.store, hub.ids, hub.clock, "bench-finance", orgs[0:3]),
              add_group(hub.store, hub.ids, hub.clock, "bench-energy", orgs[2:5])]
    return Setup(hub, orgs, groups, orgs[2], orgs[5])


def channel(s: Setup, b: int) -> tuple[Org, Collection]:
    """Return who shares stored batch ``b`` and where: 1 in 10 community, 8 in groups, 1 private to member 2."""
    from pacte.hub.members import private_name

    slot = b % 10
    if slot == 0:
        org = s.orgs[(0, 1, 3, 4)[(b // 10) % 4]]
        return org, s.hub.community
    if slot == 9:
        return s.everything, s.hub.collection_for(s.everything, private_name(s.everything))
    group = s.groups[0] if slot <= 4 else s.groups[1]
    members = s.orgs[0:3] if slot <= 4 else s.orgs[2:5]
    return members[b % 3], group


def share(s: Setup, org: Org, coll: Collection, objects: list[dict[str, Any]]) -> None:
    """Share a batch; stop on the first refusal."""
    report = s.hub.share_as(org, coll, objects)
    if report.failures:
        bad = next(o for o in report.outcomes if not o.ok)
        raise RuntimeError(f"object refused: {bad.as_dict()}")


# -------------------------------------------------------------------------------------------- measures
def load() -> float:
    """Return the 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def pct(values: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` (0-100) of the values."""
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(0, min(len(ordered) - 1, rank - 1))]


def storage(backend: str, db: str) -> dict[str, float]:
    """Return database bytes: total, obs_keys (table and key), versions and shares."""
    if backend == "sqlite":
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            wal = Path(db + "-wal")
            total = os.path.getsize(db) + (wal.stat().st_size if wal.exists() else 0)
            try:
                rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
            except sqlite3.OperationalError:  # no dbstat: page counts are not split per table
                rows = []
            keys = conn.execute("SELECT COUNT(*) FROM obs_keys").fetchone()[0]
        sizes = {str(name): float(size) for name, size in rows}
        by = {"obs_keys": sum(v for k, v in sizes.items() if "obs_keys" in k),
              "versions": sum(v for k, v in sizes.items() if "versions" in k),
              "shares": sum(v for k, v in sizes.items() if "shares" in k)}
        return {"total": float(total), **by, "keys": float(keys), "load": load()}
    import psycopg

    from pacte.store.postgres import split_schema

    conninfo, schema = split_schema(db)
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)).fetchall()
        keys = conn.execute(f'SELECT COUNT(*) FROM "{schema}".obs_keys').fetchone()
    sizes = {str(name): float(size) for name, size in rows}
    return {"total": sum(sizes.values()), "obs_keys": sizes.get("obs_keys", 0.0),
            "versions": sizes.get("versions", 0.0), "shares": sizes.get("shares", 0.0),
            "keys": float(keys[0] if keys else 0), "load": load()}


def search_values(count: int, stored: int, new: list[NewObject]) -> list[tuple[str, str]]:
    """Return (kind, value) searches: half values that are stored (or near stored ones), half never stored."""
    out: list[tuple[str, str]] = []
    for s in range(count):
        h = _h("search", s)
        kind = ("ip", "domain", "url", "sha256", "md5", "email", "cidr", "subdomain")[h[0] % 8]
        hit = h[1] & 1 == 0
        if not hit:
            f = FRESH_SEARCH + s
            value = {"ip": ip_of(f), "domain": domain_of(f), "url": url_of(f), "sha256": hashes_of(f)[1],
                     "md5": hashes_of(f)[0], "email": email_of(f), "cidr": f"150.{h[2]}.{h[3]}.0/24",
                     "subdomain": f"x.{domain_of(f)}"}[kind]
            out.append((f"{kind} miss", value))
            continue
        if h[2] % 10 == 0 and new:  # one hit in ten on a value of the new bundle
            o = new[int.from_bytes(h[3:7], "big") % len(new)].obj
            v = o.get("value") or (o.get("hashes") or {}).get("SHA-256") or o.get("pattern", "").split("'")[-2]
            out.append(("new hit", str(v)))
            continue
        slot = {"ip": 0, "domain": 6, "url": 10, "sha256": 13, "md5": 14, "email": 16, "cidr": 0,
                "subdomain": 8}[kind]
        j = int.from_bytes(h[3:7], "big") % max(1, stored // 20) * 20 + slot
        if kind == "cidr":
            value = f"{ip_of(j).rsplit('.', 1)[0]}.0/24"
        elif kind == "subdomain":
            value = f"www{s}.{domain_of(j)}"
        elif kind in ("sha256", "md5"):
            value = hashes_of(j)[1 if kind == "sha256" else 0]
        else:
            value = str(stored_value(j))
        out.append((f"{kind} hit", value))
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Return (milliseconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


@dataclass
class Result:
    """What one backend measured (figures, with the load average beside each)."""

    backend: str
    figures: dict[str, tuple[str, float]] = field(default_factory=dict)  # measure -> (shown, load)
    raw: dict[str, Any] = field(default_factory=dict)

    def put(self, measure: str, shown: str, value: Any = None, at_load: float | None = None) -> None:
        """Record one figure with the load average (now, unless given) and print it."""
        self.figures[measure] = (shown, load() if at_load is None else at_load)
        self.raw[measure] = value
        print(f"  [{self.backend}] {measure}: {shown} (load {self.figures[measure][1]:.2f})", flush=True)


def run(backend: str, db: str, args: argparse.Namespace) -> Result:
    """Run every measure on one fresh store."""
    from pacte.correlate.links import Filters
    from pacte.hub import Hub
    from pacte.store import open_store

    res = Result(backend)
    hub = Hub(open_store(db))
    s = setup(hub)
    n_stored, size = args.stored, args.batch
    marks = sorted({max(size, n_stored // 4), max(size, n_stored // 2), n_stored})
    sizes: list[tuple[int, dict[str, float]]] = []
    # 1. the stored set
    t0, done, mark, cpu = time.perf_counter(), 0, 0, time.process_time()
    shared_for = Counter[str]()
    for b, batch in stored_batches(n_stored, size):
        org, coll = channel(s, b)
        share(s, org, coll, batch)
        shared_for[coll.name] += len(batch)
        done += len(batch)
        if mark < len(marks) and done >= marks[mark]:
            paused = time.perf_counter()
            paused_cpu = time.process_time()
            sizes.append((done, storage(backend, db)))
            t0 += time.perf_counter() - paused  # the storage measure is not part of the load time
            cpu += time.process_time() - paused_cpu
            mark += 1
            print(f"  [{backend}] stored {done:,} ({done / (time.perf_counter() - t0):,.0f} obj/s)", flush=True)
    load_s, cpu = time.perf_counter() - t0, time.process_time() - cpu
    res.put("store the stored set", f"{load_s:,.1f} s ({n_stored / load_s:,.0f} obj/s, CPU {cpu:,.1f} s)", load_s)
    print(f"  [{backend}] channels: {dict(shared_for)}", flush=True)
    if args.analyze and backend == "postgres":
        ms, _ = timed(lambda: _pg_analyze(db))
        res.put("ANALYZE (--analyze)", f"{ms / 1000:.1f} s", ms)
    # 2. the one share of the new bundle
    new = [new_object(n, n_stored) for n in range(args.new)]
    objects = [o.obj for o in new]
    gc.collect()
    org, coll = s.orgs[0], s.groups[0]
    cpu = time.process_time()
    ms, _ = timed(lambda: share(s, org, coll, objects))
    cpu = time.process_time() - cpu  # this process's CPU (PostgreSQL's server work is not in it)
    res.put(f"one share of {args.new:,} (committed = queryable)", f"{ms / 1000:.2f} s (CPU {cpu:.2f} s)", ms / 1000)
    first_ms, _ = timed(lambda: hub.correlations(s.everything, new[0].obj["id"]))
    res.put("first correlations read after the commit", f"{first_ms:.1f} ms", first_ms)
    sizes.append((n_stored + args.new, storage(backend, db)))
    verify(res, hub, s, new)
    # 3. search latency
    queries = search_values(args.searches, n_stored, new)
    for who, org in (("reads all", s.everything), ("reads community", s.little)):
        for _kind, value in queries[:50]:  # warm-up, not counted
            hub.search(org, value, Filters())
        lat: dict[str, list[float]] = {}
        found = Counter[str]()
        for kind, value in queries:
            t, (hits, _links) = timed(partial(hub.search, org, value, Filters()))
            lat.setdefault(kind.split()[-1], []).append(t)
            lat.setdefault(kind, []).append(t)
            found[kind.split()[-1]] += 1 if hits else 0
            found[kind] += 1 if hits else 0
        every = lat["hit"] + lat["miss"]
        res.put(f"search, {who} ({len(every)}): median / p99", f"{statistics.median(every):.2f} / "
                f"{pct(every, 99):.2f} ms", {k: (statistics.median(v), pct(v, 99), len(v)) for k, v in lat.items()})
        print(f"  [{backend}]   hit queries with results: {found['hit']}/{len(lat['hit'])}; miss queries with"
              f" results: {found['miss']}/{len(lat['miss'])}", flush=True)
        for kind in sorted(k for k in lat if " " in k):
            v = lat[kind]
            print(f"  [{backend}]   {kind:<16} n={len(v):>4} median {statistics.median(v):7.2f} ms"
                  f"  p99 {pct(v, 99):7.2f} ms  with results {found[kind]:>4}", flush=True)
    # 4. correlations latency
    corr_latency(res, hub, s, new, n_stored, args.searches, size)
    # 5. storage
    res.raw["storage"] = sizes
    for n, st in sizes:
        res.put(f"storage at {n:,}", f"{st['total'] / n:,.0f} B/object total, {st['obs_keys'] / n:,.0f} B/object"
                f" obs_keys ({st['keys'] / n:.2f} keys/object)", st, st["load"])
    per = [st["total"] / n for n, st in sizes[:-1]]
    res.put("storage: bytes/object spread (max/min)", f"{max(per) / min(per):.2f}", max(per) / min(per))
    hub.close()
    return res


def verify(res: Result, hub: Hub, s: Setup, new: list[NewObject]) -> None:
    """Check 200 overlapping new objects link (at least) to what they were built with, and 50 fresh ones to nothing."""
    picks = [o for o in new if o.expected]
    fresh = [o for o in new if not o.expected]
    order = sorted(range(len(picks)), key=lambda k: _h("verify", k))[:200]
    order_f = sorted(range(len(fresh)), key=lambda k: _h("fresh", k))[:50]
    reasons = Counter[str]()
    by_cat = Counter[str]()
    t0 = time.perf_counter()
    for k in order:
        o = picks[k]
        links = hub.correlations(s.everything, o.obj["id"])
        got = {x.id for x in links.items}
        missing = o.expected - got
        assert not missing, f"{o.category}: {o.obj} lacks links to {missing} (got {links})"
        assert not links.noisy, f"{o.category}: noisy probes {links.noisy}"
        by_cat[o.category] += 1
        for x in links.items:
            if x.id in o.expected:
                reasons.update(m.reason for m in x.matches)
    for k in order_f:
        o = fresh[k]
        links = hub.correlations(s.everything, o.obj["id"])
        assert not links.items and not links.noisy, f"fresh {o.obj} has links {links}"
    took = time.perf_counter() - t0
    res.put("verified new objects", f"{len(order)} with their expected links, {len(order_f)} fresh with none"
            f" ({took:.1f} s)", {"categories": dict(by_cat), "reasons": dict(reasons)})
    print(f"  [{res.backend}]   categories: {dict(by_cat)}\n  [{res.backend}]   reasons: {dict(reasons)}", flush=True)


def corr_latency(res: Result, hub: Hub, s: Setup, new: list[NewObject], stored: int, count: int,
                 batch: int) -> None:
    """Time ``Hub.correlations`` on new and stored objects, as the member reading everything and as community."""
    ids = []
    for k in range(count):
        h = _h("corr", k)
        if h[0] & 1:
            ids.append(new[int.from_bytes(h[1:5], "big") % len(new)].obj["id"])
        else:
            ids.append(stored_id(int.from_bytes(h[1:5], "big") % stored))
    lat, linked = [], 0
    for oid in ids[:50]:
        hub.correlations(s.everything, oid)
    for oid in ids:
        t, links = timed(partial(hub.correlations, s.everything, oid))
        lat.append(t)
        linked += 1 if links.items else 0
    res.put(f"correlations, reads all ({len(lat)}): median / p99",
            f"{statistics.median(lat):.2f} / {pct(lat, 99):.2f} ms ({linked} with links)",
            (statistics.median(lat), pct(lat, 99)))
    # community only: the stored objects of the community batches (every tenth batch, see ``channel``)
    lat = []
    community = [i for i in (int.from_bytes(_h("corrc", k)[:4], "big") % stored for k in range(count * 20))
                 if (i // batch) % 10 == 0][:count]
    for i in community:
        t, _ = timed(partial(hub.correlations, s.little, stored_id(i)))
        lat.append(t)
    if lat:
        res.put(f"correlations, reads community ({len(lat)}): median / p99",
                f"{statistics.median(lat):.2f} / {pct(lat, 99):.2f} ms", (statistics.median(lat), pct(lat, 99)))



def _pg_analyze(db: str) -> None:
    """Run ANALYZE on the benchmark schema's tables (what autovacuum would do)."""
    import psycopg

    from pacte.store.postgres import split_schema

    conninfo, schema = split_schema(db)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall():
            conn.execute(f'ANALYZE "{schema}"."{name}"')


def _code() -> str:
    """Return the commit the run measures, and whether ``src`` differs from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in src/" if dirty else "")


def _drop_pg(db: str) -> None:
    from pacte.store.postgres import PostgresStore

    store = PostgresStore(db)
    store.drop_schema()
    store.close()


def table(results: list[Result], args: argparse.Namespace) -> None:
    """Print goals and MISP's figures beside ours."""
    misp_per_attr = MISP_TABLE_BYTES / MISP_ATTRIBUTES
    rows: list[tuple[str, str, str, list[str]]] = []

    def ours(measure: str) -> list[str]:
        out = []
        for r in results:
            shown, ld = r.figures.get(measure, ("-", 0.0))
            out.append(f"{shown} (load {ld:.1f})" if shown != "-" else "-")
        return out

    share = f"one share of {args.new:,} (committed = queryable)"
    rows.append((f"share {args.new:,} new", f"< {GOAL_SHARE_S:.0f} s", f"{MISP_SECONDS:.0f} s (43,000)", ours(share)))
    for who in ("reads all", "reads community"):
        rows.append((f"search, {who}: median / p99", f"< {GOAL_MEDIAN_MS:.0f} / < {GOAL_P99_MS:.0f} ms", "",
                     ours(f"search, {who} ({args.searches}): median / p99")))
    rows.append(("correlations, reads all: median / p99", "", "",
                 ours(f"correlations, reads all ({args.searches}): median / p99")))
    last = args.stored + args.new
    for n in sorted({n for r in results for n, _ in r.raw.get("storage", [])}):
        rows.append((f"storage at {n:,}", "linear", f"{misp_per_attr:,.0f} B/attribute (correlations only)"
                     if n == last else "", ours(f"storage at {n:,}")))
    rows.append(("bytes/object spread (max/min)", "~1.0", "", ours("storage: bytes/object spread (max/min)")))
    rows.append((f"store {args.stored:,}", "", "", ours("store the stored set")))
    names = [r.backend for r in results]
    print("\n| measure | goal (SQLite) | MISP | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for measure, goal, misp, values in rows:
        print(f"| {measure} | {goal} | {misp} | " + " | ".join(values) + " |")


def main() -> None:
    """Run the benchmark on the chosen backends and print the table."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--stored", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=43_000)
    ap.add_argument("--searches", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=10_000, help="objects per share_as call for the stored set")
    ap.add_argument("--db-dir", type=Path, default=None, help="SQLite directory (default: a temporary one)")
    ap.add_argument("--seed", default="11")
    ap.add_argument("--analyze", action="store_true", help="PostgreSQL: ANALYZE every table after the stored set")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file / PostgreSQL schema")
    args = ap.parse_args()
    SEED_KEY[0] = args.seed.encode()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(f"stored {args.stored:,}, new {args.new:,}, searches {args.searches:,}, batch {args.batch:,}, seed"
          f" {args.seed}; code {_code()}; {os.cpu_count()} cores, load {load():.2f}", flush=True)
    results: list[Result] = []
    tmp = args.db_dir or Path(tempfile.mkdtemp(prefix="pacte-correlate-"))
    tmp.mkdir(parents=True, exist_ok=True)
    if args.keep and args.db_dir is None and "sqlite" in backends:
        print(f"SQLite file kept in {tmp}", flush=True)
    try:
        for backend in backends:
            if backend == "sqlite":
                db = str(tmp / "correlate.sqlite3")
                for suffix in ("", "-wal", "-shm"):
                    Path(db + suffix).unlink(missing_ok=True)
            else:
                db = f"{PG}{'&' if '?' in PG else '?'}schema={PG_SCHEMA}"
                _drop_pg(db)  # a previous run's schema of this benchmark, if it was kept
            try:
                results.append(run(backend, db, args))
            finally:
                if not args.keep and backend == "postgres":
                    _drop_pg(db)
    finally:
        if args.db_dir is None and not (args.keep and "sqlite" in backends):
            shutil.rmtree(tmp, ignore_errors=True)
    table(results, args)
    print("RESULT_JSON " + orjson.dumps([{"backend": r.backend, "figures": r.figures, "raw": r.raw}
                                         for r in results], default=str).decode())


if __name__ == "__main__":
    main()
