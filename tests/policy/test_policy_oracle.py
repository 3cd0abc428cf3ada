"""The sharing policy, checked against an independent oracle through the real storage query path.

The oracle below is a plain-Python model of the rules as written in ``pacte.policy``'s docstring
and issue 2 (not a copy of the SQL):

* the member that shared an object version always reads it back;
* TLP:CLEAR / GREEN / AMBER objects are read by the audience of a collection they were shared
  into: everyone for ``community``, the group's current members for a group, the owner for a
  private collection;
* TLP:AMBER+STRICT and TLP:RED are refused in ``community``;
* no TLP marking: the collection's current default applies (read time);
* non-TLP markings the hub holds do not restrict; an unresolvable reference or a deleted
  collection means producer only;
* provenance: ``created_by_ref`` naming another member is refused; a member cannot post a
  version of an object another member created; objects created by non-members are relayed and
  any member may share them;
* tokens: a revoked token fails at once; readers cannot share; nobody shares into a collection
  it does not belong to.

Hypothesis generates members, groups, memberships (added and removed), tokens (revoked or
not), objects shared through ``Hub.share`` / ``Hub.share_as`` with TLP 2.0 / TLP 1.0 / statement
/ unknown markings, collections deleted and default markings changed; then, for every member,
the exact readable (id, version) sets and counts from ``store.query`` / ``store.count`` (all,
last and first versions, paginated, per collection with counts), ``Hub.get_object`` and ``Hub.export`` are
compared with the oracle; at the end of each example the native API's paginated listing and its
404 for hidden objects (byte for byte the body of a missing one) are compared too.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, drop_store, make_store, pg_url_or_skip
from helpers import MITRE_IDENTITY, TLP1, TLP2, SpreadIds, sid, ts
from pacte.api.app import create_app
from pacte.config import Settings
from pacte.errors import Forbidden, NotFound, Unauthenticated
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.auth import Principal
from pacte.hub.clock import FrozenClock
from pacte.policy import Role
from pacte.store.base import Collection, ObjectQuery, Org, StoredObject

CLEAR, GREEN, AMBER, STRICT, RED = range(5)
TLP_LEVEL: dict[str, int] = {
    TLP2["clear"]: CLEAR, TLP2["green"]: GREEN, TLP2["amber"]: AMBER, TLP2["amber+strict"]: STRICT,
    TLP2["red"]: RED, TLP1["white"]: CLEAR, TLP1["green"]: GREEN, TLP1["amber"]: AMBER, TLP1["red"]: RED,
}
RESERVED = [*TLP_LEVEL, "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"]  # + OpenCTI's AMBER+STRICT
STATEMENTS = [sid("marking-definition", f"statement-{i}") for i in range(3)]
NEVER_HELD = sid("marking-definition", "never-shared")  # no definition is ever posted for it
ALL_REFS = [*TLP_LEVEL, *STATEMENTS, NEVER_HELD]
UNKNOWN = 99  # sentinel: a reference the hub cannot resolve
TYPES = ["attack-pattern", "threat-actor", "intrusion-set"]
SCOS = {"ipv4-addr"}
SCO_VALUES = ["198.51.100.1", "198.51.100.2"]  # few values: the same SCO id is shared again and again

DEFAULTS = {"community": GREEN, "group": AMBER, "private": AMBER}
# Examples per backend (PostgreSQL round trips cost more); ORACLE_EXAMPLES overrides both.
MAX_EXAMPLES = {"sqlite": 120, "postgres": 60}
MIN_CASES = 1000  # (object version, reader) pairs checked per backend, at least

Key = tuple[str, str, str]  # (id, version, content tag); identities: (id, "*", "*")


# --------------------------------------------------------------------------- the oracle


@dataclass
class MColl:
    """A collection as the oracle sees it."""

    name: str
    kind: str
    members: set[int]
    default: int
    coll: Collection
    deleted: bool = False


@dataclass
class MVersion:
    """An object version as the oracle sees it: one member's line holds it."""

    oid: str
    version: str
    tag: str
    markings: tuple[str, ...]
    producer: int
    shares: set[str] = field(default_factory=set)  # collection names
    unresolved: set[str] = field(default_factory=set)
    unknown: bool = False  # producer-only: a marking it references is not one it may rely on
    claim: bool = False  # its created_by_ref names its own producer
    at: dict[str, int] = field(default_factory=dict)  # collection name -> order of that share among all shares


@dataclass
class Oracle:
    """The rules, in plain Python."""

    names: list[str]
    identities: dict[str, int]
    colls: dict[str, MColl] = field(default_factory=dict)
    versions: dict[tuple[Key, int], MVersion] = field(default_factory=dict)  # (key, producer)
    posted: set[str] = field(default_factory=set)  # every object id accepted
    shares_made: int = 0
    defs: dict[tuple[str, int], int] = field(default_factory=dict)  # (marking, producer) -> order defined
    revoked: set[int] = field(default_factory=set)

    def explicit(self, v: MVersion) -> int | None:
        """Return the object's own TLP level, None without one, UNKNOWN if it is producer-only."""
        if v.unknown:
            return UNKNOWN
        levels = [TLP_LEVEL[ref] for ref in v.markings if ref in TLP_LEVEL]
        return max(levels) if levels else None

    def shows(self, reader: int, v: MVersion, cname: str) -> bool:
        """Return True if the version's share into this collection lets the member read it now."""
        if reader == v.producer:
            return True
        own = self.explicit(v)
        c = self.colls[cname]
        if own == UNKNOWN or c.deleted:
            return False
        level = own if own is not None else c.default
        return level <= AMBER if c.kind == "community" else reader in c.members and level <= RED

    def readable(self, reader: int, v: MVersion) -> bool:
        """Return True if the member may read the version now."""
        return any(self.shows(reader, v, cname) for cname in v.shares)

    def first_shown(self, reader: int, v: MVersion) -> int:
        """Return the order of the first share of the version that shows it to the member."""
        return min(v.at[cname] for cname in v.shares if self.shows(reader, v, cname))

    def share(self, v: MVersion, cname: str) -> None:
        """Record a share of the version into a collection (a second share into the same one is none)."""
        if cname not in v.shares:
            v.shares.add(cname)
            v.at[cname] = self.shares_made
            self.shares_made += 1

    def may_rely(self, org: int, ref: str) -> bool:
        """Return True if a version of ``org`` may rely on marking ``ref``: a TLP id, or its own definition."""
        return ref in TLP_LEVEL or (ref, org) in self.defs

    def may_write(self, org: int, cname: str) -> bool:
        """Return True if the member belongs to the live collection's audience."""
        c = self.colls[cname]
        return not c.deleted and (c.kind == "community" or org in c.members)

    def decide(self, org: int, cname: str, obj: dict[str, Any]) -> str | None:
        """Return None if the object is accepted, else the refusal code."""
        if obj["id"] in RESERVED:
            return "policy_refused"  # a TLP definition the hub holds
        creator = obj.get("created_by_ref")
        if creator in self.identities and self.identities[creator] != org:
            return "policy_refused"  # spoofed provenance
        version, tag = version_of(obj)
        for (k, producer) in self.versions:
            if k[0] == obj["id"] and k[1] == version and producer == org and k[2] != tag:
                return "policy_refused"  # different content under a version it already shared
        tlp = [TLP_LEVEL[r] for r in obj.get("object_marking_refs", []) if r in TLP_LEVEL]
        if self.colls[cname].kind == "community" and tlp and max(tlp) >= STRICT:
            return "policy_refused"
        return None

    def accept(self, org: int, cname: str, obj: dict[str, Any]) -> None:
        """Record an accepted object (marking definitions of a batch are accepted before the rest)."""
        oid = obj["id"]
        version, tag = version_of(obj)
        key = ((oid, version, tag), org)
        if key in self.versions:  # the member's own version again: one more collection
            self.share(self.versions[key], cname)
            return
        creator = obj.get("created_by_ref")
        self.posted.add(oid)
        markings = tuple(obj.get("object_marking_refs", []))
        unresolved = {ref for ref in markings if not self.may_rely(org, ref)}
        v = self.versions[key] = MVersion(oid, version, tag, markings, org, set(), unresolved, bool(unresolved),
                                          claim=creator is not None and self.identities.get(creator) == org)
        self.share(v, cname)
        if obj["type"] == "marking-definition" and (oid, org) not in self.defs:
            self.defs[(oid, org)] = len(self.defs)
            for v in self.versions.values():  # the producer's own versions waiting for it
                if v.producer == org and oid in v.unresolved:
                    v.unresolved.discard(oid)
                    v.unknown = bool(v.unresolved)

    def expected(self, reader: int, cname: str | None = None) -> list[MVersion]:
        """Return every version the member may read (in one collection if named), identities aside."""
        return [v for v in self.versions.values() if self.readable(reader, v) and (cname is None or cname in v.shares)]

    def view(self, reader: int, which: str, cname: str | None = None) -> list[Key]:
        """Return the keys the member reads, sorted: all versions, or the one chosen per id."""
        seen = self.expected(reader, cname)
        chosen = seen if which == "all" else self.choose(reader, seen, which)
        out = [(v.oid, v.version, v.tag) for v in chosen]
        if cname is None or cname == "community":
            out += [(ident, "*", "*") for ident in self.identities]
        return sorted(out)

    def choose(self, reader: int, seen: list[MVersion], which: str) -> list[MVersion]:
        """Return, per id, the versions the member gets among those it sees.

        One line per id, its owner's as this reader sees them: the producer of the first version
        naming its own producer as creator that the reader was shown, else of the first version it
        was shown; in that line the latest (or earliest) version.
        """
        by_id: dict[str, list[MVersion]] = {}
        for v in seen:
            by_id.setdefault(v.oid, []).append(v)
        out = []
        for vs in by_id.values():
            owner = min(vs, key=lambda v: (not v.claim, self.first_shown(reader, v))).producer
            line = [v for v in vs if v.producer == owner]
            out.append(max(line, key=lambda v: v.version) if which == "last" else min(line, key=lambda v: v.version))
        return out


def version_of(obj: dict[str, Any]) -> tuple[str, str]:
    """Return (version, content tag) of a generated object."""
    return str(obj.get("modified", obj.get("created"))), str(obj.get("name", obj.get("x_tag")))


def key_of(doc: str, identities: Iterable[str]) -> Key:
    """Return the comparison key of a stored document."""
    obj = orjson.loads(doc)
    if obj["type"] == "identity" and obj["id"] in identities:
        return (obj["id"], "*", "*")
    return (obj["id"], *version_of(obj))


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """The hub under test, its members and the oracle mirroring it."""

    hub: Hub
    orgs: list[Org]
    principals: list[Principal]
    secrets: list[str]
    oracle: Oracle
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    docs: dict[Key, dict[str, Any]] = field(default_factory=dict)  # accepted documents
    invalid: set[str] = field(default_factory=set)  # ids of objects generated invalid


def build_world(data: st.DataObject, hub: Hub) -> World:
    n = data.draw(st.integers(2, 5), label="members")
    names = [f"Org{i}" for i in range(n)]
    orgs = [m.add_org(hub.store, hub.ids, hub.clock, name, None) for name in names]
    principals, secrets = [], []
    for org in orgs:
        role = data.draw(st.sampled_from(list(Role)), label=f"role of {org.name}")
        _, secret = m.new_token(hub.store, hub.ids, hub.clock, org, role, None)
        principals.append(hub.authenticate(secret))
        secrets.append(secret)
    oracle = Oracle(names, {o.identity_id: i for i, o in enumerate(orgs)})
    oracle.colls["community"] = MColl("community", "community", set(), GREEN, hub.community)
    for i, org in enumerate(orgs):
        coll = hub.store.collection_by_name(f"private:{org.name}")
        assert coll is not None
        oracle.colls[coll.name] = MColl(coll.name, "private", {i}, AMBER, coll)
    for g in range(data.draw(st.integers(0, 3), label="groups")):
        members = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n), label=f"G{g} members")
        coll = m.add_group(hub.store, hub.ids, hub.clock, f"G{g}", [orgs[i] for i in sorted(members)])
        oracle.colls[coll.name] = MColl(coll.name, "group", set(members), AMBER, coll)
    return World(hub, orgs, principals, secrets, oracle)


def draw_markings(data: st.DataObject) -> list[str]:
    return data.draw(st.lists(st.sampled_from(ALL_REFS), max_size=3, unique=True), label="markings")


def draw_object(data: st.DataObject, w: World, org: int, cname: str) -> dict[str, Any]:
    o = w.oracle
    n = next(w.counter)
    kinds = ["new", "new", "version", "version", "version", "reshare", "conflict", "marking", "marking", "invalid",
             "sco", "reserved"]
    kind = data.draw(st.sampled_from(kinds), label="object kind")
    creators = [None, None, w.orgs[org].identity_id, MITRE_IDENTITY,
                w.orgs[(org + 1) % len(w.orgs)].identity_id]  # the last one is spoofed
    versionable = sorted(i for i in o.posted if i.split("--")[0] in TYPES)
    if kind == "version" and versionable:
        oid = data.draw(st.sampled_from(versionable), label="versioned id")
        otype = oid.split("--")[0]
        new: dict[str, Any] = {"type": otype, "spec_version": "2.1", "id": oid, "created": ts(0),
                               "modified": ts(n), "name": f"t{n}",
                               "object_marking_refs": draw_markings(data)}
        creator = data.draw(st.sampled_from(creators[:4]), label="creator")
        if creator is not None:
            new["created_by_ref"] = creator
        return new
    if kind == "reshare":
        candidates = sorted({k for k, _ in o.versions if not k[0].startswith("marking")})
        if candidates:
            oid, version, tag = data.draw(st.sampled_from(candidates), label="reshared")
            return dict(w.docs[(oid, version, tag)])  # the same content, by whoever posts it now
        kind = "new"
    if kind == "conflict":
        mine = sorted(k for k, producer in o.versions if producer == org and not k[0].startswith("marking"))
        if mine:
            oid, version, tag = data.draw(st.sampled_from(mine), label="conflicting")
            return {**w.docs[(oid, version, tag)], "name": f"t{n}"}
        kind = "new"
    if kind == "reserved":  # a member posting a TLP definition the hub holds: always refused
        tlp_id = data.draw(st.sampled_from(RESERVED), label="reserved id")
        return {"type": "marking-definition", "spec_version": "2.1", "id": tlp_id, "created": ts(0),
                "name": "TLP:CLEAR", "definition_type": "statement", "definition": {"statement": "mine"}}
    if kind == "marking":
        i = data.draw(st.integers(0, len(STATEMENTS) - 1), label="statement")
        definition: dict[str, Any] = {"type": "marking-definition", "spec_version": "2.1", "id": STATEMENTS[i],
                                      "created": ts(0), "name": f"statement-{i}", "definition_type": "statement",
                                      "definition": {"statement": f"S{i}"}}
        if data.draw(st.integers(0, 3), label="spoofed definition?") == 0:
            definition["created_by_ref"] = creators[-1]  # refused: it must then resolve nothing
        return definition
    if kind == "sco":
        value = data.draw(st.sampled_from(SCO_VALUES), label="sco value")
        return {"type": "ipv4-addr", "spec_version": "2.1", "id": sid("ipv4-addr", value), "value": value,
                "x_tag": f"t{n}", "object_marking_refs": draw_markings(data)}
    if kind == "invalid":
        w.invalid.add(f"threat-actor--{n}")
        return {"type": "threat-actor", "spec_version": "2.1", "id": f"threat-actor--{n}", "created": ts(0),
                "modified": ts(n), "name": f"t{n}"}
    otype = data.draw(st.sampled_from(TYPES), label="type")
    obj: dict[str, Any] = {"type": otype, "spec_version": "2.1", "id": sid(otype, f"{w.hub.store.dialect}-{n}"),
                           "created": ts(0), "modified": ts(n), "name": f"t{n}",
                           "object_marking_refs": draw_markings(data)}
    creator = data.draw(st.sampled_from(creators), label="creator")
    if creator is not None:
        obj["created_by_ref"] = creator
    return obj


def do_share(data: st.DataObject, w: World) -> None:
    o = w.oracle
    org = data.draw(st.integers(0, len(w.orgs) - 1), label="sharer")
    writable = sorted(c for c in o.colls if o.may_write(org, c))
    pool = writable if data.draw(st.integers(0, 9), label="stray?") > 0 else sorted(o.colls)
    cname = data.draw(st.sampled_from(pool), label="target")
    batch: list[dict[str, Any]] = []
    for _ in range(data.draw(st.integers(1, 4), label="batch size")):
        batch.append(draw_object(data, w, org, cname))
    via_token = data.draw(st.booleans(), label="via token")
    hub = w.hub
    coll = o.colls[cname].coll
    if via_token:
        if org in o.revoked:
            with pytest.raises(Unauthenticated):
                hub.share(hub.authenticate(w.secrets[org]), coll, batch)
            return
        principal = hub.authenticate(w.secrets[org])
        if not principal.role.may_write or not o.may_write(org, cname):
            with pytest.raises(Forbidden):
                hub.share(principal, coll, batch)
            return
        report = hub.share(principal, coll, batch)
    else:
        if not o.may_write(org, cname):
            with pytest.raises(Forbidden):
                hub.share_as(w.orgs[org], coll, batch)
            return
        report = hub.share_as(w.orgs[org], coll, batch)
    assert [out.index for out in report.outcomes] == list(range(len(batch)))
    # the hub decides a batch's marking definitions first (they may resolve the batch's markings)
    order = sorted(range(len(batch)), key=lambda i: batch[i]["type"] != "marking-definition")
    for i in order:
        obj, out = batch[i], report.outcomes[i]
        expected = "invalid_stix" if obj["id"] in w.invalid else o.decide(org, cname, obj)
        got = None if out.ok else out.code
        assert got == expected, (obj, out)
        assert out.id == obj["id"]
        if expected is None:
            o.accept(org, cname, obj)
            w.docs.setdefault((obj["id"], *version_of(obj)), obj)


def do_other(data: st.DataObject, w: World) -> None:
    o = w.oracle
    store = w.hub.store
    groups = sorted(c for c, mc in o.colls.items() if mc.kind == "group")
    action = data.draw(st.sampled_from(["add", "remove", "delete", "revoke", "default"]), label="action")
    if action in ("add", "remove") and groups:
        mc = o.colls[data.draw(st.sampled_from(groups), label="group")]
        org = data.draw(st.integers(0, len(w.orgs) - 1), label="member")
        if action == "add":
            store.add_member(mc.coll.cid, w.orgs[org].org_id)
            mc.members.add(org)
        else:
            store.remove_member(mc.coll.cid, w.orgs[org].org_id)
            mc.members.discard(org)
    elif action == "delete":
        deletable = sorted(c for c, mc in o.colls.items() if mc.kind != "community" and not mc.deleted)
        if deletable:
            mc = o.colls[data.draw(st.sampled_from(deletable), label="deleted")]
            store.delete_collection(mc.coll.cid)
            mc.deleted = True
    elif action == "revoke":
        org = data.draw(st.integers(0, len(w.orgs) - 1), label="revoked")
        store.revoke_token(w.principals[org].token.token_id, "2026-01-15T10:00:00.000Z")
        o.revoked.add(org)
    elif action == "default":
        community = data.draw(st.booleans(), label="community default?")
        mc = o.colls["community" if community else data.draw(st.sampled_from(sorted(o.colls)), label="re-defaulted")]
        level = data.draw(st.sampled_from([CLEAR, GREEN, AMBER, STRICT, RED]), label="default")
        store.set_default_tlp(mc.coll.cid, level)
        mc.default = level


# --------------------------------------------------------------------------- the comparison


def keys(items: Iterable[StoredObject], identities: Iterable[str]) -> list[Key]:
    idents = set(identities)
    return [key_of(i.doc, idents) for i in items]


def verify(w: World) -> int:
    """Compare every read path with the oracle for every member; return the cases checked."""
    o, hub, store = w.oracle, w.hub, w.hub.store
    idents = o.identities
    all_ids = sorted({k[0] for k, _ in o.versions} | o.posted | set(idents)
                     | {sid("threat-actor", f"missing-{store.dialect}")})
    cases = 0
    for r, org in enumerate(w.orgs):
        expected = o.view(r, "all")
        cases += len(o.versions) + len(idents)
        for which in ("all", "last", "first"):
            want = o.view(r, which)
            q = ObjectQuery(reader=org.org_id, versions=which, limit=100_000)  # type: ignore[arg-type]
            page = store.query(q)
            got = keys(page.items, idents)
            assert sorted(got) == want, f"{org.name} reads the wrong {which} versions"
            assert not page.more
            assert store.count(ObjectQuery(reader=org.org_id, versions=which)) == len(want)  # type: ignore[arg-type]
        # paginated, with a small page: same rows, `more` true exactly when rows remain
        seen: list[Key] = []
        q = ObjectQuery(reader=org.org_id, versions="all", limit=3)
        while True:
            page = store.query(q)
            seen.extend(keys(page.items, idents))
            assert page.more == (len(seen) < len(expected))
            if not page.more:
                break
            q.after_seq = page.next_seq
        assert sorted(seen) == expected
        # type filter
        ta = [k for k in expected if k[0].startswith("threat-actor--")]
        assert store.count(ObjectQuery(reader=org.org_id, types=["threat-actor"], versions="all")) == len(ta)
        # attribution: what the producer filter finds of each member is only what the reader sees of it
        for p, producer in enumerate(w.orgs):
            mine = [v for v in o.expected(r) if v.producer == p] + [0] * (producer.identity_id in idents)
            assert store.count(ObjectQuery(reader=org.org_id, producer=producer.org_id, versions="all")) == len(mine)
        # export (latest versions)
        assert sorted(keys(hub.export(org), idents)) == o.view(r, "last")
        # per collection, for the collections the member reads
        readable = {c.name for c in store.readable_collections(org.org_id)}
        assert readable == {c for c, mc in o.colls.items() if not mc.deleted
                            and (mc.kind == "community" or r in mc.members)}
        for cname in readable:
            mc = o.colls[cname]
            in_coll = o.view(r, "all", cname)
            got_c = keys(store.query(ObjectQuery(reader=org.org_id, collection=mc.coll.cid, versions="all",
                                                 limit=100_000)).items, idents)
            assert sorted(got_c) == in_coll, f"{org.name} in {cname}"
            assert store.count(ObjectQuery(reader=org.org_id, collection=mc.coll.cid, versions="all")) == len(in_coll)
            last_c = keys(store.query(ObjectQuery(reader=org.org_id, collection=mc.coll.cid, limit=100_000)).items,
                          idents)
            assert sorted(last_c) == o.view(r, "last", cname), f"{org.name} last in {cname}"
        # get by id: hidden and missing are the same NotFound
        for oid in all_ids:
            want_id = [k for k in expected if k[0] == oid]
            if not want_id:
                with pytest.raises(NotFound) as exc:
                    hub.get_object(org, oid, "all")
                assert str(exc.value) == f"no object {oid!r}"
            else:
                assert sorted(keys(hub.get_object(org, oid, "all"), idents)) == want_id
                latest = keys(hub.get_object(org, oid, "last"), idents)
                assert sorted(latest) == [k for k in o.view(r, "last") if k[0] == oid]
        # tokens: revoked ones fail on the next request, live ones name their member
        if r in o.revoked:
            with pytest.raises(Unauthenticated):
                hub.authenticate(w.secrets[r])
        else:
            assert hub.authenticate(w.secrets[r]).org.org_id == org.org_id
    return cases


def verify_api(w: World) -> None:
    """Compare the native API's listing and get-by-id with the oracle, for every member with a live token."""
    o = w.oracle
    idents = set(o.identities)
    with TestClient(create_app(w.hub)) as client:
        for r, secret in enumerate(w.secrets):
            headers = {"Authorization": f"Bearer {secret}"}
            if r in o.revoked:
                assert client.get("/api/v1/objects", headers=headers).status_code == 401
                continue
            expected = o.view(r, "all")
            seen: list[Key] = []
            params: dict[str, Any] = {"versions": "all", "limit": 4}
            while True:
                body = client.get("/api/v1/objects", params=params, headers=headers).json()
                seen.extend(key_of(orjson.dumps(obj).decode(), idents) for obj in body["objects"])
                assert body["more"] == (len(seen) < len(expected)) == ("next" in body)
                if not body["more"]:
                    break
                params["cursor"] = body["next"]
            assert sorted(seen) == expected
            readable_ids = {k[0] for k in expected}
            for oid in sorted({k[0] for k, _ in o.versions} - readable_ids)[:5]:
                resp = client.get(f"/api/v1/objects/{oid}", headers=headers)
                missing = {"error": {"status": 404, "code": "not_found", "message": f"no object {oid!r}",
                                     "details": []}}
                assert (resp.status_code, resp.content) == (404, orjson.dumps(missing))


CASES: dict[str, int] = {}


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_policy_matches_oracle(backend_name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    if backend_name == "postgres":
        pg_url_or_skip()
    base: Path = tmp_path_factory.mktemp("oracle")
    run_no = itertools.count()
    CASES[backend_name] = 0

    examples = int(os.environ.get("ORACLE_EXAMPLES", MAX_EXAMPLES[backend_name]))

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        store = make_store(backend_name, base / f"run{next(run_no)}")
        try:
            clock = FrozenClock(datetime(2026, 1, 15, 10, 0, tzinfo=UTC), step=timedelta(milliseconds=1))
            hub = Hub(store, Settings(max_depth=16), clock=clock, ids=SpreadIds())
            w = build_world(data, hub)
            n_ops = data.draw(st.integers(3, 14), label="operations")
            checkpoint = data.draw(st.integers(0, n_ops), label="intermediate check")
            for step in range(n_ops):
                if step == checkpoint:
                    CASES[backend_name] += verify(w)
                if data.draw(st.integers(0, 9), label="share?") < 6:
                    do_share(data, w)
                else:
                    do_other(data, w)
            CASES[backend_name] += verify(w)
            verify_api(w)
        finally:
            drop_store(store)

    check()
    assert CASES[backend_name] >= MIN_CASES, CASES
    print(f"\n{backend_name}: {CASES[backend_name]} (object version, reader) cases checked")
