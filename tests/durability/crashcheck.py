"""Checks of a crash run (:mod:`tests.durability.crashkit`): what the store, the API and the stream hold afterwards.

Read straight from the database (no hub code): every acknowledged version stored exactly once with
its share and its one ``object`` event; every unacknowledged bundle all or nothing; nothing stored
that no client sent; SQLite ``PRAGMA integrity_check``. Through the API: ``GET /api/v1/objects``
lists each stored version once. Through the stream: the reader received exactly its events of
the log (the store's own policy query), in order, once each.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from pacte.hub import Hub
from pacte.hub.positions import Surface
from pacte.store.events import EventQuery

if TYPE_CHECKING:
    from tests.durability.crashkit import Run

Version = tuple[str, int, str]  # (object id, producer org id, modified as sent)


@dataclass
class Attempt:
    """One POST of a bundle and what its client knows of it."""

    surface: str  # api | taxii
    producer: int
    versions: list[Version]
    outcome: str = "unknown"  # acked | unknown (dropped or 5xx) | rejected (an answer that should not happen)
    status_id: str | None = None
    note: str = ""
    renewed: int = 0  # how many of its objects are new versions of earlier ones
    retry: bool = False  # the same bundle as an unacknowledged attempt before it
    retried: bool = False  # unacknowledged, then sent again


@dataclass
class Report:
    """Figures of a run and the violations it found (empty when the hub kept every promise)."""

    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)


@dataclass
class Stored:
    """What the database holds after the run, read directly (no hub code)."""

    rows: dict[Version, list[int]]  # indicator versions: (id, producer, modified) -> vids
    shares: Counter[int]  # shares per vid in the community collection
    other_shares: int  # shares of indicators anywhere else (none are made)
    events: Counter[int]  # object events per vid in the community collection
    statuses: set[str]
    integrity: str


def read_store(url: str, community: int) -> Stored:
    """Read versions, shares, object events and TAXII statuses straight from the database."""
    queries = ["SELECT vid, id, producer, modified FROM versions WHERE type = 'indicator'",
               "SELECT s.vid, s.cid FROM shares s JOIN versions v ON v.vid = s.vid WHERE v.type = 'indicator'",
               "SELECT vid, cid FROM events WHERE kind = 'object'",
               "SELECT status_id FROM taxii_status"]
    if url.startswith("postgres"):
        import psycopg

        from pacte.store.postgres import split_schema

        conninfo, schema = split_schema(url)
        with psycopg.connect(conninfo, options=f"-c search_path={schema}" if schema else "") as conn:
            results = [conn.execute(q).fetchall() for q in queries]
        integrity = "n/a"
    else:
        conn = sqlite3.connect(url)
        try:
            results = [conn.execute(q).fetchall() for q in queries]
            integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                integrity += f"; foreign_key_check: {fk[:5]}"
        finally:
            conn.close()
    rows: dict[Version, list[int]] = {}
    for vid, oid, producer, modified in results[0]:
        rows.setdefault((oid, producer, modified), []).append(vid)
    shares = Counter(vid for vid, cid in results[1] if cid == community)
    events = Counter(vid for vid, cid in results[2] if cid == community)
    return Stored(rows, shares, sum(1 for _, cid in results[1] if cid != community), events,
                  {r[0] for r in results[3]}, integrity)


def api_versions(run: Run) -> Counter[tuple[str, str]]:
    """Return how many times each (id, modified) of an indicator is listed by GET /api/v1/objects."""
    seen: Counter[tuple[str, str]] = Counter()
    params: dict[str, Any] = {"versions": "all", "limit": 1000, "type": "indicator"}
    with httpx.Client(base_url=f"http://127.0.0.1:{run.servers[0].port}", timeout=120,
                      headers={"Authorization": f"Bearer {run.reader_secret}"}) as client:
        while True:
            r = client.get("/api/v1/objects", params=params)
            r.raise_for_status()
            page = r.json()
            seen.update((o["id"], o["modified"]) for o in page["objects"])
            if not page["more"]:
                return seen
            params["cursor"] = page["next"]


def check_writes(run: Run, stored: Stored, listed: Counter[tuple[str, str]], rep: Report) -> None:
    """Every acknowledged version once with share and event; unacknowledged bundles all or nothing."""
    f = rep.figures
    lost = dup = half = incomplete = api_bad = missing_status = 0
    sent: set[Version] = set()
    outcomes = Counter(a.outcome for a in run.attempts)
    present_unknown = absent_unknown = 0
    for a in run.attempts:
        sent.update(a.versions)
    for v in sent:  # each version once, however many attempts carried it
        vids = stored.rows.get(v, [])
        in_api = listed.get((v[0], v[2]), 0)
        if len(vids) > 1 or in_api > 1:
            dup += 1
            rep.violations.append(f"duplicated {v}: {len(vids)} rows, listed {in_api} times")
        if any(stored.shares[x] != 1 or stored.events[x] != 1 for x in vids):
            incomplete += 1
            rep.violations.append(f"{v}: shares {[stored.shares[x] for x in vids]},"
                                  f" events {[stored.events[x] for x in vids]} (one each expected)")
        if bool(vids) != bool(in_api):
            api_bad += 1
            rep.violations.append(f"{v}: {len(vids)} rows but listed {in_api} times by the API")
    for a in run.attempts:
        if a.outcome == "rejected":
            rep.violations.append(f"unexpected answer to a {a.surface} write: {a.note}")
            continue
        present = sum(1 for v in a.versions if v in stored.rows)
        if a.outcome == "acked" and present < len(a.versions):
            lost += len(a.versions) - present
            rep.violations.append(f"lost {len(a.versions) - present} of {len(a.versions)} versions of an"
                                  f" acknowledged {a.surface} write, e.g. {next(v for v in a.versions if v not in stored.rows)}")
        if a.outcome == "unknown":
            if 0 < present < len(a.versions):
                half += 1
                rep.violations.append(f"half-visible {a.surface} bundle: {present} of {len(a.versions)} stored")
            if not a.retried:  # left as it was: the bundle shows what the crash kept of it
                present_unknown += present == len(a.versions)
                absent_unknown += present == 0
        if a.outcome == "acked" and a.status_id is not None and a.status_id not in stored.statuses:
            missing_status += 1
            rep.violations.append(f"TAXII status {a.status_id} of an acknowledged write is not stored")
    orphans = [v for v in stored.rows if v not in sent]
    if orphans:
        rep.violations.append(f"{len(orphans)} stored versions no client sent, e.g. {orphans[:3]}")
    if stored.other_shares:
        rep.violations.append(f"{stored.other_shares} indicator shares outside the community collection")
    if stored.integrity not in ("ok", "n/a"):
        rep.violations.append(f"integrity_check: {stored.integrity[:500]}")
    f.update({"writes attempted": len(run.attempts), "writes acknowledged": outcomes["acked"],
              "  through API / TAXII": "{} / {}".format(*(sum(a.outcome == "acked" and a.surface == sf
                                                                   for a in run.attempts) for sf in ("api", "taxii"))),
              "writes unacknowledged (dropped or 5xx)": outcomes["unknown"],
              "  by cause": dict(Counter(a.note.split(":")[0] for a in run.attempts if a.outcome == "unknown")),
              "  not sent again: fully stored / fully absent": f"{present_unknown} / {absent_unknown}",
              "writes sent again after a lost answer": sum(a.retry for a in run.attempts),
              "  of which acknowledged": sum(a.retry and a.outcome == "acked" for a in run.attempts),
              "writes rejected (unexpected)": outcomes["rejected"],
              "connections refused (retried elsewhere)": run.connect_errors,
              "objects acknowledged": len({v for a in run.attempts if a.outcome == "acked" for v in a.versions}),
              "  of which new versions": sum(a.renewed for a in run.attempts if a.outcome == "acked"),
              "versions stored": len(stored.rows), "lost": lost, "duplicated": dup,
              "half-visible bundles": half, "versions without exactly one share and event": incomplete,
              "API listing disagrees with store": api_bad, "TAXII statuses missing": missing_status,
              "stored but never sent": len(orphans), "integrity_check": stored.integrity})


def expected_events(run: Run, store: Any) -> list[Any]:
    """Return the reader's events of the whole log, as the store's own policy query gives them."""
    out: list[Any] = []
    head = store.event_head()
    after = 0
    while True:
        page = store.stream_events(EventQuery(reader=run.reader_org, after=after, upto=head, limit=1000))
        if not page:
            return out
        out.extend(page)
        after = page[-1].eid


def check_stream(run: Run, hub: Hub, expected: list[Any], rep: Report) -> None:
    """The stream delivered exactly the reader's events of the log, in order, once each."""
    positions = hub.positions.reader(Surface.STREAM, run.reader_org)
    got: list[int] = []
    for token, kind, oid, modified in run.received:
        eid = positions.open(token)
        if eid is None:
            rep.violations.append(f"stream event id {token[:20]}... does not open for the reader")
            continue
        got.append(eid)
        i = _index(expected, eid)
        row = expected[i] if i < len(expected) and expected[i].eid == eid else None
        logged = (row.kind, row.object_id, orjson.loads(row.doc).get("modified") if row.doc else None) if row else None
        if row is not None and logged != (kind, oid, modified):
            rep.violations.append(f"event {eid}: received {(kind, oid, modified)}, the log has {logged}")
    want = [e.eid for e in expected]
    dups = len(got) - len(set(got))
    disorder = sum(1 for a, b in pairwise(got) if b <= a)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if dups or disorder or missing or extra:
        rep.violations.append(f"stream: {dups} duplicates, {disorder} out of order, {len(missing)} missing"
                              f" (e.g. {missing[:5]}), {len(extra)} unexpected (e.g. {extra[:5]})")
    for err in run.stream_errors:
        rep.violations.append(f"stream: {err}")
    acked = {(v[0], v[2]) for a in run.attempts if a.outcome == "acked" for v in a.versions}
    per_version = Counter((oid, mod) for _, kind, oid, mod in run.received if kind == "object")
    twice = [v for v, n in per_version.items() if n > 1]
    if twice:
        rep.violations.append(f"stream: {len(twice)} versions delivered more than once, e.g. {twice[:3]}")
    streamed = set(per_version)
    if acked - streamed:
        rep.violations.append(f"{len(acked - streamed)} acknowledged versions never streamed")
    rep.figures.update({"stream events received": len(got), "stream events expected": len(want),
                        "stream duplicates": dups, "versions streamed twice": len(twice), "stream out of order": disorder,
                        "stream missing": len(missing), "stream connections": run.connections})


def _index(expected: list[Any], eid: int) -> int:
    lo, hi = 0, len(expected)
    while lo < hi:
        mid = (lo + hi) // 2
        if expected[mid].eid < eid:
            lo = mid + 1
        else:
            hi = mid
    return lo
