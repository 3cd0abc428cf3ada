"""Read-path checkers of the leak machine: every HTTP read a member can make, held to the model.

Each checker asks the real app (``create_app(hub)`` in-process, :class:`AppClient`) with a member's token and
compares the answer with :class:`leakmodel.Model`: which versions (id and content hash, in the
order the hub must give them), paging (every cursor / ``next`` followed, ``more`` exact), the
statuses of hidden objects (byte for byte those of missing ones), collections and counts.
A mismatch raises ``Leak`` naming the path, the reader and the difference.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import orjson

from pacte.correlate.score import ScoreInputs, kind_of_pattern, score
from pacte.stix.extension import Grading
from pacte.stix.values import keys_for_value, keys_of

from .leakmodel import EXTENSION, Model, MShare, MVersion, content_sha, strip_score

CHECKS: Counter[str] = Counter()  # checks made per read path (the proof runner prints them)
TAXII = "/taxii2/pacte"
TAXII_ACCEPT = "application/taxii+json;version=2.1"
NO_SUCH_ID = "threat-actor--0badc0de-0000-4000-8000-00000000dead"
Pair = tuple[str, str]  # (id lower-cased, content hash)


class AppClient:
    """The HTTP app in-process, served by one event loop in one thread for the client's life.

    Like ``fastapi.testclient.TestClient`` (the same ASGI app, the same requests and responses)
    with fewer thread crossings: TestClient crosses threads about eight times a request. The loop
    runs one long task (``run_until_complete``), which the thread pool of the app's synchronous
    endpoints attaches its workers to, so they live as long as the client, not one request.
    """

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self._stop: asyncio.Event | None = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        async def forever() -> None:
            self._stop = asyncio.Event()
            ready.set()
            await self._stop.wait()
            await self.client.aclose()

        self.loop.run_until_complete(forever())
        self.loop.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request through the app and return its response."""
        return asyncio.run_coroutine_threadsafe(self.client.request(method, url, **kwargs), self.loop).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a GET."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a POST."""
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """Send a DELETE."""
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        """Stop the loop and its thread."""
        stop = self._stop
        if stop is not None:
            self.loop.call_soon_threadsafe(stop.set)
        self.thread.join(10)


class Leak(AssertionError):
    """A read path answered differently from the model."""


def _expect(path: str, reader: str, want: Any, got: Any) -> None:
    CHECKS[path] += 1
    if want != got:
        diff = ""
        if isinstance(want, list) and isinstance(got, list):
            w, g = Counter(map(repr, want)), Counter(map(repr, got))
            diff = (f"\n  missing {sorted((w - g).elements())}\n  extra   {sorted((g - w).elements())}"
                    + ("\n  (same items, other order)" if w == g else ""))
        raise Leak(f"{path} for {reader}:{diff}\n  expected {want!r}\n  got      {got!r}")


def _vpairs(vs: Sequence[MVersion]) -> list[Pair]:
    return [(v.oid, v.sha) for v in vs]


def _spairs(ss: Sequence[MShare]) -> list[Pair]:
    return [(s.version.oid, s.version.sha) for s in ss]


def _opairs(objs: Sequence[dict[str, Any]]) -> list[Pair]:
    return [(str(o["id"]).lower(), content_sha(strip_score(o)[0])) for o in objs]


def expected_scores(model: Model, reader: int, obj: dict[str, Any]) -> set[int]:
    """Return the scores an indicator served to ``reader`` may carry (pacte.correlate.score over the model's tally).

    The decay runs from the last activity the reader sees, which the model does not time: the score lies
    between its value at age 0 and at the age of the hub's whole history (``model.elapsed``).
    """
    t = model.tally(reader, str(obj["id"]))
    body = (obj.get("extensions") or {}).get(EXTENSION) or {"reliability": "F", "credibility": 6}  # ungraded: F6
    confidence = obj.get("confidence")
    inputs = ScoreInputs(sources=max(t.sources, 1), false_positives=t.false_positive + t.anonymous_false_positive,
                         grading=Grading(body["reliability"], body["credibility"], body.get("handling")),
                         confidence=confidence if isinstance(confidence, int) else None,
                         kind=kind_of_pattern(str(obj.get("pattern", ""))), last_activity=_EPOCH)
    hi = score(inputs, _EPOCH)
    lo = score(inputs, _EPOCH + timedelta(seconds=model.elapsed))
    return set(range(lo, hi + 1))


_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Reader:
    """One member reading through the HTTP app with one of its tokens."""

    def __init__(self, client: AppClient, model: Model, member: int, name: str, token: str) -> None:
        self.client, self.model, self.member, self.name = client, model, member, name
        self.auth = {"Authorization": f"Bearer {token}"}
        self.taxii_headers = {**self.auth, "Accept": TAXII_ACCEPT}

    def _opairs(self, objs: Sequence[dict[str, Any]]) -> list[Pair]:
        """Return (id, content hash) of served objects, score aside; check each score (indicators only, exact)."""
        for o in objs:
            got = strip_score(o)[1]
            if o.get("type") != "indicator":
                _expect("score only on indicators", self.name, (o["id"], None), (o["id"], got))
                continue
            want = expected_scores(self.model, self.member, strip_score(o)[0])
            if got not in want:
                _expect("indicator score", self.name, (o["id"], sorted(want), self.model.tally(self.member, o["id"])),
                        (o["id"], got))
            CHECKS["indicator score"] += 1
        return _opairs(objs)

    def get(self, url: str, params: Any = None, taxii: bool = False) -> Any:
        """Return the response of a GET as this reader."""
        return self.client.get(url, params=params, headers=self.taxii_headers if taxii else self.auth)

    def _json(self, path: str, url: str, params: Any = None, taxii: bool = False) -> dict[str, Any]:
        r = self.get(url, params, taxii)
        if r.status_code != 200:
            raise Leak(f"{path} for {self.name}: {url} {params} -> {r.status_code} {r.text[:300]}")
        data: dict[str, Any] = orjson.loads(r.content)
        return data

    # ------------------------------------------------------------------ native API
    def native_pages(self, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Return every object of a native listing, following each cursor; check ``more`` on every page."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(10_000):
            page = self._json(path, "/api/v1/objects", {**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
            objs = page["objects"]
            out.extend(objs)
            if not page["more"]:
                _expect(path + " (no next on last page)", self.name, False, "next" in page)
                return out
            _expect(path + " (full page before more)", self.name, limit, len(objs))
            cursor = page["next"]
        raise Leak(f"{path}: cursors never end")

    def native_list(self, which: str = "last", *, types: Sequence[str] = (), producer: tuple[str, int] | None = None,
                    coll: str | None = None, modified: tuple[str, str] | None = None, limit: int = 1000) -> None:
        """Check ``GET /api/v1/objects`` with one combination of filters against the model."""
        m = self.model
        params: dict[str, Any] = {"versions": which}
        tag = f"native list versions={which}"
        vs: list[MVersion] = ([sh.version for sh in m.in_collection(self.member, coll, which)] if coll is not None
                              else m.select(self.member, which))
        if coll is not None:
            params["collection"] = coll
            tag += " collection"
        if types:
            params["type"] = list(types)
            tag += " type"
            vs = [v for v in vs if v.otype in types]
        if producer is not None:
            params["producer"] = producer[0]
            tag += " producer"
            vs = [v for v in vs if v.producer == producer[1]]
        if modified is not None:
            params["modified_from"], params["modified_to"] = modified
            tag += " modified"
            vs = [v for v in vs if modified[0] <= v.vkey <= modified[1]]
        want = _vpairs(vs)
        if limit < 1000:
            tag += " paged"
        _expect(tag, self.name, want, self._opairs(self.native_pages(tag, params, limit)))

    def object_by_id(self, oid: str, which: str, with_refs: bool = False) -> None:
        """Check ``GET /api/v1/objects/{id}`` (and with_refs); hidden must answer as missing does."""
        m = self.model
        want = m.get(self.member, oid, which)
        params: dict[str, Any] = {"versions": which}
        if with_refs:
            params["with_refs"] = "true"
        tag = "native object" + (" with_refs" if with_refs else "")
        r = self.get(f"/api/v1/objects/{oid}", params)
        if not want:
            self.same_as_missing(tag + " hidden=missing", r, "/api/v1/objects/{}", oid, params)
            return
        _expect(tag + " status", self.name, 200, r.status_code)
        data = orjson.loads(r.content)
        _expect(tag, self.name, _vpairs(want), self._opairs(data["objects"]))
        if with_refs:
            refs: set[str] = set()
            for v in want:
                refs.update(_refs_of(v.obj))
            latest = m.select(self.member, "last", versions=[v for v in m.versions if v.oid in refs and v.oid != oid])
            _expect(tag + " references", self.name, sorted(_vpairs(latest)), sorted(self._opairs(data["references"])))

    def same_as_missing(self, path: str, r: Any, url: str, oid: str, params: Any = None, taxii: bool = False) -> None:
        """Check that a hidden object's answer is byte for byte that of an id nobody holds."""
        missing = self.get(url.format(NO_SUCH_ID), params, taxii)
        _expect(path, self.name, (missing.status_code, missing.content.replace(NO_SUCH_ID.encode(), oid.encode())),
                (r.status_code, r.content))

    def collections(self) -> None:
        """Check the native and TAXII collection listings (names, write right, default level)."""
        m = self.model
        want = sorted(c.name for c in m.readable_collections(self.member))
        data = self._json("native collections", "/api/v1/collections")
        got = sorted(c["name"] for c in data["collections"])
        _expect("native collections", self.name, want, got)
        defaults = {c["name"]: c["default_tlp"] for c in data["collections"]}
        _expect("native collections default_tlp", self.name, {c.name: c.default for c in m.readable_collections(self.member)},
                defaults)
        tx = self._json("taxii collections", f"{TAXII}/collections/", taxii=True)
        _expect("taxii collections", self.name, sorted(c.uuid for c in m.readable_collections(self.member)),
                sorted(c["id"] for c in tx.get("collections", [])))

    # ------------------------------------------------------------------ TAXII
    def taxii_pages(self, path: str, url: str, params: dict[str, Any], key: str = "objects") -> list[Any]:
        """Return every item of a TAXII listing, following ``next``; check ``more`` on every page."""
        out: list[Any] = []
        nxt: str | None = None
        for _ in range(10_000):
            page = self._json(path, url, {**params, **({"next": nxt} if nxt else {})}, taxii=True)
            out.extend(page.get(key, []))
            if not page.get("more", False):
                _expect(path + " (no next on last page)", self.name, False, "next" in page)
                return out
            nxt = page["next"]
        raise Leak(f"{path}: next never ends")

    def taxii_objects(self, coll: str, which: str | None, *, types: Sequence[str] = (), ids: Sequence[str] = (),
                      limit: int | None = None) -> None:
        """Check ``objects/`` of a collection with match[version|type|id] and paging."""
        m = self.model
        c = m.colls[coll]
        params: dict[str, Any] = {}
        tag = "taxii objects"
        if which is not None:
            params["match[version]"] = which
            tag += f" version={which}"
        shares = m.in_collection(self.member, coll, which or "last")
        if types:
            params["match[type]"] = ",".join(types)
            tag += " type"
            shares = [s for s in shares if s.version.otype in types]
        if ids:
            params["match[id]"] = ",".join(ids)
            tag += " id"
            shares = [s for s in shares if s.version.oid in ids]
        if limit is not None:
            params["limit"] = limit
            tag += " paged"
        got = self.taxii_pages(tag, f"{TAXII}/collections/{c.uuid}/objects/", params)
        _expect(tag, self.name, _spairs(shares), self._opairs(got))

    def taxii_manifest(self, coll: str, which: str = "last", limit: int | None = None) -> list[dict[str, Any]]:
        """Check a collection's manifest (ids and versions, date_added non-decreasing); return its records."""
        m = self.model
        c = m.colls[coll]
        tag = f"taxii manifest version={which}" + (" paged" if limit else "")
        params: dict[str, Any] = {"match[version]": which, **({"limit": limit} if limit else {})}
        got = self.taxii_pages(tag, f"{TAXII}/collections/{c.uuid}/manifest/", params)
        want = [(s.version.oid, _taxii_version(s.version)) for s in m.in_collection(self.member, coll, which)]
        _expect(tag, self.name, want, [(r["id"].lower(), r["version"]) for r in got])
        added = [r["date_added"] for r in got]
        _expect(tag + " date_added non-decreasing", self.name, True, all(a <= b for a, b in pairwise(added)))
        writes = [s.write for s in m.in_collection(self.member, coll, which)]  # one date_added per write
        _expect(tag + " date_added per write", self.name, [a == b for a, b in pairwise(writes)],
                [a == b for a, b in pairwise(added)])
        return got

    def taxii_added_after(self, coll: str, at: int) -> None:
        """Check ``added_after`` at the date_added of the at-th share of the all-versions manifest.

        The shares of one write have one date_added: every share of a later write than the at-th's.
        """
        m = self.model
        c = m.colls[coll]
        shares = m.in_collection(self.member, coll, "all")
        manifest = self.taxii_manifest(coll, "all")
        if not manifest:
            return
        at %= len(manifest)
        cut = max(n for n, s in enumerate(shares) if s.write == shares[at].write) + 1
        got = self.taxii_pages("taxii objects added_after", f"{TAXII}/collections/{c.uuid}/objects/",
                               {"added_after": manifest[at]["date_added"], "match[version]": "all"})
        _expect("taxii objects added_after", self.name, _spairs(shares[cut:]), self._opairs(got))

    def taxii_object(self, coll: str, oid: str, which: str) -> None:
        """Check ``objects/{id}/`` and ``objects/{id}/versions/`` in a collection; hidden answers as missing."""
        m = self.model
        c = m.colls[coll]
        want = [s for s in m.in_collection(self.member, coll, which) if s.version.oid == oid]
        url = f"{TAXII}/collections/{c.uuid}/objects/{{}}/"
        r = self.get(url.format(oid), {"match[version]": which}, taxii=True)
        allv = [s for s in m.in_collection(self.member, coll, "all") if s.version.oid == oid]
        if not allv:
            self.same_as_missing("taxii object hidden=missing", r, url, oid, {"match[version]": which}, taxii=True)
            rv = self.get(url.format(oid) + "versions/", taxii=True)
            self.same_as_missing("taxii versions hidden=missing", rv, url + "versions/", oid, taxii=True)
            return
        _expect("taxii object status", self.name, 200, r.status_code)
        _expect(f"taxii object version={which}", self.name, _spairs(want), self._opairs(orjson.loads(r.content).get("objects", [])))
        got = self.taxii_pages("taxii versions", url.format(oid) + "versions/", {}, key="versions")
        _expect("taxii versions", self.name, [_taxii_version(s.version) for s in allv], got)

    # ------------------------------------------------------------------ correlations, search, sightings
    def correlations(self, oid: str) -> None:
        """Check ``GET /objects/{id}/correlations``: exactly the readable objects whose keys relate, with why."""
        m = self.model
        want = m.get(self.member, oid, "last")
        url = "/api/v1/objects/{}/correlations"
        r = self.get(url.format(oid))
        if not want:
            self.same_as_missing("correlations hidden=missing", r, url, oid)
            return
        _expect("correlations status", self.name, 200, r.status_code)
        source = want[-1]
        linked = m.linked(self.member, keys_of(source.obj), exclude=source.oid)
        expected = {"id": oid, "count": len(linked), "noisy": [], "correlations": [
            {"id": i, "type": t, "matches": sorted(ms)} for i, (t, ms) in sorted(linked.items(), key=lambda x: (x[1][0], x[0]))]}
        data = orjson.loads(r.content)
        for c in data.get("correlations", []):
            c["matches"] = sorted((x["value"], x["matched"], x["reason"]) for x in c["matches"])
        _expect("correlations", self.name, expected, data)
        CHECKS["correlations linked"] += len(linked)

    def search(self, value: str, types: tuple[str, ...] = (), producer: tuple[str, int] | None = None) -> None:
        """Check ``GET /search?value=``: readable objects holding a related value, their matches, object,
        score and sighting counts; results ordered by their last activity (newest first), then id."""
        m = self.model
        keys = keys_for_value(value)
        params: dict[str, Any] = {"value": value, "limit": 1000}
        tag = "search" + (" type" if types else "") + (" producer" if producer else "")
        if types:
            params["type"] = list(types)
        if producer is not None:
            params["producer"] = producer[0]
        data = self._json(tag, "/api/v1/search", params)
        linked = m.linked(self.member, keys, types=types, producer=None if producer is None else producer[1],
                          holders_of_benign=True)
        want = []
        for oid, (otype, ms) in sorted(linked.items()):
            latest = m.select(self.member, "last", versions=[v for v in m.versions if v.oid == oid])
            want.append((oid, otype, sorted(ms), _vpairs(latest), m.tally(self.member, oid).counts()))
        results = data["results"]
        got = [(x["id"], x["type"], sorted((y["value"], y["matched"], y["reason"]) for y in x["matches"]),
                self._opairs([x["object"]]), {k: v for k, v in x["sightings"].items()}) for x in results]
        _expect(tag, self.name, want, sorted(got))
        _expect(tag + " count", self.name, (len(want), False, []), (data["count"], data["more"], data["noisy"]))
        for x in results:
            _expect(tag + " score is the object's", self.name, (x["id"], strip_score(x["object"])[1]), (x["id"], x["score"]))
        order = [(x["last_seen"] or "", x["id"]) for x in results]
        _expect(tag + " newest first", self.name, sorted(order, reverse=True), order)
        CHECKS["search hits"] += len(want)

    def sightings(self, oid: str) -> None:
        """Check ``GET /objects/{id}/sightings``: the counts the model gives this reader (anonymous ones as such)."""
        m = self.model
        want = m.get(self.member, oid, "last")
        url = "/api/v1/objects/{}/sightings"
        r = self.get(url.format(oid))
        if not want:
            self.same_as_missing("sightings hidden=missing", r, url, oid)
            return
        _expect("sightings status", self.name, 200, r.status_code)
        data = orjson.loads(r.content)
        spans = (data.pop("first_seen"), data.pop("last_seen"))
        _expect("sightings", self.name, {"id": oid, **m.tally(self.member, oid).counts()}, data)
        _expect("sightings span", self.name, True, None not in spans and spans[0] <= spans[1])
        CHECKS["sightings counted"] += data["seen"] + data["false_positive"] + sum(data.get("anonymous", {}).values())

    # ------------------------------------------------------------------ counts (store level: the API returns none)
    def counts(self, hub: Any, org_id: int) -> None:
        """Check ``store.count`` (what exports and pages are sized by) per version selector and collection."""
        from pacte.store.base import ObjectQuery

        m = self.model
        for which in ("last", "all"):
            _expect(f"count {which}", self.name, len(m.select(self.member, which)),
                    hub.store.count(ObjectQuery(reader=org_id, versions=which)))
        for c in m.readable_collections(self.member):
            cid = hub.store.collection_by_name(c.name).cid
            _expect("count collection", self.name, len(m.in_collection(self.member, c.name, "last")),
                    hub.store.count(ObjectQuery(reader=org_id, collection=cid)))


_REF_KEYS = ("object_refs", "source_ref", "target_ref", "sighting_of_ref", "where_sighted_refs",
             "observed_data_refs", "sample_refs", "sample_ref", "created_by_ref")


def _refs_of(obj: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in _REF_KEYS:
        value = obj.get(key)
        if isinstance(value, str):
            out.add(value.lower())
        elif isinstance(value, list):
            out.update(str(x).lower() for x in value)
    return out


UNVERSIONED = "1970-01-01T00:00:00.000Z"


def _taxii_version(v: MVersion) -> str:
    """Return a version's TAXII version: modified, else created, else the fixed value of observables."""
    if not v.vkey:
        return UNVERSIONED
    return str(v.obj.get("modified") or v.obj.get("created"))
