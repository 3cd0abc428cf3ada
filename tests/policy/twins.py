"""Twin hubs for the differential test of "hidden equals missing" (tests/policy/test_hidden_equals_missing.py).

Two hubs get the same common world (members A, B, C; groups ``g-in`` = {A, B} and ``g-out`` = {B, C})
built with the same clock readings and the same UUID source, so that every id and timestamp the
reader A can see is the same on both. Then the same *visible* operations at the same instants;
the twin (hub 2) also gets *extra* operations that A may never read, at instants between them, minting
its UUIDs from a separate source (a group ``g-extra`` = {B, C}, TAXII statuses of B and C).

Everything A can observe is recorded by :func:`observe` as a list of :class:`Seen` (status, headers,
body), with every opaque token (native cursor, TAXII ``next``, stream event id) checked for its shape
and replaced by a placeholder; the test compares the two lists.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import httpx
import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpers import TLP1, TLP2, SpreadIds, sid
from pacte.api.app import create_app
from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.clock import FrozenClock
from pacte.policy import Role
from pacte.stix.markings import Tlp
from pacte.stix.timestamps import format_key
from pacte.store.base import Org, Store
from pacte.stream import routes as stream_routes
from pacte.stream.settings import StreamSettings

TAXII = "application/taxii+json;version=2.1"
EXTENSION = "extension-definition--b04de1b4-9772-4973-97ae-2b7fc0efeea4"  # Pacte's (docs/extension.md)
ROOT = "/taxii2/pacte"
T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
READ_AT = T0 + timedelta(days=1)
MEMBERS = ("A", "B", "C")
READER = "A"
AUDIENCE = {"g-in": ("A", "B"), "g-out": ("B", "C"), "g-extra": ("B", "C")}
EXTRA_IDS_SEED = 1 << 40  # the twin's extra UUIDs never meet the common ones
# retention 0: events are stamped at the frozen instants, months before the wall clock the pruner reads
FAST = StreamSettings(heartbeat_seconds=0.05, poll_seconds=0.02, round_gap_max_seconds=0.0, window_seconds=1.0,
                      retention_seconds=0.0)

# Object pool: names posted by visible and extra operations; HIDDEN_ONLY only by extra ones; MISSING never;
# ANONYMOUS (an anonymous sighting of ind2) only by visible ones (see test_anonymous_sighting_reaches_the_producer).
# Indicators, observables and sightings hold overlapping values outside the benign lists (documentation ranges
# and special-use names never correlate): ind names 45.77.10.x by version, ind2 the /24 around it or the domain,
# indh a URL on its subdomain, ipa an address in the /24, dom the subdomain, url a URL on it, fil a file hash.
NAMES = ("ind", "mal", "rep", "ind2", "ipa", "dom", "url", "fil", "sig")
HIDDEN_ONLY = "indh"
MISSING = "indm"
ANONYMOUS = "sia"
HASH = "9f2c4e1a7b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
SEARCH_VALUES = ("45.77.10.1", "45.77.10.2", "45.77.10.11", "45.77.10.0/24", "45.77.0.0/16", "tarn-relay.info",
                 "c2.tarn-relay.info", "http://c2.tarn-relay.info/login", "hxxp://c2[.]tarn-relay[.]info/gate.php",
                 HASH, "quiet-harbour.org", "198.51.100.1")
_KINDS = {"ind": "indicator", "mal": "malware", "rep": "report", "ipa": "ipv4-addr", "dom": "domain-name",
          "url": "url", "fil": "file", "sig": "sighting", "sia": "sighting"}
OBSERVED: dict[str, dict[str, Any]] = {"ipa": {"value": "45.77.10.2"}, "dom": {"value": "c2.tarn-relay.info"},
             "url": {"value": "http://c2.tarn-relay.info/login"}, "fil": {"hashes": {"SHA-256": HASH}}}
UNKNOWN = sid("marking-definition", "twins: never defined")
# Markings of version v of a name: a function of (name, version) only, so that a producer never sends two
# contents for one version (a conflict of its own, not something the reader learns from the hub).
MARKS: tuple[tuple[str, ...], ...] = ((), (TLP2["green"],), (TLP2["amber"],), (TLP2["amber+strict"],),
                                      (TLP2["red"],), (UNKNOWN,), (TLP1["amber"],), (TLP2["clear"],),
                                      (TLP1["red"],), (TLP2["green"], UNKNOWN))
VISIBLE_VERSIONS = (1, 2, 3, 4, 5)
HIDDEN_VERSIONS = (10, 11)  # only in extra operations; always marked UNKNOWN (readable by the producer only)
_TOKEN = re.compile(rb"[A-Za-z0-9_-]{48}")
_NOW = [T0]  # the instant event-log rows are stamped with (see frozen_event_times)


def set_time(clock: FrozenClock, at: datetime) -> None:
    """Set a twin's clock, and the event log's, to ``at``."""
    clock.current = _NOW[0] = at


def kind_of(name: str) -> str:
    """Return the STIX type of a pool name."""
    return _KINDS[name[:3]]


def obj_id(name: str) -> str:
    """Return the STIX id of a pool name."""
    return sid(kind_of(name), "twins " + name)


def _stamp(hours: int) -> str:
    return (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def make_object(name: str, version: int, identity: str) -> dict[str, Any]:
    """Return version ``version`` of a pool object as ``identity``'s member would send it.

    ``mal`` carries its producer as creator (two producers: two contents); the others carry no
    creator, so two producers sending them send identical content.
    """
    kind = kind_of(name)
    if name in OBSERVED:  # one content whatever the version: an observable has one version per producer
        return {"type": kind, "spec_version": "2.1", "id": obj_id(name), **OBSERVED[name]}
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": obj_id(name), "created": _stamp(0),
                           "modified": _stamp(version)}
    if kind != "sighting":
        obj["name"] = f"{name} v{version}"
    index = (*NAMES, HIDDEN_ONLY, MISSING, ANONYMOUS).index(name)
    marks = (UNKNOWN,) if version in HIDDEN_VERSIONS else MARKS[(index * 3 + version) % len(MARKS)]
    if marks:
        obj["object_marking_refs"] = list(marks)
    if kind == "indicator":
        pattern = {"ind": f"[ipv4-addr:value = '45.77.10.{version}']",
                   "ind2": "[ipv4-addr:value ISSUBSET '45.77.10.0/24']" if version % 2 else
                   "[domain-name:value = 'tarn-relay.info']",
                   "indh": "[url:value = 'http://c2.tarn-relay.info/gate.php']",
                   "indm": f"[file:hashes.'SHA-256' = '{HASH}']"}[name]
        obj.update(pattern=pattern, pattern_type="stix", valid_from=_stamp(0))
        if version % 3:
            obj["confidence"] = 30 * version % 101
    elif kind == "sighting":  # one target per sighting line; kind and count by version
        body: dict[str, Any] = {"extension_type": "property-extension",
                                "sighting_kind": "seen" if version % 2 else "false-positive"}
        if name == ANONYMOUS:
            body["anonymous"] = True
        obj.update(sighting_of_ref=obj_id("ind2" if name == ANONYMOUS else "ind"), count=version % 3,
                   extensions={EXTENSION: body})
        if version % 2:
            obj["last_seen"] = _stamp(version)
    elif kind == "malware":
        obj.update(is_family=True, created_by_ref=identity)
    else:
        obj.update(published=_stamp(0), object_refs=[obj_id("ind"), obj_id("mal"), obj_id(HIDDEN_ONLY)])
    return obj


@dataclass(frozen=True)
class Op:
    """One write: ``actor`` shares versions of pool names into ``coll`` through the native API or TAXII."""

    actor: str
    coll: str  # community, g-in, g-out, g-extra, or private (the actor's own)
    items: tuple[tuple[str, int], ...]
    taxii: bool = False
    extra: bool = False  # the twin only; the reader may never read it
    soon: bool = False  # 1 microsecond after the previous operation (else a second later): its shares get
    # one added time, the same on both hubs although the twin may have written a hidden batch in between
    kind: str = "share"  # extra operations also: "delete" (TAXII DELETE of its shares of items' names),
    # "token" (a new token of the actor, then revoked), "member" (the actor leaves or rejoins g-extra),
    # "tlp" (g-out's default marking toggles between AMBER and RED), "drop" (g-extra is deleted)


@dataclass
class Seen:
    """One response as the reader sees it, opaque tokens replaced by placeholders."""

    label: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass
class Twin:
    """One of the two hubs, its app, clients and the secrets of its members' tokens."""

    hub: Hub
    app: FastAPI
    client: TestClient
    clock: FrozenClock
    extra_ids: SpreadIds
    orgs: dict[str, Org] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    colls: dict[str, str] = field(default_factory=dict)  # name -> uuid (g-extra: on the twin only)
    replies: list[Seen] = field(default_factory=list)  # the reader's own write responses

    def auth(self, who: str = READER, taxii: bool = False) -> dict[str, str]:
        """Return the headers of a member's analyst token."""
        out = {"Authorization": f"Bearer {self.secrets[who]}"}
        if taxii:
            out["Accept"] = TAXII
        return out

    def coll_name(self, op: Op) -> str:
        """Return the collection name an operation targets."""
        return f"private:{op.actor}" if op.coll == "private" else op.coll

    def run(self, op: Op, at: datetime) -> None:
        """Apply one operation at instant ``at`` through HTTP as its actor."""
        set_time(self.clock, at)
        if op.kind != "share":
            self._administer(op)
            return
        objects = [make_object(n, v, self.orgs[op.actor].identity_id) for n, v in op.items]
        saved = self.hub.ids
        if op.extra:
            self.hub.ids = self.extra_ids  # TAXII status ids of extra writes come from the twin's own source
        try:
            name = self.coll_name(op)
            if op.taxii:
                uuid_ = self.colls.get(name) or self.hub.store.collection_by_name(name).uuid  # type: ignore[union-attr]
                r = self.client.post(f"{ROOT}/collections/{uuid_}/objects/", content=orjson.dumps({"objects": objects}),
                                     headers={**self.auth(op.actor, True), "Content-Type": TAXII})
            else:
                r = self.client.post(f"/api/v1/collections/{name}/objects",
                                     content=orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                                           "objects": objects}),
                                     headers={**self.auth(op.actor), "Content-Type": "application/json"})
        finally:
            self.hub.ids = saved
        assert r.status_code in (200, 202, 207, 400, 403, 404, 422), (op, r.status_code, r.text)
        if op.actor == READER:
            self.replies.append(seen(f"write {op}", r))


    def _administer(self, op: Op) -> None:
        """Apply an extra operation other than a share (the twin only: it mints from the twin's own UUIDs)."""
        assert op.extra
        store, org = self.hub.store, self.orgs[op.actor]
        if op.kind == "token":
            token, _ = m.new_token(store, self.extra_ids, self.clock, org, Role.READER, "extra")
            assert store.revoke_token(token.token_id, format_key(self.clock.now()), org.org_id)
        elif op.kind in ("member", "tlp", "drop"):
            group = store.collection_by_name("g-out" if op.kind == "tlp" else "g-extra")
            if group is None:
                return  # g-extra was dropped
            if op.kind == "tlp":  # narrowing or widening a group the reader is not in
                store.set_default_tlp(group.cid, int(Tlp.RED if group.default_tlp != Tlp.RED else Tlp.AMBER))
            elif op.kind == "drop":
                store.delete_collection(group.cid)
            elif not store.remove_member(group.cid, org.org_id):
                assert store.add_member(group.cid, org.org_id)
        else:
            uuid_ = self.colls.get(self.coll_name(op)) or store.collection_by_name(self.coll_name(op)).uuid  # type: ignore[union-attr]
            for name, _ in op.items:
                r = self.client.delete(f"{ROOT}/collections/{uuid_}/objects/{obj_id(name)}/",
                                       headers=self.auth(op.actor, True))
                assert r.status_code in (200, 403, 404), (op, r.status_code, r.text)


def build(store: Store, twin: bool) -> Twin:
    """Return a hub over ``store`` with the common world (and, for the twin, the extra group)."""
    clock = FrozenClock(T0)
    hub = Hub(store, Settings(), clock=clock, ids=SpreadIds())
    app = create_app(hub)
    app.state.stream_settings = FAST
    t = Twin(hub, app, TestClient(app), clock, SpreadIds(EXTRA_IDS_SEED))
    tick = iter(range(1, 1000))
    for name in MEMBERS:
        set_time(clock, T0 + timedelta(milliseconds=next(tick)))
        org = t.orgs[name] = m.add_org(store, hub.ids, clock, name, "FR")
        set_time(clock, T0 + timedelta(milliseconds=next(tick)))
        _, t.secrets[name] = m.new_token(store, hub.ids, clock, org, Role.ANALYST, "analyst")
    for name in ("B", "C"):  # their ledger figures are shown to others by name, not withheld as too few
        set_time(clock, T0 + timedelta(milliseconds=next(tick)))
        store.set_ledger_opt_in(t.orgs[name].org_id, True, format_key(clock.now()))
    for group in ("g-in", "g-out"):
        set_time(clock, T0 + timedelta(milliseconds=next(tick)))
        coll = m.add_group(store, hub.ids, clock, group, [t.orgs[n] for n in AUDIENCE[group]])
        t.colls[group] = coll.uuid
    if twin:  # a group the reader is not in, minted from the twin's own UUIDs, between common instants
        set_time(clock, T0 + timedelta(milliseconds=500))
        coll = m.add_group(store, t.extra_ids, clock, "g-extra", [t.orgs[n] for n in AUDIENCE["g-extra"]])
        t.colls["g-extra"] = coll.uuid
    return t


@contextmanager
def frozen_event_times() -> Iterator[None]:
    """Stamp event-log rows with the hub clock instead of the wall clock (both twins share instants)."""
    with mock.patch("pacte.store.events.event_time", lambda: format_key(_NOW[0])):
        yield


def check_token(raw: bytes, where: str) -> None:
    """Assert an opaque token has the one shape every token has (its length would count rows)."""
    assert _TOKEN.fullmatch(raw), f"{where}: token {raw!r} is not 48 base64url characters"


def _normalise(body: bytes, label: str) -> bytes:
    """Check and blank the opaque tokens of a JSON body (``next``)."""
    def repl(match: re.Match[bytes]) -> bytes:
        check_token(match.group(1), label)
        return b'"next":"<token>"'
    return re.sub(rb'"next":"([^"]*)"', repl, body)


def seen(label: str, r: Any) -> Seen:
    """Return what the reader sees of a response (Date excluded; tokens checked and blanked)."""
    headers = tuple(sorted((k.lower(), v) for k, v in r.headers.items() if k.lower() != "date"))
    return Seen(label, r.status_code, headers, _normalise(r.content, label))


def _next_of(r: Any) -> str | None:
    if r.status_code != 200 or not r.content:
        return None
    body = r.json()
    return body.get("next") if isinstance(body, dict) and body.get("more") else None


async def _follow(c: httpx.AsyncClient, t: Twin, out: list[Seen], path: str, params: dict[str, str], key: str,
                  taxii: bool = False) -> None:
    """Read every page of a listing, following this hub's own tokens."""
    label = f"GET {path} {params}"
    for page in range(100):
        r = await c.get(path, params=params, headers=t.auth(taxii=taxii))
        out.append(seen(f"{label} page {page}", r))
        token = _next_of(r)
        if token is None:
            return
        params = {**params, key: token}
    raise AssertionError(f"{path} {params}: more than 100 pages")


def observe(t: Twin, status_ids: list[str]) -> list[Seen]:
    """Return every read response of the reader, in a fixed order that depends only on what it saw."""
    set_time(t.clock, READ_AT)
    return asyncio.run(_observe(t, status_ids))


async def _observe(t: Twin, status_ids: list[str]) -> list[Seen]:
    out: list[Seen] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=t.app), base_url="http://testserver") as c:
        await _observe_native(c, t, out)
        await _observe_taxii(c, t, out, status_ids)
    out.extend(await read_stream(t))
    return out


async def _observe_native(c: httpx.AsyncClient, t: Twin, out: list[Seen]) -> None:
    h = t.auth()
    for path in ("/api/v1/whoami", "/api/v1/collections", "/api/v1/organisations", "/api/v1/groups"):
        out.append(seen(f"GET {path}", await c.get(path, headers=h)))
    # native listing: every filter, small pages
    for versions in ("last", "first", "all"):
        await _follow(c, t, out, "/api/v1/objects", {"versions": versions, "limit": "2"}, "cursor")
    variants: list[dict[str, str]] = [{"type": "indicator"}, {"type": "report"}, {"type": "malware"},
                                      {"modified_from": _stamp(2)}, {"modified_to": _stamp(3)}]
    variants += [{"producer": p} for p in (*MEMBERS, "Nobody")]
    variants += [{"collection": n} for n in ("community", "g-in", "g-out", "g-extra", "private:A", "private:B")]
    for params in variants:
        await _follow(c, t, out, "/api/v1/objects", {**params, "versions": "all", "limit": "3"}, "cursor")
        await _follow(c, t, out, "/api/v1/objects", params, "cursor")
    # one object by id: visible, hidden on the twin, never written
    hidden = obj_id(HIDDEN_ONLY).split("--")
    ids = [obj_id(n) for n in (*NAMES, HIDDEN_ONLY, MISSING)] + [f"{hidden[0]}--{hidden[1].upper()}"]
    for oid in ids:
        for params in ({}, {"versions": "all"}, {"versions": "first"}, {"with_refs": "true"}):
            r = await c.get(f"/api/v1/objects/{oid}", params=params, headers=h)
            out.append(seen(f"GET object {oid} {params}", r))
    # correlations and sighting counts of every id, search for every value (scores are in every read above)
    for oid in (*ids, obj_id(ANONYMOUS)):
        for what in ("correlations", "sightings"):
            out.append(seen(f"GET {what} {oid}", await c.get(f"/api/v1/objects/{oid}/{what}", headers=h)))
    searches: list[dict[str, Any]] = [{"value": v} for v in SEARCH_VALUES]
    searches += [{"value": "45.77.10.0/24", "type": ["indicator", "sighting"]}, {"value": "tarn-relay.info", "producer": "B"},
                 {"value": "c2.tarn-relay.info", "collection": "community"}, {"value": "45.77.10.1", "min_score": "10"},
                 {"value": "45.77.10.0/24", "seen_after": "2026-03-01T08:00:15Z"}]
    for params in searches:
        out.append(seen(f"GET search {params}", await c.get("/api/v1/search", params=params, headers=h)))
    # the ledger, once every read above is recorded (B and C opted in: their figures are shown by name)
    t.hub.ledger.flush(t.hub.store)
    for params in ({}, {"period": "day", "since": "2026-03-01", "until": "2026-03-02"}):
        out.append(seen(f"GET ledger {params}", await c.get("/api/v1/ledger", params=params, headers=h)))


async def _observe_taxii(c: httpx.AsyncClient, t: Twin, out: list[Seen], status_ids: list[str]) -> None:
    h = t.auth(taxii=True)
    for path in ("/taxii2/", f"{ROOT}/", f"{ROOT}/collections/"):
        out.append(seen(f"GET {path}", await c.get(path, headers=h)))
    for sid_ in (*status_ids, "00000000-0000-4000-8000-000000000000"):
        out.append(seen(f"GET status {sid_}", await c.get(f"{ROOT}/status/{sid_}/", headers=h)))
    colls = {name: t.colls.get(name) or t.hub.store.collection_by_name(name).uuid  # type: ignore[union-attr]
             for name in ("community", "g-in", "g-out", "private:A", "private:B")}
    colls["g-extra"] = str(SpreadIds(EXTRA_IDS_SEED).uuid4())  # the twin's extra group; missing on hub 1
    for name, cuuid in colls.items():
        base = f"{ROOT}/collections/{cuuid}"
        out.append(seen(f"GET collection {name}", await c.get(f"{base}/", headers=h)))
        await _follow(c, t, out, f"{base}/objects/", {"limit": "2"}, "next", taxii=True)
        await _follow(c, t, out, f"{base}/manifest/", {"limit": "2", "match[version]": "all"}, "next", taxii=True)
        if name not in ("community", "g-in", "private:A"):
            continue  # hidden collections: the three requests above answer 404 like a missing one
        filters: list[dict[str, str]] = [
            {"match[version]": "all"}, {"match[version]": "first"}, {"match[version]": "first,last"},
            {"match[version]": _stamp(3)}, {"match[type]": "indicator,report"},
            {"match[spec_version]": "2.1"}, {"added_after": (T0 + timedelta(seconds=3)).isoformat()[:19] + "Z"},
            {"match[id]": ",".join(obj_id(n) for n in (*NAMES, HIDDEN_ONLY, MISSING))}]
        for params in filters:
            await _follow(c, t, out, f"{base}/objects/", {**params, "limit": "3"}, "next", taxii=True)
        await _follow(c, t, out, f"{base}/manifest/", {}, "next", taxii=True)
        for name_ in (*NAMES, HIDDEN_ONLY, MISSING):
            oid = obj_id(name_)
            out.append(seen(f"GET {name} object {name_}", await c.get(f"{base}/objects/{oid}/", headers=h)))
            r = await c.get(f"{base}/objects/{oid}/", params={"match[version]": "all"}, headers=h)
            out.append(seen(f"GET {name} object {name_} all", r))
            await _follow(c, t, out, f"{base}/objects/{oid}/versions/", {"limit": "1"}, "next", taxii=True)


# the stream, read in-process through the ASGI app until the replay has caught up with the log

_ID_LINE = re.compile(rb"^id: (.*)$", re.M)
_EVENT_FIELD = re.compile(rb'"event":"([^"]*)"')


async def _sse(app: FastAPI, secret: str, last_event_id: str | None,
               params: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Open the stream, read until a heartbeat follows the whole replay (or the answer ends), then disconnect."""
    broker, _ = await stream_routes.start(app)
    hub: Hub = app.state.hub
    head = hub.store.event_head()
    query = urlencode({**(params or {}), **({"last_event_id": last_event_id} if last_event_id is not None else {})})
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/api/v1/stream", "raw_path": b"/api/v1/stream", "query_string": query.encode(),
             "root_path": "", "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {secret}".encode())],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    gone = asyncio.Event()
    first = True
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            return
        body.extend(message.get("body", b""))
        if b": heartbeat" in message.get("body", b""):
            subs = [s for s in broker.subs if not s.closed]
            if all(s.sent >= head and not s.pending for s in subs):
                gone.set()

    async with asyncio.timeout(20):
        await app(scope, receive, send)
    return status, bytes(body)


def _events(raw: bytes, label: str) -> tuple[list[bytes], list[bytes]]:
    """Return (event blocks with tokens blanked, their ids) of an SSE body; heartbeats are checked, dropped."""
    blocks, ids = [], []
    for block in raw.split(b"\n\n"):
        found = _ID_LINE.search(block)
        if found is not None:
            check_token(found.group(1), label)
        if b"\nevent: " not in block and not block.startswith(b"event: "):
            continue  # heartbeats (their ids carry the last event delivered) and the preamble
        assert found is not None, (label, block)
        field_ = _EVENT_FIELD.search(block)
        assert field_ is not None and field_.group(1) == found.group(1), (label, block)
        ids.append(found.group(1))
        blocks.append(_EVENT_FIELD.sub(b'"event":"<token>"', _ID_LINE.sub(b"id: <token>", block)))
    return blocks, ids


def _stream_seen(label: str, status: int, raw: bytes) -> tuple[Seen, list[bytes]]:
    """Return what the reader saw of a stream: its events with tokens blanked (heartbeats dropped), or the refusal."""
    if status != 200:
        return Seen(label, status, (), raw), []
    blocks, ids = _events(raw, label)
    return Seen(label, status, (), b"\n\n".join(blocks)), ids


async def read_stream(t: Twin) -> list[Seen]:
    """Replay the reader's stream from the start (plain, filtered, refused) and resume it from the middle."""
    out: list[Seen] = []
    secret = t.secrets[READER]
    try:
        first, ids = _stream_seen("stream replay", *await _sse(t.app, secret, "0"))
        out.append(first)
        if ids:  # resume with this hub's own id of the middle event: the rest must be the same events
            out.append(_stream_seen("stream resume", *await _sse(t.app, secret, ids[len(ids) // 2].decode()))[0])
        variants: list[dict[str, str]] = [
            {"tlp": "green,amber,amber+strict,red", "type": "indicator,report,malware", "refs": "true"},
            {"collection": "g-in"}, {"collection": "private:A"}, {"producer": "B"}, {"producer": "Nobody"},
            {"collection": "g-out"}, {"collection": "g-extra"}]  # the last two: hidden/missing, refused alike
        for params in variants:
            out.append(_stream_seen(f"stream {params}", *await _sse(t.app, secret, "0", params))[0])
        out.append(_stream_seen("stream bad id", *await _sse(t.app, secret, "A" * 48))[0])
    finally:
        await stream_routes.stop(t.app)
    return out
