"""The leak machine: random histories of a hub, every read path checked against an independent model.

A Hypothesis ``RuleBasedStateMachine`` adds members, sharing groups (members added and removed,
groups deleted), tokens (minted and revoked), default markings, and shares small bundles (1-3
objects drawn from a world of ~20 ids, so that ids collide) through the native API and TAXII:
SDOs created by the sharer, by another member (refused), by a non-member or by nobody;
observables; TLP 2.0 / 1.0 / OpenCTI markings, statements, references to marking definitions
that nobody, the producer or another member defines (before or after); identical content from
several members; new versions by owners and non-owners; reserved TLP ids posted as objects.

After every step, one reader (rotating; every reader every ``SWEEP`` steps) is checked on the cheap
read paths (:mod:`leakpaths`), and every ``PUSH_EVERY`` steps on the push paths (export, stream,
webhooks, analysis linking: :mod:`leakpush`, when present). The model is :mod:`leakmodel`.

``bench/proof.py`` runs this machine for a time budget (``make proof``); the tests below run a
sample on SQLite and PostgreSQL, and show that an injected policy bug is caught.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conftest import PG_URL, drop_store
from helpers import TLP1, TLP2
from pacte.api.app import create_app
from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub import members as hm
from pacte.hub.clock import FrozenClock, SequentialIds
from pacte.policy import Role
from pacte.store import open_store
from pacte.store.base import ObjectQuery, Org, Store

from . import leakpaths
from .leakmodel import BUILTIN, EXTENSION, OPENCTI_STRICT, Model, Outcome
from .leakpaths import CHECKS, AppClient, Leak, Reader

try:  # push paths (export, stream, webhooks, analysis linking), written alongside: used when present
    from . import leakpush
except ImportError:  # pragma: no cover - until tests/policy/leakpush.py lands
    leakpush = None  # type: ignore[assignment]

NS = uuid.UUID("5b1f3c0e-2d4a-4e8b-9c6d-7a8b9c0d1e2f")


def _sid(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(NS, name)}"


def _ts(n: int) -> str:
    return f"2025-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z"


NAMES = ["Crimson Osprey", "Velvet Lynx", "Silent Heron", "Copper Jackal", "Spear Relay", "Mailbox Drift",
         "Token Harvest", "Ghost Pivot", "Quarterly Review", "Incident Memo", "Field Notes"]
SDO_POOL = [("threat-actor", NAMES[i]) for i in range(4)] + [("attack-pattern", NAMES[4 + i]) for i in range(4)] + [
    ("report", NAMES[8 + i]) for i in range(3)]
# Values that correlate (outside the documentation ranges and special-use names, which are benign): one
# address inside a network another indicator names, a domain, its subdomain and a URL and an e-mail on it,
# a file hash; 198.51.100.1 is benign (documentation range) and must never correlate.
HASH = "9f2c4e1a7b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
PATTERNS = {"IP watch": "[ipv4-addr:value = '45.77.10.1']", "Net watch": "[ipv4-addr:value ISSUBSET '45.77.10.0/24']",
            "Domain watch": "[domain-name:value = 'tarn-relay.info']",
            "URL watch": "[url:value = 'http://c2.tarn-relay.info/gate.php']",
            "Hash watch": f"[file:hashes.'SHA-256' = '{HASH}']"}
SDO_POOL += [("indicator", name) for name in PATTERNS]
SCO_POOL = [("ipv4-addr", "198.51.100.1"), ("ipv4-addr", "45.77.10.1"), ("ipv4-addr", "45.77.10.2"),
            ("domain-name", "c2.tarn-relay.info"), ("url", "http://c2.tarn-relay.info/gate.php"),
            ("email-addr", "ops@tarn-relay.info"), ("file", HASH)]
MDEF_POOL = [_sid("marking-definition", f"md{i}") for i in range(4)]  # md3 is referenced more than defined
POOL_IDS = [_sid(k, n) for k, n in SDO_POOL] + [_sid(k, v) for k, v in SCO_POOL] + MDEF_POOL
INDICATOR_IDS = [_sid("indicator", name) for name in PATTERNS]
SIGHTING_IDS = range(4)  # odd: one sighting line over targets (a later version may sight another); even: per target
INDEXED = ("indicator", "ipv4-addr", "domain-name", "url", "email-addr", "file", "sighting")
SEARCH_VALUES = ["45.77.10.1", "45.77.10.0/24", "45.77.10.9", "tarn-relay.info", "c2.tarn-relay.info",
                 "hxxp://c2[.]tarn-relay[.]info/gate.php", "ops@tarn-relay.info", HASH, "198.51.100.1",
                 "203.0.113.5", "quiet-harbour.org"]
TYPES = ["threat-actor", "attack-pattern", "report", "ipv4-addr", "marking-definition", "identity", "indicator",
         "sighting", "domain-name"]
NON_MEMBER = _sid("identity", "non-member")
MARKING_CHOICES: list[list[str]] = [
    [], [], [TLP2["clear"]], [TLP2["green"]], [TLP2["amber"]], [TLP2["amber+strict"]], [TLP2["red"]],
    [TLP1["white"]], [TLP1["amber"]], [TLP1["red"]], [OPENCTI_STRICT],
    [MDEF_POOL[0]], [MDEF_POOL[1]], [MDEF_POOL[2]], [MDEF_POOL[3]], [MDEF_POOL[0], TLP2["green"]],
    [MDEF_POOL[1], TLP2["red"]], [MDEF_POOL[3], TLP2["amber+strict"]],
]
DEF_CONTENTS: list[dict[str, Any]] = [
    {"definition_type": "statement", "definition": {"statement": "Copyright example"}},
    {"definition_type": "tlp", "definition": {"tlp": "red"}},
    {"definition_type": "tlp", "definition": {"tlp": "green"}},
    {"definition_type": "tlp", "definition": {"tlp": "amber+strict"}},
    {"definition_type": "tlp", "definition": {"tlp": "purple"}},  # a level nobody knows: producer-only
]
LEVEL_NAMES = ["clear", "green", "amber", "amber+strict", "red"]

# Schedules (the proof runner overrides them): cheap paths every step for one reader, every reader
# every SWEEP steps, push paths every PUSH_EVERY steps.
SCHEDULE: dict[str, int] = {"sweep": 10, "push": 25}
STATS: Counter[str] = Counter()  # steps, examples, push checks skipped...

START = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)  # the hub clock's first reading
ObjSpec = tuple[int, int, int, int, int, int]  # pool index, version, content variant, creator, marking, extra


def make_hub(backend: str) -> tuple[Hub, Store, str | None]:
    """Open a fresh hub on a backend with a frozen clock and sequential UUIDs; return it, its store, its temp dir."""
    tmp: str | None = None
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="leak-")
        store = open_store(os.path.join(tmp, "hub.sqlite3"))
    else:
        sep = "&" if "?" in PG_URL else "?"
        store = open_store(f"{PG_URL}{sep}schema=leak_{uuid.uuid4().hex[:16]}")
    clock = FrozenClock(START, step=timedelta(milliseconds=1))
    hub = Hub(store, Settings(max_body_bytes=2 * 1024 * 1024, max_depth=16), clock=clock, ids=SequentialIds())
    return hub, store, tmp


class LeakMachine(RuleBasedStateMachine):
    """Random histories of one hub; after each step, read paths compared with the model."""

    backend: ClassVar[str] = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.hub, self.store, self.tmp = make_hub(self.backend)
        self.client = AppClient(create_app(self.hub))
        self.model = Model()
        self.model.add_collection("community", "community", set(), self.hub.community.uuid)
        self.orgs: list[Org] = []
        self.admin: dict[int, str] = {}  # member -> admin token secret (never revoked; reads and writes)
        self.tokens: list[tuple[int, str, str, Role]] = []  # (member, token id, secret, role), live
        self.revoked: list[str] = []
        self.groups: list[str] = []
        self.steps = 0
        self.offset = 0
        self.pushes = 0
        self.ever: dict[int, set[tuple[str, str, str]]] = {}  # members with a live stream/webhook: seen readable
        STATS["examples"] += 1

    def teardown(self) -> None:
        """Close the client and drop the store."""
        if leakpush is not None:
            leakpush.close_harness(self.hub)
        self.client.close()
        drop_store(self.store)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ members, groups, tokens
    def _add_org(self, identity: str | None = None) -> None:
        n = len(self.orgs)
        org = hm.add_org(self.store, self.hub.ids, self.hub.clock, f"M{n}", None, identity)
        self.orgs.append(org)
        m = self.model
        STATS["ids others posted naming a registered member creator"] += m.register(org.org_id, org.identity_id)
        m.add_collection(f"private:{org.name}", "private", {org.org_id},
                         self.store.collection_by_name(f"private:{org.name}").uuid)  # type: ignore[union-attr]
        ident = self.store.query(ObjectQuery(reader=org.org_id, ids=[org.identity_id])).items
        assert len(ident) == 1
        sent = orjson.loads(ident[0].doc)  # as the hub sent it (ungraded: stored as sent)
        outcome = m.share(org.org_id, "community", [sent])
        assert outcome == [Outcome(True)]
        _, secret = hm.new_token(self.store, self.hub.ids, self.hub.clock, org, Role.ADMIN, "machine")
        self.admin[org.org_id] = secret

    @initialize(offset=st.integers(0, 10_000),
                seed=st.lists(st.integers(len(SDO_POOL) - len(PATTERNS), len(SDO_POOL) + len(SCO_POOL) - 1),
                              max_size=8))
    def three_members(self, offset: int, seed: list[int]) -> None:
        """Start with three members, each with an admin token; ``offset`` shifts which checks run at which step.

        ``seed``: indicators and observables the members share in community first, unmarked (values overlap:
        later histories then correlate, search and sight them, and hide some of them again).
        """
        self.offset = offset
        for _ in range(3):
            self._add_org()
        for n, pool in enumerate(seed):
            self.share(n % 3, 0, "native", 99, [(pool, n % 2, n % 3, 1, 0, 0)])

    @precondition(lambda self: len(self.orgs) < 4)
    @rule()
    def add_member(self) -> None:
        """A fourth member joins."""
        self._add_org()

    @precondition(lambda self: len(self.orgs) < 4 and NON_MEMBER not in self.model.identities)
    @rule()
    def add_registered_member(self) -> None:
        """A fourth member joins under the identity others relayed objects of: it now owns them."""
        self._add_org(NON_MEMBER)

    @precondition(lambda self: len(self.groups) < 4)
    @rule(who=st.sets(st.integers(0, 3), min_size=1, max_size=3))
    def add_group(self, who: set[int]) -> None:
        """The operator creates a sharing group."""
        orgs = [self.orgs[i % len(self.orgs)] for i in sorted(who)]
        name = f"g{len(self.groups)}"
        coll = hm.add_group(self.store, self.hub.ids, self.hub.clock, name, orgs)
        self.model.add_collection(name, "group", {o.org_id for o in orgs}, coll.uuid)
        self.groups.append(name)

    @precondition(lambda self: bool(self.groups))
    @rule(g=st.integers(0, 3), i=st.integers(0, 3), add=st.booleans())
    def change_membership(self, g: int, i: int, add: bool) -> None:
        """The operator adds a member to a group or removes one from it."""
        name = self.groups[g % len(self.groups)]
        if not self.model.live(name):
            return
        org = self.orgs[i % len(self.orgs)]
        cid = self.store.collection_by_name(name).cid  # type: ignore[union-attr]
        if add:
            assert self.store.add_member(cid, org.org_id) == self.model.add_member(name, org.org_id)
        else:
            assert self.store.remove_member(cid, org.org_id) == self.model.remove_member(name, org.org_id)

    @precondition(lambda self: bool(self.groups))
    @rule(g=st.integers(0, 3))
    def delete_group(self, g: int) -> None:
        """The operator deletes a sharing group."""
        name = self.groups[g % len(self.groups)]
        if not self.model.live(name):
            return
        coll = hm.require_group(self.store, name)
        self.store.delete_collection(coll.cid)
        self.model.delete(name)

    @rule(c=st.integers(0, 8), level=st.integers(0, 4))
    def set_default(self, c: int, level: int) -> None:
        """The operator changes a collection's default marking (refused above what its kind allows)."""
        names = [n for n in self.model.colls if self.model.live(n)]
        name = names[c % len(names)]
        from pacte.errors import PolicyRefused
        from pacte.policy import CollectionKind, check_default_tlp
        from pacte.stix.markings import Tlp

        coll = self.store.collection_by_name(name)
        assert coll is not None
        try:
            check_default_tlp(CollectionKind(coll.kind), Tlp(level))
        except PolicyRefused:
            assert not self.model.set_default(name, level)
            return
        self.store.set_default_tlp(coll.cid, level)
        assert self.model.set_default(name, level)

    @rule(i=st.integers(0, 3), role=st.sampled_from([Role.READER, Role.ANALYST, Role.ADMIN]))
    def mint_token(self, i: int, role: Role) -> None:
        """A member's admin mints a token through the API."""
        org = self.orgs[i % len(self.orgs)]
        r = self.client.post("/api/v1/tokens", json={"role": role.value},
                             headers={"Authorization": f"Bearer {self.admin[org.org_id]}"})
        assert r.status_code == 201, r.text
        body = r.json()
        self.tokens.append((org.org_id, body["id"], body["secret"], role))

    @precondition(lambda self: bool(self.tokens))
    @rule(t=st.integers(0, 20))
    def revoke_token(self, t: int) -> None:
        """A member's admin revokes one of its tokens: it fails at once."""
        member, token_id, secret, _ = self.tokens.pop(t % len(self.tokens))
        r = self.client.delete(f"/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {self.admin[member]}"})
        assert r.status_code == 200, r.text
        self.revoked.append(secret)
        self._check_revoked(secret)

    # ------------------------------------------------------------------ sharing
    def _object(self, member: int, spec: ObjSpec) -> dict[str, Any]:
        pool, version, variant, creator, marking, extra = spec
        org = next(o for o in self.orgs if o.org_id == member)
        if pool < len(SDO_POOL):
            kind, name = SDO_POOL[pool]
            obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": _sid(kind, name), "created": _ts(0),
                                   "modified": _ts(version), "name": name, "description": f"v{version} c{variant}"}
            if kind == "report":
                obj.update(published=_ts(0), object_refs=[POOL_IDS[extra % len(POOL_IDS)], POOL_IDS[(extra * 7 + 3) % 11]])
            elif kind == "indicator":
                obj.update(pattern=PATTERNS[name], pattern_type="stix", valid_from=_ts(0))
                if variant:
                    obj["confidence"] = [0, 40, 90][variant]
            others = [o.identity_id for o in self.orgs if o.org_id != member]
            cref = [None, org.identity_id, NON_MEMBER, others[extra % len(others)] if others else None][creator]
            if cref is not None:
                obj["created_by_ref"] = cref
        elif pool < len(SDO_POOL) + len(SCO_POOL):
            kind, value = SCO_POOL[pool - len(SDO_POOL)]
            obj = {"type": kind, "id": _sid(kind, value), **({"hashes": {"SHA-256": value}} if kind == "file"
                                                             else {"value": value})}
            if variant:
                obj["x_note"] = f"c{variant}"
        else:
            k = pool - len(SDO_POOL) - len(SCO_POOL)
            if k >= len(MDEF_POOL):  # a built-in TLP id posted as an object: always refused
                reserved = sorted(BUILTIN)[extra % len(BUILTIN)]
                return {"type": "marking-definition", "spec_version": "2.1", "id": reserved, "created": _ts(0),
                        "definition_type": "tlp", "definition": {"tlp": "clear"}}
            obj = {"type": "marking-definition", "spec_version": "2.1", "id": MDEF_POOL[k], "created": _ts(version % 2),
                   **DEF_CONTENTS[(variant + k + member) % len(DEF_CONTENTS)]}
            return obj
        refs = MARKING_CHOICES[marking % len(MARKING_CHOICES)]
        if refs:
            obj["object_marking_refs"] = list(refs)
        return obj

    @rule(i=st.integers(0, 3), c=st.integers(0, 8), via=st.sampled_from(["native", "taxii"]),
          tok=st.integers(0, 8),
          specs=st.lists(st.tuples(st.integers(0, len(SDO_POOL) + len(SCO_POOL) + len(MDEF_POOL)), st.integers(0, 3),
                                   st.integers(0, 2), st.integers(0, 3), st.integers(0, 40), st.integers(0, 20)),
                         min_size=1, max_size=3))
    def share(self, i: int, c: int, via: str, tok: int, specs: list[ObjSpec]) -> None:
        """A member shares a bundle into a collection (mostly one it belongs to) with one of its tokens."""
        org = self.orgs[i % len(self.orgs)]
        objects = [self._object(org.org_id, s) for s in specs]
        self._post(org, c, via, tok, objects)

    @precondition(lambda self: bool(self.model.versions))
    @rule(k=st.integers(0, 10_000), i=st.integers(0, 3), c=st.integers(0, 8), via=st.sampled_from(["native", "taxii"]),
          bump=st.integers(0, 2))
    def share_again(self, k: int, i: int, c: int, via: str, bump: int) -> None:
        """A member shares content some member already shared: identical (bump 0) or as a new version."""
        m = self.model
        v = m.versions[k % len(m.versions)]
        obj = dict(v.obj)
        if bump and "modified" in obj and v.otype != "identity":
            later = [x.obj.get("modified", "") for x in m.versions if x.oid == v.oid]
            obj["modified"] = _ts(int(max(later)[14:16]) * 60 + int(max(later)[17:19]) + bump)
            obj["description"] = f"{obj.get('description', '')} b{bump}"
        self._post(self.orgs[i % len(self.orgs)], c, via, 0, [obj])

    @rule(i=st.integers(0, 3), c=st.integers(0, 5), via=st.sampled_from(["native", "taxii"]),
          specs=st.lists(st.tuples(st.integers(0, len(SDO_POOL) + len(SCO_POOL) + len(MDEF_POOL) - 1), st.integers(0, 3),
                                   st.integers(0, 2), st.integers(0, 3), st.integers(0, 40), st.integers(0, 20)),
                         min_size=1, max_size=3))
    def share_writer(self, i: int, c: int, via: str, specs: list[ObjSpec]) -> None:
        """A member's admin shares a bundle into one of its collections (weights the machine towards writes)."""
        self.share(i, c, via, 99, specs)

    @precondition(lambda self: bool(self.model.versions))
    @rule(k=st.integers(0, 10_000), i=st.integers(0, 3), c=st.integers(0, 5), bump=st.integers(0, 2))
    def share_again_writer(self, k: int, i: int, c: int, bump: int) -> None:
        """Like share_again, into one of the member's collections (weights the machine towards writes)."""
        self.share_again(k, i, c, "native", bump)

    @rule(i=st.integers(0, 3), tgt=st.integers(0, len(INDICATOR_IDS)), s=st.integers(0, len(SIGHTING_IDS) - 1),
          version=st.integers(0, 2), fp=st.booleans(), anonymous=st.booleans(), count=st.integers(0, 3),
          c=st.integers(0, 8), last=st.booleans())
    def sight(self, i: int, tgt: int, s: int, version: int, fp: bool, anonymous: bool, count: int, c: int,
              last: bool) -> None:
        """A member shares a sighting (seen or false positive) of an indicator (or of an actor); an anonymous one
        mostly into its private collection (elsewhere it is refused)."""
        org = self.orgs[i % len(self.orgs)]
        held = sorted({v.oid for v in self.model.versions if v.otype == "indicator"})
        ref = (held[tgt % len(held)] if held and tgt < 4 else INDICATOR_IDS[tgt] if tgt < len(INDICATOR_IDS)
               else POOL_IDS[0])
        obj: dict[str, Any] = {
            "type": "sighting", "spec_version": "2.1", "id": _sid("sighting", f"s{s}" + ("" if s % 2 else f" of {ref}")), "created": _ts(0),
            "modified": _ts(version), "sighting_of_ref": ref, "count": count,
            "extensions": {EXTENSION: {"extension_type": "property-extension",
                                       "sighting_kind": "false-positive" if fp else "seen", "anonymous": anonymous}}}
        if last:
            obj["last_seen"] = "2025-06-01T00:00:00.000Z"
        coll = f"private:{org.name}" if anonymous and c < 6 else None
        self._post(org, c, "native" if c % 2 else "taxii", 99, [obj], coll)

    @rule(i=st.integers(0, 3), c=st.integers(0, 8), via=st.sampled_from(["native", "taxii"]),
          specs=st.lists(st.tuples(st.integers(len(SDO_POOL) - len(PATTERNS), len(SDO_POOL) + len(SCO_POOL) - 1),
                                   st.integers(0, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 40),
                                   st.integers(0, 20)), min_size=1, max_size=3))
    def share_values(self, i: int, c: int, via: str, specs: list[ObjSpec]) -> None:
        """A member shares indicators and observables whose values overlap (weights the machine towards them)."""
        self.share(i, c, via, 99, specs)

    @rule(i=st.integers(0, 3), tgt=st.integers(0, len(INDICATOR_IDS)), s=st.integers(0, len(SIGHTING_IDS) - 1),
          version=st.integers(0, 2), fp=st.booleans(), anonymous=st.booleans(), count=st.integers(0, 3),
          c=st.integers(0, 8))
    def sight_again(self, i: int, tgt: int, s: int, version: int, fp: bool, anonymous: bool, count: int, c: int,
                    ) -> None:
        """Like sight (weights the machine towards sightings)."""
        self.sight(i, tgt, s, version, fp, anonymous, count, c, False)

    @precondition(lambda self: bool(self.model.versions))
    @rule(k=st.integers(0, 10_000), i=st.integers(0, 3), c=st.integers(0, 5))
    def withdraw(self, k: int, i: int, c: int) -> None:
        """A member withdraws its shares of an object from one of its collections (TAXII DELETE)."""
        m = self.model
        org = self.orgs[i % len(self.orgs)]
        oid = m.versions[k % len(m.versions)].oid
        mine = [n for n in m.colls if m.in_audience(n, org.org_id)]
        coll = mine[c % len(mine)]
        r = self.client.delete(f"{leakpaths.TAXII}/collections/{m.colls[coll].uuid}/objects/{oid}/",
                               headers={"Authorization": f"Bearer {self.admin[org.org_id]}",
                                        "Accept": leakpaths.TAXII_ACCEPT})
        leakpaths._expect("taxii delete status", org.name, m.withdraw(org.org_id, coll, oid), r.status_code)

    def _post(self, org: Org, c: int, via: str, tok: int, objects: list[dict[str, Any]], coll: str | None = None,
              ) -> None:
        m = self.model
        mine = [n for n in m.colls if m.in_audience(n, org.org_id)]
        names = list(m.colls)
        if coll is None:
            coll = mine[c % len(mine)] if c < 6 else names[c % len(names)]
        own = [(s, r) for mem, _, s, r in self.tokens if mem == org.org_id]
        secret, role = own[tok % len(own)] if own and tok < len(own) * 2 else (self.admin[org.org_id], Role.ADMIN)
        headers = {"Authorization": f"Bearer {secret}"}
        if via == "native":
            r = self.client.post(f"/api/v1/collections/{coll}/objects", headers=headers,
                                 content=orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                                       "objects": objects}))
        else:
            headers["Content-Type"] = headers["Accept"] = leakpaths.TAXII_ACCEPT
            r = self.client.post(f"{leakpaths.TAXII}/collections/{m.colls[coll].uuid}/objects/", headers=headers,
                                 content=orjson.dumps({"objects": objects}))
        if not m.in_audience(coll, org.org_id):
            assert r.status_code == 404, (coll, r.status_code, r.text)
            return
        if not role.may_write:
            assert r.status_code == 403, r.text
            return
        want = m.share(org.org_id, coll, objects)
        body = r.json()
        if via == "native":
            got = [res["status"] == "success" for res in body["results"]]
            oks = sum(o.ok for o in want)
            assert r.status_code == (200 if oks == len(want) else 207 if oks else 403), (r.status_code, body, want)
            assert body["success_count"] == oks and body["failure_count"] == len(want) - oks, body
        else:
            assert r.status_code == 202, r.text
            assert body["success_count"] == sum(o.ok for o in want), (body, want)
            assert body["failure_count"] == sum(not o.ok for o in want), (body, want)
            got = [True] * body["success_count"] + [False] * body["failure_count"]
            want = sorted(want, key=lambda o: not o.ok)
        assert got == [o.ok for o in want], (objects, body, want)
        CHECKS["write outcomes"] += 1
        for o in want:
            STATS["objects accepted" if o.ok else f"objects refused ({o.reason})"] += 1

    # ------------------------------------------------------------------ checks
    def _reader(self, member: int) -> Reader:
        org = next(o for o in self.orgs if o.org_id == member)
        return Reader(self.client, self.model, member, org.name, self.admin[member])

    def _check_revoked(self, secret: str, urls: tuple[str, ...] = ("/api/v1/objects", "/taxii2/pacte/collections/",
                                                                     "/api/v1/collections")) -> None:
        for url in urls:
            r = self.client.get(url, headers={"Authorization": f"Bearer {secret}"})
            leakpaths._expect("revoked token 401", "revoked", 401, r.status_code)

    @invariant()
    def reads_match_the_model(self) -> None:
        """Check the cheap read paths for one reader (all readers every few steps), push paths now and then."""
        self.steps += 1
        STATS["steps"] += 1
        if not self.orgs:
            return
        if self.ever:
            self.track_live()
        self.model.elapsed = (self.hub.clock.now() - START).total_seconds() + 1
        sweep = self.steps % SCHEDULE["sweep"] == 0
        n = self.steps + self.offset
        readers = self.orgs if sweep else [self.orgs[n % len(self.orgs)]]
        for org in readers:
            self.check_reader(org, n)
        if self.revoked and n % 2:  # every revoked token was checked at once; later, one now and then
            urls = ("/api/v1/objects", "/taxii2/pacte/collections/", "/api/v1/collections")
            self._check_revoked(self.revoked[n % len(self.revoked)], (urls[n % 3],))
        if SCHEDULE["push"] and self.steps % SCHEDULE["push"] == 0:
            self.check_push()

    def check_reader(self, org: Org, n: int, full: bool = False) -> None:
        """Check one reader: the native list every time, then one rotating variant (all of them when ``full``)."""
        rd = self._reader(org.org_id)
        rd.native_list("last")
        checks = self._variants(rd, org, n)
        for i in range(len(checks)) if full else [n % len(checks)]:  # 23 variants: prime to the reader count
            checks[i]()

    def _oid(self, n: int) -> str:
        """Return an object id to read: mostly one that some member holds, sometimes one nobody holds yet."""
        vs = self.model.versions
        if vs and n % 5:
            return vs[(n * 7919) % len(vs)].oid
        return POOL_IDS[n % len(POOL_IDS)]

    def _indexed_oid(self, n: int, reader: int) -> str:
        """Return the id of an observable, indicator or sighting the reader reads (else a pool one, maybe hidden)."""
        vs = [v for v in self.model.versions if v.otype in INDEXED and self.model.readable(v, reader)]
        if vs and n % 7:
            return vs[(n * 7919) % len(vs)].oid
        return POOL_IDS[len(SDO_POOL) + n % len(SCO_POOL)] if n % 2 else INDICATOR_IDS[n % len(INDICATOR_IDS)]

    def _sighted_oid(self, n: int, reader: int) -> str:
        """Return mostly the id of something sighted that the reader reads, else an indexed or pool id."""
        m = self.model
        sighted = sorted({str(v.obj["sighting_of_ref"]).lower() for v in m.versions if v.otype == "sighting"})
        readable = [i for i in sighted if m.get(reader, i, "last")]
        if readable and n % 4:
            return readable[n % len(readable)]
        return self._indexed_oid(n * 5 + 2, reader) if n % 3 else INDICATOR_IDS[n % len(INDICATOR_IDS)]

    def _variants(self, rd: Reader, org: Org, n: int) -> list[Callable[[], object]]:
        m = self.model
        colls = m.readable_collections(org.org_id)
        coll = colls[n % len(colls)].name
        other = self.orgs[n % len(self.orgs)]
        oid, oid2 = self._oid(n), self._oid(n * 3 + 1)
        which = ["last", "first", "all"][n % 3]
        return [
            lambda: rd.native_list("all"),
            lambda: rd.native_list("first"),
            lambda: rd.collections(),
            lambda: rd.native_list(["last", "all"][n % 2], types=[TYPES[n % len(TYPES)]]),
            lambda: rd.native_list(["all", "last"][n % 2], producer=(other.name, other.org_id)),
            lambda: rd.native_list(["all", "last", "first"][n % 3], limit=2),
            lambda: rd.native_list(["last", "all"][n % 2], modified=(_ts(1), _ts(2))),
            lambda: rd.native_list(which, coll=coll),
            lambda: rd.native_list(which, coll=coll, limit=2),
            lambda: rd.counts(self.hub, org.org_id),
            lambda: rd.object_by_id(oid, which),
            lambda: rd.object_by_id(oid2, ["all", "last"][n % 2], with_refs=True),
            lambda: rd.taxii_objects(coll, [None, "all", "first", "last"][n % 4]),
            lambda: rd.taxii_objects(coll, [None, "all", "first", "last"][(n + 1) % 4], limit=2),
            lambda: rd.taxii_objects(coll, which, types=[TYPES[n % len(TYPES)]]),
            lambda: rd.taxii_objects(coll, which, ids=[oid, oid2]),
            lambda: rd.taxii_manifest(coll, ["last", "all"][n % 2], limit=None if n % 3 else 2),
            lambda: rd.taxii_added_after(coll, n),
            lambda: rd.taxii_object(coll, oid, which),
            lambda: rd.correlations(self._indexed_oid(n, org.org_id)),
            lambda: rd.sightings(self._sighted_oid(n, org.org_id)),
            lambda: rd.search(SEARCH_VALUES[n % len(SEARCH_VALUES)]),
            lambda: rd.search(SEARCH_VALUES[n % len(SEARCH_VALUES)], types=(TYPES[n % len(TYPES)], "indicator"),
                              producer=(other.name, other.org_id) if n % 2 else None),
        ]

    def check_push(self) -> None:
        """Check the push paths against the model for one reader (tests/policy/leakpush.py adapters)."""
        if leakpush is None:  # pragma: no cover
            STATS["push checks skipped (no leakpush)"] += 1
            return
        org = self.orgs[self.offset % 3]  # one reader per example, so its live stream and webhook accumulate
        check_push_paths(self, org)

    def track_live(self) -> None:
        """Record, for members with an open stream or webhook, every version readable in the state just reached."""
        for member, seen in self.ever.items():
            seen.update(v.seen for v in self.model.versions if self.model.readable(v, member))


def check_push_paths(machine: LeakMachine, org: Org) -> None:
    """Compare what each push path delivers to ``org`` with the model.

    Exact: ``pacte export`` (latest readable versions) and the stream replayed from the start (each
    version once, through a share the reader was in the audience of). Bounded: the live stream and
    the webhook opened at this member's first push check may deliver only what the member could
    read at some state since (the broker delivers asynchronously, evaluated at delivery), and each
    (id, modified, content) at most as often as there are versions of it. Analysis linking may
    offer only objects the member reads.
    """
    assert leakpush is not None
    m = machine.model
    member = org.org_id
    token = machine.admin[member]
    hub, client = machine.hub, machine.client
    via_cli = machine.pushes % 4 == 0  # the CLI opens a second store: slower, so one time in four
    machine.pushes += 1
    STATS["push checks"] += 1
    got = leakpush.export_seen(hub, client, org.name, token, via_cli=via_cli)
    leakpaths._expect("pacte export" + (" (cli)" if via_cli else ""), org.name,
                      sorted(m.export_seen(member).items()), sorted(got.items()))
    if via_cli:
        leakpaths._expect("pacte export count", org.name, len(m.select(member, "last")), got.count)
    want = m.stream_seen(member)
    got = leakpush.stream_replay_seen(hub, client, org.name, token)
    leakpaths._expect("stream replay delivers nothing unreadable", org.name, {}, dict(got - want))
    leakpaths._expect("stream replay", org.name, sorted(want.items()), sorted(got.items()))
    first = member not in machine.ever
    machine.ever.setdefault(member, set())
    machine.track_live()
    per_key = Counter(v.seen for v in m.versions)
    for tag, fn in (("stream live", leakpush.stream_live_seen), ("webhook", leakpush.webhook_seen)):
        got = fn(hub, client, org.name, token)
        if first:
            leakpaths._expect(tag + " opens empty", org.name, {}, dict(got))
        leakpaths._expect(tag + " only what was readable", org.name, set(), set(got) - machine.ever[member])
        leakpaths._expect(tag + " each version once", org.name, {},
                          {k: n for k, n in got.items() if n > per_key[k]})
        STATS[tag + " delivered"] += sum(got.values())
    ids = leakpush.analysis_link_ids(hub, client, org.name, token)
    readable = {v.oid for v in m.select(member, "last")}
    leakpaths._expect("analysis linking only readable", org.name, set(), set(ids) - readable)
    STATS["analysis links"] += len(ids)


def machine_for(backend: str) -> type[LeakMachine]:
    """Return the machine class bound to a backend."""
    return type(f"LeakMachine_{backend}", (LeakMachine,), {"backend": backend})


# ---------------------------------------------------------------------------- tests (CI sample)

SAMPLE = {"sqlite": (int(os.environ.get("LEAK_EXAMPLES", "12")), 40),
          "postgres": (int(os.environ.get("LEAK_EXAMPLES_PG", "5")), 30)}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_leak_machine(backend: str) -> None:
    """A sample of random histories: every read path agrees with the model after every step."""
    if backend == "postgres":
        from conftest import pg_url_or_skip

        pg_url_or_skip()
    examples, steps = SAMPLE[backend]
    before = CHECKS.copy()
    run_state_machine_as_test(machine_for(backend), settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None,
        suppress_health_check=list(HealthCheck)))
    done = CHECKS - before
    assert done.total() > examples * 3  # checks did run (Hypothesis draws histories of varying length)
    for path in ("write outcomes", "native list versions=last", "native object", "taxii manifest version=all"):
        assert done[path] > 0, f"the sample never checked {path}"


def test_injected_bug_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """With group membership dropped from the read rule (a planted leak), the machine fails."""
    from pacte.policy import clauses

    real = clauses.share_grants

    def leaky(c: str, v: str, reader: int) -> clauses.Clause:
        grant = real(c, v, reader)
        return clauses.Clause(grant.sql.replace(f"m{c}.org_id = ?", f"m{c}.org_id = m{c}.org_id OR ? = 0"), grant.params)

    monkeypatch.setattr(clauses, "share_grants", leaky)
    _leaks_of_a_short_run(monkeypatch)  # it asserts the leaks were caught


def test_injected_correlation_bug_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the read rule dropped from the value index's probes (correlations and search match hidden versions),
    the machine fails, on the new read paths."""
    from pacte.policy import visible
    from pacte.store import correlations

    real = correlations._matching

    def leaky(reader: int, *args: Any) -> tuple[str, list[Any]]:
        where, params = real(reader, *args)
        seen = visible("v", reader)
        assert where.startswith(seen.sql)
        return "1 = 1" + where[len(seen.sql):], params[len(seen.params):]

    monkeypatch.setattr(correlations, "_matching", leaky)
    leaks = _leaks_of_a_short_run(monkeypatch)
    assert any(path in str(e) for e in leaks for path in ("correlations", "search", "indicator score")), leaks


def _leaks_of_a_short_run(monkeypatch: pytest.MonkeyPatch) -> list[Leak]:
    """Run the SQLite machine (no push paths) for at most 50 x 40 steps; return the leaks it must have raised."""
    monkeypatch.setitem(SCHEDULE, "push", 0)
    steps = STATS["steps"]
    with pytest.raises(BaseException) as caught:
        run_state_machine_as_test(machine_for("sqlite"), settings=settings(
            max_examples=50, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck),
            print_blob=False, database=None, phases=[Phase.generate]))
    errors = caught.value.exceptions if isinstance(caught.value, BaseExceptionGroup) else [caught.value]
    leaks = [e for e in errors if isinstance(e, Leak)]
    assert leaks, errors
    assert STATS["steps"] - steps < 50 * 40
    return leaks
