"""Review and share: drafts of a member kept in the store, item decisions, and publication through the write path.

* A draft belongs to the member whose analyst made it; every lookup names the member, so a draft
  of another member looks exactly like a missing one (NotFound with the same message).
* The knowledge used to link names to existing objects is what the member may read, taken from
  the store's read path (:meth:`pacte.hub.Hub.export`, policy applied), cached per member and
  rebuilt when the event log has moved on (or after :data:`KNOWLEDGE_TTL` seconds).
* Publishing keeps only the accepted items: objects of rejected and undecided items are left out,
  the report's ``object_refs`` are filtered, relationships that lose an end are dropped, existing
  hub objects stay referenced by id and are not re-posted. New SDOs and SROs get the member's
  identity as ``created_by_ref`` and ids scoped to the member (two members publishing the same
  public report do not collide); every new object gets the TLP 2.0 marking chosen. The result goes
  through :meth:`pacte.hub.Hub.share`, hence the sharing policy and the event log.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from pacte.analysis import stix as draft_stix
from pacte.analysis.inputs import InputLimits
from pacte.analysis.knowledge import MATCHED_TYPES, Knowledge
from pacte.analysis.pipeline import analyse
from pacte.analysis.worker import Job, TimeLimits, pool
from pacte.errors import (
    Conflict,
    Detail,
    InvalidInput,
    InvalidSTIX,
    NotFound,
    PolicyRefused,
    UnprocessableEntity,
)
from pacte.hub import Hub, Principal
from pacte.policy import check_share, check_write
from pacte.stix.markings import TLP2_IDS, Tlp
from pacte.stix.timestamps import format_key
from pacte.stix.validate import SCO_TYPES
from pacte.store.base import Collection, ObjectQuery, Org
from pacte.store.drafts import DISCARDED, DRAFT, PUBLISHED, AnalysisRecord, Decision

_DEFAULT_LIMITS = InputLimits()  # the defaults of the PACTE_ANALYSIS_* bounds
KNOWLEDGE_TYPES = (*MATCHED_TYPES, "attack-pattern", "vulnerability", "relationship")
KNOWLEDGE_TTL = 300.0  # seconds; a safety net for changes the event log does not record
CLAIM_SECONDS = 300
TLP_NAMES: dict[str, Tlp] = {"clear": Tlp.CLEAR, "green": Tlp.GREEN, "amber": Tlp.AMBER,
                             "amber+strict": Tlp.AMBER_STRICT, "red": Tlp.RED}
_SUPPORT_IDS = frozenset({draft_stix.PACTE_IDENTITY_ID, draft_stix.WALLET_EXTENSION_ID})
_FIXED_CONTENT = SCO_TYPES | {draft_stix.WALLET_SCO_TYPE}
_NOT_REWRITTEN = ("created_by_ref", "object_marking_refs")


# knowledge ---------------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    head: int
    built: float
    knowledge: Knowledge


class KnowledgeCache:
    """Per-member knowledge of one hub, keyed by the event-log head it was built at."""

    def __init__(self, ttl: float = KNOWLEDGE_TTL) -> None:
        self.ttl = ttl
        self._entries: dict[int, _Entry] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self.builds = 0

    def get(self, hub: Hub, org: Org) -> Knowledge:
        """Return the member's knowledge, rebuilding it if the store changed (call from a worker thread)."""
        with self._guard:
            lock = self._locks.setdefault(org.org_id, threading.Lock())
        with lock:
            head = hub.store.event_head()
            entry = self._entries.get(org.org_id)
            if entry is not None and entry.head == head and time.monotonic() - entry.built < self.ttl:
                return entry.knowledge
            knowledge = Knowledge.from_objects(readable_knowledge(hub, org))
            self.builds += 1
            self._entries[org.org_id] = _Entry(head, time.monotonic(), knowledge)
            return knowledge


def readable_knowledge(hub: Hub, org: Org) -> Iterable[dict[str, Any]]:
    """Yield the objects the member may read that the knowledge matcher uses (read path, policy applied)."""
    for stored in hub.export(org, types=KNOWLEDGE_TYPES):
        if stored.type == "relationship" and '"revoked-by"' not in stored.doc:
            continue  # only revoked-by relationships matter to the matcher
        obj = orjson.loads(stored.doc)
        if isinstance(obj, dict):
            yield obj


_caches: weakref.WeakKeyDictionary[Hub, KnowledgeCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def knowledge_cache(hub: Hub) -> KnowledgeCache:
    """Return the knowledge cache of a hub (one per hub object)."""
    with _caches_lock:
        cache = _caches.get(hub)
        if cache is None:
            cache = _caches[hub] = KnowledgeCache()
        return cache


# drafts ------------------------------------------------------------------------------------------------------------


def create_analysis(hub: Hub, principal: Principal, data: bytes | str, *, source: str, filename: str | None = None,
                    media_type: str | None = None, lang: str | None = None, ner: bool = True,
                    limits: InputLimits = _DEFAULT_LIMITS, times: TimeLimits | None = None,
                    workers: int = 1) -> AnalysisRecord:
    """Analyse a report with the member's knowledge and store the draft (CPU-bound: call from a worker thread).

    With ``times`` the analysis runs in a warm worker process bounded in CPU and wall time
    (``workers`` kept idle); without, in this process. ``limits`` bound pages and sizes either way.
    """
    knowledge = knowledge_cache(hub).get(hub, principal.org)
    job = Job(data, filename, media_type, lang, ner, hub.clock.now(), limits)
    if times is not None:
        runner = pool()
        runner.keep_idle = workers
        draft = runner.run(job, knowledge, times)
    else:
        draft = analyse(job.data, filename=job.filename, media_type=job.media_type, lang=job.lang,
                        knowledge=knowledge, ner=job.ner, now=job.now, limits=limits).as_dict()
    return hub.store.add_analysis(str(hub.ids.uuid4()), principal.org.org_id, principal.token.token_id, source,
                                  draft, hub.now_key())


def missing(analysis_id: str) -> NotFound:
    """Return the error for an analysis that does not exist or belongs to another member (the same for both)."""
    del analysis_id  # not echoed: the body is byte-identical whatever the id
    return NotFound("no such analysis", [Detail(reason="no analysis of your organisation has this id",
                                                field="analysis_id")])


def get_analysis(hub: Hub, org: Org, analysis_id: str) -> AnalysisRecord:
    """Return a member's analysis with its draft; NotFound for a missing or hidden one."""
    rec = hub.store.analysis(analysis_id, org.org_id)
    if rec is None:
        raise missing(analysis_id)
    return rec


def _not_draft(analysis_id: str, status: str) -> Conflict:
    reason = {PUBLISHED: "it has been published", DISCARDED: "it has been discarded",
              "publishing": "it is being published"}.get(status, f"its status is {status}")
    return Conflict(f"analysis {analysis_id!r} is no longer a draft", [Detail(reason=reason, field="status")])


@dataclass(frozen=True)
class Choice:
    """One decision asked for: an item by index or by STIX id, and accepted / rejected / undecided."""

    decision: Decision
    index: int | None = None
    stix_id: str | None = None


def resolve_choices(items: Sequence[Mapping[str, Any]], choices: Sequence[Choice],
                    path: str = "body.items") -> dict[int, Decision]:
    """Return {item index: decision} for the choices; InvalidInput naming each unknown index or id."""
    by_id: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        for sid in (item.get("stix_id"), (item.get("detail") or {}).get("sco_id")):
            if isinstance(sid, str):
                by_id.setdefault(sid, []).append(i)
    out: dict[int, Decision] = {}
    problems: list[Detail] = []
    for n, choice in enumerate(choices):
        if (choice.index is None) == (choice.stix_id is None):
            problems.append(Detail(reason="give exactly one of index and stix_id", field=f"{path}.{n}"))
        elif choice.index is not None:
            if not 0 <= choice.index < len(items):
                problems.append(Detail(reason=f"no item {choice.index}: the draft has {len(items)} items "
                                       f"(indices 0 to {len(items) - 1})", field=f"{path}.{n}.index"))
            else:
                out[choice.index] = choice.decision
        else:
            found = by_id.get(str(choice.stix_id))
            if not found:
                problems.append(Detail(reason=f"no item of the draft has the STIX id {choice.stix_id!r}",
                                       field=f"{path}.{n}.stix_id"))
            for i in found or ():
                out[i] = choice.decision
    if problems:
        raise InvalidInput("some decisions name no item of the draft", problems)
    return out


def decide(hub: Hub, org: Org, analysis_id: str, choices: Sequence[Choice]) -> AnalysisRecord:
    """Record accept / reject / undecided decisions on a member's draft and return it."""
    rec = get_analysis(hub, org, analysis_id)
    assert rec.draft is not None
    changes = resolve_choices(rec.draft.get("items") or [], choices)
    status = hub.store.decide_analysis(analysis_id, org.org_id, changes, hub.now_key())
    if status is None:
        raise missing(analysis_id)
    if status != DRAFT:
        raise _not_draft(analysis_id, status)
    return get_analysis(hub, org, analysis_id)


def discard(hub: Hub, org: Org, analysis_id: str) -> AnalysisRecord:
    """Discard a member's draft (idempotent); Conflict if it was published or is being published."""
    status = hub.store.discard_analysis(analysis_id, org.org_id, hub.now_key())
    if status is None:
        raise missing(analysis_id)
    if status != DISCARDED:
        raise _not_draft(analysis_id, status)
    return get_analysis(hub, org, analysis_id)


# publication -------------------------------------------------------------------------------------------------------


@dataclass
class Publication:
    """The final bundle built from the accepted items, and what it keeps and drops."""

    bundle: dict[str, Any]
    referenced: list[str]  # existing hub objects referenced by id, not posted
    renamed: dict[str, str]  # draft id -> published id
    dropped: list[str] = field(default_factory=list)  # draft ids left out


def _refs_of(obj: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in obj.items():
        if key in _NOT_REWRITTEN:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            out.append(value)
        elif key.endswith("_refs") and isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def _rewrite(obj: dict[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _NOT_REWRITTEN:
            out[key] = value
        elif key.endswith("_ref") and isinstance(value, str):
            out[key] = renamed.get(value, value)
        elif key.endswith("_refs") and isinstance(value, list):
            out[key] = [renamed.get(v, v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    out["id"] = renamed.get(str(obj["id"]), obj["id"])
    return out


def build_publication(draft: Mapping[str, Any], decisions: Sequence[Decision], identity_id: str, tlp: Tlp,
                      bundle_id: str) -> Publication:
    """Return the bundle to publish from a draft and its decisions: accepted items only, marked and attributed."""
    items: list[Mapping[str, Any]] = list(draft.get("items") or [])
    accepted: set[str] = set()
    known: set[str] = set()
    refused: set[str] = set()
    for item, decision in zip(items, decisions, strict=True):
        ids = {s for s in (item.get("stix_id"), (item.get("detail") or {}).get("sco_id")) if isinstance(s, str)}
        if decision is True:
            accepted |= ids
            if item.get("known") and isinstance(item.get("stix_id"), str):
                known.add(str(item["stix_id"]))
        else:
            refused |= ids
    objects: list[dict[str, Any]] = [dict(o) for o in (draft.get("bundle") or {}).get("objects") or []]
    report = next((o for o in objects if o.get("type") == "report"), None)
    if report is None:
        raise UnprocessableEntity("the draft has no report to publish")
    kept: dict[str, dict[str, Any]] = {}
    for obj in objects:
        oid = str(obj.get("id"))
        if obj is not report and oid in accepted and obj.get("type") != "relationship":
            kept[oid] = obj
    ends = set(kept) | known
    for obj in objects:
        if obj.get("type") == "relationship" and obj.get("source_ref") in ends and obj.get("target_ref") in ends:
            kept[str(obj["id"])] = obj
    if any(o.get("type") == draft_stix.WALLET_SCO_TYPE for o in kept.values()):
        for obj in objects:
            if obj.get("id") in _SUPPORT_IDS:
                kept[str(obj["id"])] = obj
    refs = [r for r in report.get("object_refs") or () if r in kept or r in known]
    if not refs:
        raise UnprocessableEntity("nothing to publish: no accepted item has a STIX object", [Detail(
            reason="accept at least one item that has a stix_id (PATCH /api/v1/analyses/{id}/items)",
            field="items")])
    dropped = [str(o.get("id")) for o in objects if o is not report and str(o.get("id")) not in kept]
    renamed: dict[str, str] = {}
    for oid, obj in [(str(report["id"]), report), *kept.items()]:
        otype = str(obj.get("type"))
        if otype not in _FIXED_CONTENT and oid not in _SUPPORT_IDS:
            renamed[oid] = draft_stix.draft_id(otype, identity_id, oid)
    marking = TLP2_IDS[tlp]
    final: list[dict[str, Any]] = []
    for obj in [{**report, "object_refs": refs}, *kept.values()]:
        oid = str(obj["id"])
        out = _rewrite(obj, renamed)
        if oid not in _SUPPORT_IDS:
            out["object_marking_refs"] = [marking]
            if oid in renamed:
                out["created_by_ref"] = identity_id
        final.append(out)
    return Publication({"type": "bundle", "id": bundle_id, "objects": final}, sorted(known), renamed, dropped)


def parse_tlp(text: str) -> Tlp:
    """Return the TLP level for one of clear, green, amber, amber+strict, red."""
    level = TLP_NAMES.get(text.strip().lower().removeprefix("tlp:"))
    if level is None:
        raise InvalidInput(f"unknown TLP {text!r}", [Detail(reason="one of " + ", ".join(TLP_NAMES), field="body.tlp")])
    return level


def _check_target(principal: Principal, hub: Hub, coll: Collection, tlp: Tlp) -> None:
    check_write(principal.role, hub.store.is_member(coll.cid, principal.org.org_id), coll.name)
    try:
        check_share(coll.kind, int(tlp), coll.name)
    except PolicyRefused as exc:
        raise PolicyRefused(exc.message, [Detail(reason=d.reason, field="body.tlp") for d in exc.details]) from None


@dataclass
class Published:
    """A publication's stored record and the bundle that was published."""

    record: AnalysisRecord
    bundle: dict[str, Any]


def publish(hub: Hub, principal: Principal, analysis_id: str, collection: str, tlp_name: str) -> Published:
    """Publish the accepted items of a member's draft into a collection at a TLP, through the write path."""
    org = principal.org
    rec = get_analysis(hub, org, analysis_id)
    if rec.status != DRAFT:
        raise _not_draft(analysis_id, rec.status)
    tlp = parse_tlp(tlp_name)
    try:
        coll = hub.collection_for(org, collection)
    except NotFound:
        raise NotFound(f"no collection {collection!r}", [Detail(reason="no collection of that id or name that "
                                                                "your organisation reads", field="body.collection")]
                       ) from None
    _check_target(principal, hub, coll, tlp)
    claim = str(hub.ids.uuid4())
    now = hub.clock.now()
    if not hub.store.claim_analysis(analysis_id, org.org_id, claim, format_key(now),
                                    format_key(now + timedelta(seconds=CLAIM_SECONDS))):
        current = hub.store.analysis(analysis_id, org.org_id)
        if current is None:
            raise missing(analysis_id)
        raise _not_draft(analysis_id, current.status if current.status != DRAFT else "publishing")
    try:
        rec = get_analysis(hub, org, analysis_id)  # decisions as they are under the claim
        assert rec.draft is not None
        pub = build_publication(rec.draft, rec.decisions, org.identity_id, tlp, f"bundle--{hub.ids.uuid4()}")
        posted = _to_post(hub, org, pub.bundle["objects"])
        report = hub.share(principal, coll, posted)
        failed = [o for o in report.outcomes if not o.ok]
        if posted and not report.successes:
            details = [Detail(reason=o.reason or "", field=o.field, object_id=o.id) for o in failed]
            if all(o.code == "policy_refused" for o in failed):
                raise PolicyRefused("the sharing policy refused every object; nothing was published", details)
            raise InvalidSTIX("no object of the publication was accepted; nothing was published", details)
        result = {
            "collection": {"id": coll.uuid, "name": coll.name}, "tlp": tlp.label,
            "success_count": report.successes, "failure_count": report.failures,
            "failures": [o.as_dict() for o in failed],
            "posted": [o["id"] for o in posted], "referenced": pub.referenced, "renamed": pub.renamed,
            "dropped": pub.dropped,
        }
        if not hub.store.publish_analysis(analysis_id, org.org_id, claim, hub.now_key(), pub.bundle["id"], coll.name,
                                          tlp.label, result):
            raise Conflict(f"analysis {analysis_id!r} was changed while it was published",
                           [Detail(reason="the publication claim expired", field="status")])
    except BaseException:
        hub.store.release_analysis(analysis_id, org.org_id, claim)
        raise
    return Published(get_analysis(hub, org, analysis_id), pub.bundle)


def _to_post(hub: Hub, org: Org, objects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the objects to share: fixed-content objects the member already reads stay referenced, not re-posted."""
    fixed = sorted({str(o["id"]) for o in objects if o.get("type") in _FIXED_CONTENT or o.get("id") in _SUPPORT_IDS})
    present: set[str] = set()
    for i in range(0, len(fixed), 500):
        page = hub.store.query(ObjectQuery(reader=org.org_id, ids=fixed[i:i + 500], limit=10_000))
        present.update(s.id for s in page.items)
    return [o for o in objects if o["id"] not in present]
