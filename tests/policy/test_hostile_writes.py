"""A hostile member's writes never change what a third member reads, counts or receives.

Two hubs receive the same honest operations (members Alpha and Bravo share their own objects,
marking definitions and observables into community, groups and private collections); the second
hub also receives a hostile member's writes interleaved with them: identical content of any
honest object (hidden ones included), new versions of honest ids, ids guessed before their
creator publishes them, definitions of the marking ids honest members reference, reserved TLP
ids, and objects with odd custom properties. For the reader Romeo, everything not produced by
the hostile member must be identical in both hubs: every version selection, per collection,
by id, counts per producer, the export, and the stream replayed from the start.

Known limit, left out on purpose (:func:`outside_known_limit`): a reader gets, per id, the line
of the first version it was shown among those naming their own producer as creator, else among
all it reads (hidden posts must decide nothing). So an observable (no creator) that the hostile
member posts where Romeo sees it, before an honest member's first share Romeo sees, gives Romeo
the hostile copy.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, drop_store, make_store, pg_url_or_skip
from helpers import TLP2, SpreadIds, sid, statement_marking, ts
from pacte.config import Settings
from pacte.errors import NotFound
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.clock import FrozenClock
from pacte.store.base import Collection, ObjectQuery, Org
from pacte.store.events import EventQuery

HONEST = ("Alpha", "Bravo")
READER, HOSTILE = "Romeo", "Hostile"
STATEMENTS = [statement_marking(f"shared-{i}") for i in range(2)]
UNKNOWN = sid("marking-definition", "never-defined")
MARKINGS = [TLP2["clear"], TLP2["green"], TLP2["amber"], TLP2["red"], STATEMENTS[0]["id"], STATEMENTS[1]["id"], UNKNOWN]
RESERVED = [TLP2["amber+strict"], "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"]
EXAMPLES = {"sqlite": 40, "postgres": 15}

Op = tuple[str, str, dict[str, Any]]  # (member, collection, object)


def honest_ops(data: st.DataObject, identities: dict[str, str]) -> list[Op]:
    """Draw the honest members' operations: their own objects, versions, definitions and observables."""
    ops: list[Op] = []
    own: list[tuple[str, str]] = []  # (member, id) of the SDOs posted so far
    for n in range(data.draw(st.integers(3, 12), label="honest operations")):
        who = data.draw(st.sampled_from(HONEST), label="honest member")
        where = data.draw(st.sampled_from(["community", "AR", "AB", "BH", f"private:{who}"]), label="collection")
        if where in ("AR", "BH") and who not in {"AR": "Alpha", "BH": "Bravo"}[where]:
            where = "AB"
        kind = data.draw(st.sampled_from(["sdo", "sdo", "version", "statement", "sco"]), label="honest kind")
        markings = data.draw(st.lists(st.sampled_from(MARKINGS), max_size=2, unique=True), label="markings")
        if where == "community":
            markings = [x for x in markings if x != TLP2["red"]]
        obj: dict[str, Any]
        if kind == "version" and any(w == who for w, _ in own):
            oid = data.draw(st.sampled_from([i for w, i in own if w == who]), label="versioned")
            obj = {"type": oid.split("--")[0], "spec_version": "2.1", "id": oid, "created": ts(0), "modified": ts(n + 1),
                   "name": f"{who} {n}", "created_by_ref": identities[who], "object_marking_refs": markings}
        elif kind == "statement":
            obj = {**STATEMENTS[data.draw(st.integers(0, 1), label="statement")], "created_by_ref": identities[who]}
        elif kind == "sco":  # each honest member its own values: no two honest lines of one observable
            value = f"198.51.100.{HONEST.index(who) * 100 + data.draw(st.integers(1, 3), label='sco value')}"
            obj = {"type": "ipv4-addr", "spec_version": "2.1", "id": sid("ipv4-addr", value), "value": value,
                   "object_marking_refs": markings}
        else:
            oid = sid("threat-actor", f"{who}-{n}")
            own.append((who, oid))
            obj = {"type": "threat-actor", "spec_version": "2.1", "id": oid, "created": ts(0), "modified": ts(n + 1),
                   "name": f"{who} {n}", "created_by_ref": identities[who], "object_marking_refs": markings}
        ops.append((who, where, obj))
    return ops


def hostile_op(data: st.DataObject, done: list[Op], todo: list[Op], n: int) -> Op:
    """Draw one hostile write, knowing every honest object (posted or still to come)."""
    where = data.draw(st.sampled_from(["community", "BH", f"private:{HOSTILE}"]), label="hostile collection")
    kind = data.draw(st.sampled_from(["identical", "version", "guess", "marking", "reserved", "odd"]), label="hostile")
    posted = [obj for _, _, obj in done]
    future_sdos = [obj for _, _, obj in todo if obj["type"] == "threat-actor" and obj["id"] not in
                   {o["id"] for o in posted}]
    if kind == "identical" and posted:
        return HOSTILE, where, dict(data.draw(st.sampled_from(posted), label="copied"))
    if kind == "version" and posted:
        target = data.draw(st.sampled_from(posted), label="target")
        if target["type"] == "ipv4-addr":
            return HOSTILE, where, {**target, "x_hostile": n}
        return HOSTILE, where, {**target, "modified": ts(100 + n), "name": "hostile", "created_by_ref": None,
                                "object_marking_refs": [TLP2["clear"]]} | {"description": "newer, and wrong"}
    if kind == "guess" and future_sdos:  # an SDO id published first, before its creator does
        target = data.draw(st.sampled_from(future_sdos), label="guessed")
        return HOSTILE, where, {**target, "name": "squatted", "created_by_ref": None, "object_marking_refs": []}
    if kind == "marking":
        statement = dict(data.draw(st.sampled_from(STATEMENTS), label="hijacked statement"))
        return HOSTILE, where, {**statement, "name": "hijack"}
    if kind == "reserved":
        return HOSTILE, where, {**statement_marking("fake"), "id": data.draw(st.sampled_from(RESERVED), label="tlp")}
    return HOSTILE, where, {"type": "threat-actor", "spec_version": "2.1", "id": sid("threat-actor", f"odd-{n}"),
                            "created": ts(0), "modified": ts(0), "name": "odd", "aliases": 5,
                            "x_mitre_aliases": {"a": [1, {"b": None}]}, "external_references": "not a list",
                            "x_nested": [[[[["deep"]]]]], "labels": ["x"], "object_marking_refs": [UNKNOWN]}


def outside_known_limit(op: Op, todo: list[Op]) -> Op:
    """Keep a hostile write out of the known limit: an observable a later honest op shares goes to its private collection."""
    who, where, obj = op
    if obj.get("type") == "ipv4-addr" and where != f"private:{HOSTILE}" and any(o["id"] == obj["id"]
                                                                              for _, _, o in todo):
        return who, f"private:{HOSTILE}", obj
    return op


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop keys set to None (a way to remove a property from a copied object)."""
    return {k: v for k, v in obj.items() if v is not None}


def build(store: Any) -> tuple[Hub, dict[str, Org], dict[str, Collection]]:
    clock = FrozenClock(datetime(2026, 1, 15, 10, 0, tzinfo=UTC), step=timedelta(milliseconds=1))
    hub = Hub(store, Settings(max_depth=16), clock=clock, ids=SpreadIds())
    orgs = {name: m.add_org(store, hub.ids, hub.clock, name, None) for name in (*HONEST, READER, HOSTILE)}
    colls: dict[str, Collection] = {"community": hub.community}
    for name, who in (("AR", ("Alpha", READER)), ("AB", HONEST), ("BH", ("Bravo", HOSTILE))):
        colls[name] = m.add_group(store, hub.ids, hub.clock, name, [orgs[w] for w in who])
    for name in orgs:
        coll = store.collection_by_name(f"private:{name}")
        assert coll is not None
        colls[coll.name] = coll
    return hub, orgs, colls


def apply(hub: Hub, orgs: dict[str, Org], colls: dict[str, Collection], ops: list[Op]) -> list[dict[str, Any]]:
    """Apply the operations; return the honest members' replies (the hostile ones may be anything)."""
    replies = []
    for who, where, obj in ops:
        (out,) = hub.share_as(orgs[who], colls[where], [clean(obj)]).outcomes
        if who != HOSTILE:
            replies.append({"who": who, **out.as_dict()})
    return replies


def view(hub: Hub, orgs: dict[str, Org], colls: dict[str, Collection], ids: list[str]) -> dict[str, Any]:
    """Return everything Romeo reads, minus what the hostile member produced."""
    reader, hostile = orgs[READER].org_id, orgs[HOSTILE].org_id
    store = hub.store
    out: dict[str, Any] = {}
    honest_producers = [orgs[n].org_id for n in (*HONEST, READER)]

    def rows(q: ObjectQuery) -> list[tuple[str, str]]:
        return sorted((i.vkey, i.doc) for i in store.query(q).items)

    def minus(got: list[Any], hostile_rows: list[Any]) -> list[Any]:  # multisets: a copy and its original are two
        return sorted((Counter(got) - Counter(hostile_rows)).elements())

    for which in ("all", "last", "first"):
        for p in honest_producers:  # each honest line through the producer filter
            out[f"{which}/{p}"] = rows(ObjectQuery(reader=reader, producer=p, versions=which, limit=100_000))
        everything = rows(ObjectQuery(reader=reader, versions=which, limit=100_000))
        hostile_rows = rows(ObjectQuery(reader=reader, producer=hostile, versions=which, limit=100_000))
        out[f"{which}/honest"] = minus(everything, hostile_rows)
        for name, coll in colls.items():
            if store.is_member(coll.cid, reader):
                got = rows(ObjectQuery(reader=reader, collection=coll.cid, versions=which, limit=100_000))
                hostile_c = rows(ObjectQuery(reader=reader, collection=coll.cid, producer=hostile, versions=which,
                                             limit=100_000))
                out[f"{which}/{name}"] = minus(got, hostile_c)
        for p in honest_producers:
            out[f"count/{which}/{p}"] = store.count(ObjectQuery(reader=reader, producer=p, versions=which))
    for oid in ids:
        try:
            items = hub.get_object(orgs[READER], oid, "all")
        except NotFound:
            items = []
        hostile_docs = [i.doc for i in store.query(ObjectQuery(reader=reader, ids=[oid], producer=hostile,
                                                               versions="all")).items]
        out[f"id/{oid}"] = minus([i.doc for i in items], hostile_docs)
    exported = [(i.vkey, i.doc) for i in hub.export(orgs[READER])]
    out["export"] = minus(exported, rows(ObjectQuery(reader=reader, producer=hostile, limit=100_000)))
    head = store.event_head()
    events = store.stream_events(EventQuery(reader=reader, after=0, upto=head, limit=100_000))
    out["stream"] = [(e.kind, e.collection_name, e.object_id, e.doc) for e in events if e.producer != HOSTILE]
    return out


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_hostile_writes_change_nothing_a_third_member_reads(backend_name: str,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    if backend_name == "postgres":
        pg_url_or_skip()
    base: Path = tmp_path_factory.mktemp("hostile")
    runs = iter(range(10_000))
    examples = int(os.environ.get("HOSTILE_EXAMPLES", EXAMPLES[backend_name]))

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        run = next(runs)
        calm, attacked = make_store(backend_name, base / f"calm{run}"), make_store(backend_name, base / f"hit{run}")
        try:
            hub1, orgs1, colls1 = build(calm)
            hub2, orgs2, colls2 = build(attacked)
            assert [o.identity_id for o in orgs1.values()] == [o.identity_id for o in orgs2.values()]
            identities = {name: o.identity_id for name, o in orgs1.items()}
            honest = honest_ops(data, identities)
            mixed: list[Op] = []
            for i, op in enumerate(honest):
                for n in range(data.draw(st.integers(0, 2), label=f"hostile writes before op {i}")):
                    mixed.append(outside_known_limit(hostile_op(data, honest[:i], honest[i:], len(mixed) + n),
                                                     honest[i:]))
                mixed.append(op)
            mixed += [hostile_op(data, honest, [], len(mixed) + n) for n in range(data.draw(st.integers(0, 3)))]
            assert any(who == HOSTILE for who, _, _ in mixed) or len(mixed) == len(honest)
            # the honest members' replies are the same: nothing tells them of the hostile writes
            assert apply(hub2, orgs2, colls2, mixed) == apply(hub1, orgs1, colls1, honest)
            ids = sorted({obj["id"] for _, _, obj in honest})
            assert view(hub2, orgs2, colls2, ids) == view(hub1, orgs1, colls1, ids)
        finally:
            drop_store(calm)
            drop_store(attacked)

    check()
