"""An independent model of who reads what on a Pacte hub, for the leak state machine.

Plain Python, written from ARCHITECTURE.md ("The read rule, once", Data model, Known limits) and
the policy's documented rules, without importing ``pacte.policy`` or any other test's oracle:

* a member reads back every version it produced;
* otherwise a version is readable through a live collection it was shared into whose audience
  holds the reader (community: every member; a group: its current members; private: its owner)
  when the version's TLP (its own marking, else the collection's default *now*) is allowed there:
  at most AMBER in community, at most RED elsewhere; an unknown level means producer-only;
* a marking reference resolves only through TLP ids built into the hub or a definition that the
  *version's producer* published (the first one it published of that id); a reference nobody
  resolved for that producer keeps the version producer-only until the producer defines it;
* versions of one id form one line per producer, and a reader gets one line per id: its owner's
  as that reader sees them, the producer of the first version the reader was shown (its
  position, below) among those naming their own producer as ``created_by_ref`` (checked against
  the identities registered now), else among all it reads; ``last``/``first`` give the latest/
  earliest readable version of that line (within a collection: among versions shared into it);
* writes: reserved TLP ids are refused as objects, a ``created_by_ref`` naming another member is
  refused, an anonymous sighting outside the sharer's private collection is refused, a different
  content under a version the member already holds is refused, a TLP above what the collection
  kind allows is refused (an unresolved level is not refused at write);
* every version is stored and served with the Pacte grading extension (docs/extension.md: the
  object's own grading parts, else the member's default, F6 here); indicators are served with a
  per-reader ``score`` in it (:func:`strip_score` takes it off; :meth:`Model.tally` gives its inputs);
* correlations and value search (:meth:`Model.linked`): the readable versions holding a key that
  ``pacte.correlate.probes.reason_for`` relates to a source key, neither benign; sighting counts
  (:meth:`Model.tally`): readable sightings, plus anonymous ones counted for a producer of the
  sighted object (the one designed exception: they are hidden yet reach that producer as counts).

Every expected answer is a list of :class:`MVersion` (or of (share, version) pairs in a
collection) in the order the hub must return them: for the native list (and reads by id), each
version at the reader's first share of it that shows it; share order inside a collection.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from helpers import TLP1, TLP2
from pacte.correlate.benign import is_benign
from pacte.correlate.probes import reason_for
from pacte.stix.values import display, keys_of

CLEAR, GREEN, AMBER, STRICT, RED, UNKNOWN = 0, 1, 2, 3, 4, 9
NON_RESTRICTING = -1
COMMUNITY_MAX, OTHER_MAX = AMBER, RED
DEFAULTS = {"community": GREEN, "group": AMBER, "private": AMBER}

# TLP ids as the tests write them out from the OASIS and STIX 2.1 publications (tests/helpers.py),
# and OpenCTI's AMBER+STRICT.
OPENCTI_STRICT = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
NAMED_LEVELS = {"clear": CLEAR, "white": CLEAR, "green": GREEN, "amber": AMBER, "amber+strict": STRICT, "red": RED}
BUILTIN: dict[str, int] = {
    **{i: NAMED_LEVELS[n] for n, i in TLP2.items()}, **{i: NAMED_LEVELS[n] for n, i in TLP1.items()},
    OPENCTI_STRICT: STRICT,
}


# The Pacte grading extension as docs/extension.md writes it out (not imported from pacte.stix.extension).
EXTENSION = "extension-definition--b04de1b4-9772-4973-97ae-2b7fc0efeea4"
DEFAULT_GRADING = ("F", 6)  # Admiralty "cannot be judged": the parts an object grading itself partly leaves out


def content_sha(obj: Any) -> str:
    """Return the sha256 hex of an object's canonical (sorted-key) JSON, as the push adapters report it."""
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()


def served(sent: dict[str, Any]) -> dict[str, Any]:
    """Return the object the hub stores and serves for ``sent`` (score aside): its grading in the Pacte extension.

    The machine's members never set a default grading: an object that grades nothing is kept as sent (an
    ungraded object means F6), as is one whose own extension body sets reliability and credibility;
    otherwise the parts it leaves out are F6's.
    """
    out = copy.deepcopy(sent)
    exts = out.get("extensions")
    body = exts.get(EXTENSION) if isinstance(exts, dict) else None
    if not isinstance(body, dict) or not any(body.get(k) is not None for k in ("reliability", "credibility", "handling")):
        return out
    if body.get("reliability") is not None and body.get("credibility") is not None:
        return out
    merged = {**(body if isinstance(body, dict) else {}), "extension_type": "property-extension"}
    merged["reliability"] = merged.get("reliability") or DEFAULT_GRADING[0]
    merged["credibility"] = merged.get("credibility") or DEFAULT_GRADING[1]
    out["extensions"] = {**(exts if isinstance(exts, dict) else {}), EXTENSION: merged}
    return out


def strip_score(obj: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """Return a served object without its per-reader score, and the score (None when it carries none)."""
    body = (obj.get("extensions") or {}).get(EXTENSION)
    if not isinstance(body, dict) or "score" not in body:
        return obj, None
    out = copy.deepcopy(obj)
    score = out["extensions"][EXTENSION].pop("score")
    if out["extensions"][EXTENSION] == {"extension_type": "property-extension"}:  # ungraded: the score's own body
        del out["extensions"][EXTENSION]
        if not out["extensions"]:
            del out["extensions"]
    return out, score


def served_sha(obj: dict[str, Any]) -> str:
    """Return the content hash of what the hub serves for an object sent as ``obj`` (score aside)."""
    return content_sha(served(obj))


def is_anonymous_sighting(obj: dict[str, Any]) -> bool:
    """Return True for a sighting whose Pacte extension says it is anonymous."""
    body = (obj.get("extensions") or {}).get(EXTENSION)
    return obj.get("type") == "sighting" and isinstance(body, dict) and body.get("anonymous") is True


@dataclass
class MTally:
    """An object's sighting counts and sources as one reader may count them."""

    producers: set[int] = field(default_factory=set)
    sighters: set[int] = field(default_factory=set)
    seen: int = 0
    false_positive: int = 0
    anonymous_seen: int = 0
    anonymous_false_positive: int = 0

    @property
    def sources(self) -> int:
        """Return the independent members behind the object (anonymous sightings: at most one more)."""
        return len(self.producers | self.sighters) + (1 if self.anonymous_seen else 0)

    def counts(self) -> dict[str, Any]:
        """Return the counts as ``GET /objects/{id}/sightings`` serves them (times aside)."""
        out: dict[str, Any] = {"seen": self.seen, "false_positive": self.false_positive,
                               "sighters": len(self.sighters)}
        if self.anonymous_seen or self.anonymous_false_positive:
            out["anonymous"] = {"seen": self.anonymous_seen, "false_positive": self.anonymous_false_positive}
        return out


def declared_level(obj: dict[str, Any]) -> int:
    """Return the level a marking-definition object declares (NON_RESTRICTING for statements)."""
    if obj.get("definition_type") == "tlp":
        name = str((obj.get("definition") or {}).get("tlp", "")).lower()
        return NAMED_LEVELS.get(name, UNKNOWN)
    return NON_RESTRICTING


@dataclass
class MColl:
    """A collection: its kind, audience, default level and whether it is deleted."""

    name: str
    kind: str
    members: set[int]
    default: int
    uuid: str = ""
    deleted: bool = False


@dataclass
class MVersion:
    """One version in one producer's line, with the collections it was shared into."""

    order: int  # creation order (the hub's version order)
    oid: str  # lower-cased
    otype: str
    vkey: str  # sortable version (modified, or created for marking definitions, "" for observables)
    modified: str  # as sent, "" when absent
    producer: int
    markings: tuple[str, ...]
    obj: dict[str, Any]  # as sent
    sha: str  # of what the hub serves (graded; score aside)
    sent: str = ""  # of what was sent: two contents under one version are a conflict
    shares: list[MShare] = field(default_factory=list)

    @property
    def seen(self) -> tuple[str, str, str]:
        """Return the (id, modified, sha) triple the push adapters report for this version."""
        return (self.oid, self.modified, self.sha)


@dataclass
class MShare:
    """One share of a version into a collection, with its position in share and event order."""

    order: int
    version: MVersion
    coll: str
    sharer: int
    event: int
    write: int = 0  # the write that made it: the shares of one write have one added time (date_added)


@dataclass
class Outcome:
    """The expected answer for one object of a batch."""

    ok: bool
    reason: str = ""


@dataclass
class Model:
    """The whole hub as the oracle sees it."""

    identities: dict[str, int] = field(default_factory=dict)  # identity id -> member
    colls: dict[str, MColl] = field(default_factory=dict)
    versions: list[MVersion] = field(default_factory=list)
    shares: list[MShare] = field(default_factory=list)
    lines: dict[tuple[str, int], dict[str, MVersion]] = field(default_factory=dict)  # (id, producer) -> vkey -> v
    defs: dict[tuple[str, int], int] = field(default_factory=dict)  # (marking id, producer) -> level
    joined: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # (coll, member) -> member-added events
    shared_in: dict[tuple[int, str], MShare] = field(default_factory=dict)  # (version order, coll) -> share
    elapsed: float = 86_400.0  # seconds the hub's clock may have run since its first write (bounds score decay)
    events: int = 0
    share_count: int = 0  # shares ever made (withdrawn ones keep their number)
    write_count: int = 0  # share batches applied (each one write transaction, so one added time)

    # ----------------------------------------------------------------- administration
    def _event(self) -> int:
        self.events += 1
        return self.events

    def add_collection(self, name: str, kind: str, members: set[int], uuid: str = "") -> MColl:
        """Create a collection with its kind's default level (members join with an event, as groups do)."""
        coll = self.colls[name] = MColl(name, kind, set(), DEFAULTS[kind], uuid)
        if kind == "private":
            coll.members |= members  # the owner is in its private audience from the start, no event
        else:
            for m in sorted(members):
                self.add_member(name, m)
        return coll

    def add_member(self, name: str, member: int) -> bool:
        """Add a member to a group's audience; True if it was not in it."""
        coll = self.colls[name]
        if member in coll.members:
            return False
        coll.members.add(member)
        self.joined.setdefault((name, member), []).append(self._event())
        return True

    def remove_member(self, name: str, member: int) -> bool:
        """Remove a member from a group's audience; True if it was in it."""
        coll = self.colls[name]
        if member not in coll.members:
            return False
        coll.members.discard(member)
        self._event()
        return True

    def delete(self, name: str) -> None:
        """Delete a collection: its audience no longer exists."""
        self.colls[name].deleted = True
        self._event()

    def set_default(self, name: str, level: int) -> bool:
        """Change a collection's default level if its kind allows it; True if allowed."""
        coll = self.colls[name]
        if level > (COMMUNITY_MAX if coll.kind == "community" else OTHER_MAX):
            return False
        coll.default = level
        self._event()
        return True

    def register(self, member: int, identity: str) -> int:
        """A member joins under an identity it already used; return how many ids others posted naming it creator.

        Those versions stay their producers' (they do not name their own producer); the member's
        own versions naming the identity will rank first for readers who see them.
        """
        self.identities[identity] = member
        return len({v.oid for v in self.versions if v.obj.get("created_by_ref") == identity})

    def claims(self, v: MVersion) -> bool:
        """Return True if the version names its own producer as creator (by the identities registered now)."""
        return self.identities.get(str(v.obj.get("created_by_ref", ""))) == v.producer

    def live(self, name: str) -> bool:
        """Return True if the collection exists and is not deleted."""
        return name in self.colls and not self.colls[name].deleted

    def in_audience(self, name: str, reader: int) -> bool:
        """Return True if the reader may name the collection (read it and, with a write role, share into it)."""
        coll = self.colls.get(name)
        return coll is not None and not coll.deleted and (coll.kind == "community" or reader in coll.members)

    def readable_collections(self, reader: int) -> list[MColl]:
        """Return the live collections whose audience holds the reader, in creation order."""
        return [c for c in self.colls.values() if self.in_audience(c.name, reader)]

    # ----------------------------------------------------------------- levels and reading
    def level(self, v: MVersion) -> int | None:
        """Return the version's own level now (None: unmarked; UNKNOWN: producer-only)."""
        level: int | None = None
        for ref in v.markings:
            found = BUILTIN.get(ref)
            if found is None:
                found = self.defs.get((ref, v.producer))
            if found is None:
                return UNKNOWN
            if found != NON_RESTRICTING:
                level = found if level is None else max(level, found)
        return level

    def grants(self, share: MShare, reader: int) -> bool:
        """Return True if this share lets the reader read its version now."""
        coll = self.colls[share.coll]
        if coll.deleted:
            return False
        own = self.level(share.version)
        level = coll.default if own is None else own
        if level > RED:
            return False
        if coll.kind == "community":
            return level <= COMMUNITY_MAX
        return reader in coll.members

    def position(self, v: MVersion, reader: int) -> int | None:
        """Return where the native listing places the version for the reader: its first share that shows it.

        Every share of the reader's own version shows it; another's version is shown by the shares
        that grant it. None: no share shows it (the version is not readable).
        """
        for s in self._shares_of(v):  # in share order
            if v.producer == reader or self.grants(s, reader):
                return s.order
        return None

    def readable(self, v: MVersion, reader: int) -> bool:
        """Return True if the reader may read the version now (some share of it shows it)."""
        return self.position(v, reader) is not None

    def _shares_of(self, v: MVersion) -> list[MShare]:
        return v.shares

    def select(self, reader: int, which: str, coll: str | None = None, *, versions: list[MVersion] | None = None,
               ) -> list[MVersion]:
        """Return what the reader gets under ``which`` (last/first/all), optionally in a collection.

        Without a collection, in the order of :meth:`position` (the native listing's); in a collection,
        in version order (callers place them by their share into it).
        """
        pool = versions if versions is not None else self.versions
        placed = [(p, v) for v in pool if (coll is None or (v.order, coll) in self.shared_in)
                  and (p := self.position(v, reader)) is not None]
        cands = [v for _, v in sorted(placed, key=lambda pv: pv[0])] if coll is None else [v for _, v in placed]
        if which == "all":
            return cands
        by_id: dict[str, list[MVersion]] = {}
        for v in cands:
            by_id.setdefault(v.oid, []).append(v)
        place = {v.order: p for p, v in placed}
        chosen: set[int] = set()
        for vs in by_id.values():
            owner = min(vs, key=lambda v: (not self.claims(v), place[v.order])).producer
            line = [v for v in vs if v.producer == owner]
            best = max(line, key=lambda v: v.vkey) if which == "last" else min(line, key=lambda v: v.vkey)
            chosen.add(best.order)
        return [v for v in cands if v.order in chosen]

    def in_collection(self, reader: int, coll: str, which: str) -> list[MShare]:
        """Return, in share order, the shares of a collection whose versions the reader gets under ``which``."""
        chosen = {v.order for v in self.select(reader, which, coll)}
        return [s for s in self.shares if s.coll == coll and s.version.order in chosen]

    def get(self, reader: int, oid: str, which: str) -> list[MVersion]:
        """Return what ``GET /objects/{id}`` gives the reader, in the native listing's order."""
        oid = oid.lower()
        return self.select(reader, which, versions=[v for v in self.versions if v.oid == oid])

    def stream_seen(self, reader: int) -> Counter[tuple[str, str, str]]:
        """Return what a stream replayed from the start delivers to the reader: each version once.

        A version is delivered through a share event that the reader may read it through now: its
        own share, or a share (still there) that grants it, into an audience the reader was already
        in when it was logged (a member who joins later is not sent the past).
        """
        out: Counter[tuple[str, str, str]] = Counter()
        for v in self.versions:
            if not self.readable(v, reader):
                continue
            for s in self._shares_of(v):
                if s.sharer == reader or (self.grants(s, reader) and not any(
                        e > s.event for e in self.joined.get((s.coll, reader), []))):
                    out[v.seen] += 1
                    break
        return out

    def export_seen(self, reader: int, which: str = "last") -> Counter[tuple[str, str, str]]:
        """Return what an export of everything the reader reads gives (latest versions by default)."""
        return Counter(v.seen for v in self.select(reader, which))

    def withdraw(self, member: int, coll: str, oid: str) -> int | None:
        """Apply a TAXII DELETE of an object (all versions) by a member; return the status it must answer.

        404 when the member reads no version of the id in the collection; else the member's own
        shares there of the versions with those version keys are removed (403 when it has none).
        """
        oid = oid.lower()
        seen = [s for s in self.in_collection(member, coll, "all") if s.version.oid == oid]
        if not seen:
            return 404
        vkeys = {s.version.vkey for s in seen}
        gone = [s for s in self.shares if s.coll == coll and s.sharer == member and s.version.oid == oid
                and s.version.vkey in vkeys]
        if not gone:
            return 403
        for s in gone:
            self.shares.remove(s)
            s.version.shares.remove(s)
            del self.shared_in[(s.version.order, coll)]
        self._event()  # not logged, but a narrowing: keeps the event counter honest for nothing else
        return 200

    # ----------------------------------------------------------------- correlations and sightings
    def linked(self, reader: int, keys: tuple[str, ...], exclude: str | None = None, types: tuple[str, ...] = (),
               producer: int | None = None, holders_of_benign: bool = False,
               ) -> dict[str, tuple[str, set[tuple[str, str, str]]]]:
        """Return, per object id, its type and the (value, matched, reason) triples linking it to ``keys``.

        Every readable version (any line, any version) holding a key related to a source key counts,
        except versions of ``exclude`` (and, with the search filters, versions of other types or producers);
        benign keys never link, on either side, except that a search (``holders_of_benign``) lists the
        holders of exactly a benign value it was asked for ("same-value").
        """
        sources = [k for k in keys if not is_benign(k)]
        exact = {k for k in keys if holders_of_benign and is_benign(k)}
        out: dict[str, tuple[str, set[tuple[str, str, str]]]] = {}
        for v in self.versions:
            if v.oid == exclude or not self.readable(v, reader) or (types and v.otype not in types) or (
                    producer is not None and v.producer != producer):
                continue
            for m in keys_of(v.obj):
                if m in exact:
                    out.setdefault(v.oid, (v.otype, set()))[1].add((display(m), display(m), "same-value"))
                if is_benign(m):
                    continue
                for k in sources:
                    why = reason_for(k, m)
                    if why is not None:
                        out.setdefault(v.oid, (v.otype, set()))[1].add((display(k), display(m), why))
        return out

    def tally(self, reader: int, oid: str) -> MTally:
        """Return the sighting counts and sources of an object for a reader (see the module docstring).

        Producers: of the object's readable versions. Sightings: each sighting line (id and producer) counts
        by its latest version the reader may read, under its producer, when that version sights the object;
        an anonymous line the reader may not read counts without a name, by its latest shared version, when
        the reader produced a readable version of the sighted object.
        """
        oid = oid.lower()
        t = MTally()
        mine = False
        for v in self.versions:
            if v.oid == oid and self.readable(v, reader):
                t.producers.add(v.producer)
                mine = mine or v.producer == reader
        by_line: dict[tuple[str, int], list[MVersion]] = {}
        for v in self.versions:
            if v.otype == "sighting":
                by_line.setdefault((v.oid, v.producer), []).append(v)
        lines: dict[tuple[str, int, bool], MVersion] = {}
        for (sid, producer), vs in by_line.items():
            readable = [v for v in vs if self.readable(v, reader)]
            if readable:
                latest = max(readable, key=lambda v: v.vkey)
                if str(latest.obj.get("sighting_of_ref", "")).lower() == oid:
                    lines[(sid, producer, False)] = latest
            shared = [v for v in vs if v.shares]
            if mine and shared:
                latest = max(shared, key=lambda v: v.vkey)
                if (is_anonymous_sighting(latest.obj) and not self.readable(latest, reader)
                        and str(latest.obj.get("sighting_of_ref", "")).lower() == oid):
                    lines[(sid, producer, True)] = latest
        for (_, producer, anonymous), v in lines.items():
            n = int(v.obj.get("count", 1))
            fp = ((v.obj.get("extensions") or {}).get(EXTENSION) or {}).get("sighting_kind") == "false-positive"
            if anonymous:
                if fp:
                    t.anonymous_false_positive += n
                else:
                    t.anonymous_seen += n
            else:
                t.sighters.add(producer)
                if fp:
                    t.false_positive += n
                else:
                    t.seen += n
        return t

    # ----------------------------------------------------------------- writing
    def share(self, member: int, coll_name: str, objects: list[dict[str, Any]]) -> list[Outcome]:
        """Apply a batch the member shares into a collection it belongs to; return outcomes in input order."""
        coll = self.colls[coll_name]
        outcomes: list[Outcome | None] = [None] * len(objects)
        held = {m: lvl for (m, p), lvl in self.defs.items() if p == member}
        order = [i for i, o in enumerate(objects) if o["type"] == "marking-definition"]
        order += [i for i, o in enumerate(objects) if o["type"] != "marking-definition"]
        new: list[MVersion] = []
        reuse: list[MVersion] = []
        pending: dict[tuple[str, str], MVersion] = {}
        for i in order:
            obj = objects[i]
            oid = str(obj["id"]).lower()
            vkey = version_key(obj)
            sha = content_sha(obj)
            if oid in BUILTIN:
                outcomes[i] = Outcome(False, "reserved")
                continue
            creator = self.identities.get(str(obj.get("created_by_ref", "")))
            if creator is not None and creator != member:
                outcomes[i] = Outcome(False, "spoofed")
                continue
            if obj["type"] == "identity" and self.identities.get(oid, member) != member:
                outcomes[i] = Outcome(False, "spoofed")
                continue
            if is_anonymous_sighting(obj) and (coll.kind != "private" or "created_by_ref" in obj):
                outcomes[i] = Outcome(False, "anonymous")
                continue
            line = self.lines.get((oid, member), {})
            prior = pending.get((oid, vkey)) or line.get(vkey)
            if prior is not None and prior.sent != sha:
                outcomes[i] = Outcome(False, "conflict")
                continue
            refs = markings_of(obj)
            level: int | None = None  # over the references it resolves: an unresolved one is not refused here
            for ref in refs:
                found = BUILTIN.get(ref, held.get(ref))
                if found is None:
                    continue
                if found != NON_RESTRICTING:
                    level = found if level is None else max(level, found)
            if level is not None and level != UNKNOWN and level > (
                    COMMUNITY_MAX if coll.kind == "community" else OTHER_MAX):
                outcomes[i] = Outcome(False, "tlp")
                continue
            outcomes[i] = Outcome(True)
            if prior is not None:
                reuse.append(prior)
            else:
                v = MVersion(0, oid, str(obj["type"]), vkey, str(obj.get("modified", "")), member, refs, obj,
                             served_sha(obj), sha)
                pending[(oid, vkey)] = v
                new.append(v)
            if obj["type"] == "marking-definition":
                held.setdefault(oid, declared_level(obj))
                self.defs.setdefault((oid, member), declared_level(obj))
        for v in new:
            v.order = len(self.versions)
            self.versions.append(v)
            self.lines.setdefault((v.oid, member), {})[v.vkey] = v
        self.write_count += 1
        for v in new + reuse:
            if (v.order, coll_name) not in self.shared_in:
                self.share_count += 1
                s = MShare(self.share_count, v, coll_name, member, self._event(), self.write_count)
                self.shares.append(s)
                v.shares.append(s)
                self.shared_in[(v.order, coll_name)] = s
        return [o if o is not None else Outcome(False, "?") for o in outcomes]


def markings_of(obj: dict[str, Any]) -> tuple[str, ...]:
    """Return the marking references of an object (object and granular), lower-cased, first occurrence first."""
    refs = [str(r) for r in obj.get("object_marking_refs", ())]
    refs += [str(g["marking_ref"]) for g in obj.get("granular_markings", ()) if "marking_ref" in g]
    return tuple(dict.fromkeys(r.lower() for r in refs))


def version_key(obj: dict[str, Any]) -> str:
    """Return a sortable version of an object: modified, created for marking definitions, "" for observables.

    The machine writes every timestamp in one fixed format, so the strings sort as the instants do.
    """
    if obj["type"] == "marking-definition":
        return str(obj["created"])
    return str(obj.get("modified", ""))
