"""The write path: validate a batch, apply provenance and the sharing policy, store it atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pacte.errors import Detail, PacteError, PolicyRefused
from pacte.policy import CollectionKind, check_share, explicit_level, stored_level
from pacte.stix.extension import DEFAULT_GRADING, Grading, canonical_objects, with_grading
from pacte.stix.markings import RESERVED_MARKINGS, TLP_BY_ID
from pacte.stix.validate import ObjectInvalid, Prepared, prepare
from pacte.store.base import Collection, MarkingDef, Org, Store, VersionRow, WriteTxn
from pacte.store.correlations import SightingRow


@dataclass(slots=True)  # not frozen: one is built per object on the ingest path, and frozen init is slow
class Outcome:
    """What happened to one object of a batch."""

    index: int
    id: str | None
    version: str | None
    ok: bool
    reason: str | None = None
    field: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready dict."""
        out: dict[str, Any] = {"index": self.index, "id": self.id, "version": self.version,
                               "status": "success" if self.ok else "failure"}
        if not self.ok:
            out.update(reason=self.reason, field=self.field, code=self.code)
        return out


@dataclass
class ShareReport:
    """Per-object outcomes of one batch, in input order."""

    outcomes: list[Outcome] = field(default_factory=list)
    grading: Grading | None = None  # what the batch's new versions carry where an object sets no grading

    @property
    def successes(self) -> int:
        """Return how many objects were stored or already present."""
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failures(self) -> int:
        """Return how many objects were refused."""
        return len(self.outcomes) - self.successes


def _failure(index: int, p: Prepared | None, detail: Detail, code: str, obj_id: str | None = None) -> Outcome:
    return Outcome(index, p.id if p else obj_id, (p.modified or p.created) if p else None, False,
                   detail.reason, detail.field, code)


def _success(index: int, p: Prepared) -> Outcome:
    return Outcome(index, p.id, p.modified or p.created, True)


Checked = Prepared | Outcome  # a validated object, or the failure that refused it


def check_objects(objects: Sequence[Any], max_depth: int, offset: int = 0) -> list[Checked]:
    """Validate objects (no database needed, so it may run in worker processes)."""
    out: list[Checked] = []
    for i, obj in enumerate(objects, start=offset):
        try:
            out.append(prepare(obj, max_depth))
        except ObjectInvalid as exc:
            raw_id = obj.get("id") if isinstance(obj, dict) else None
            out.append(_failure(i, None, exc.detail, "invalid_stix", raw_id if isinstance(raw_id, str) else None))
    return out


AfterWrite = Callable[[WriteTxn, "ShareReport"], None]  # runs in the batch's transaction, before commit


def share_objects(store: Store, org: Org, coll: Collection, objects: Sequence[Any], now: Callable[[], str],
                  max_depth: int, after: AfterWrite | None = None, grading: Grading | None = None) -> ShareReport:
    """Validate and store a batch shared by ``org`` into ``coll``; return per-object outcomes.

    Each object is all-or-nothing; the batch is one transaction, so a crash stores none of it.
    ``now`` gives the current time (store key form); it is read once the write lock is held.
    """
    return share_checked(store, org, coll, check_objects(objects, max_depth), now, after, grading)


def default_grading(store: Store, org: Org, grading: Grading | None = None) -> Grading | None:
    """Return the grading a share gives objects that set none: the request's, else the member's default, else None.

    None: nobody set one, and such objects are stored as sent; the Pacte extension defines an ungraded
    object as F6 (reliability and credibility cannot be judged), so 150 bytes of F6 are not written
    into every object of a member that never graded (they cost 11 % of ATT&CK's bytes, read-back fell 17 %).
    """
    if grading is not None:
        return grading
    row = store.org_grading(org.org_id)
    return Grading(*row) if row else None


def graded_doc(p: Prepared, default: Grading | None) -> str:
    """Return the JSON a version is stored with: the object with its grading in the Pacte extension.

    Parts the object's own extension sets are kept; the others come from ``default`` (F6 where the object
    grades itself partly and no default is set). An object that grades itself completely (reliability,
    credibility, and handling when the default has one), or sets no grading when there is no default,
    is stored exactly as sent.
    """
    parts = p.grading
    if parts is None:
        return p.doc.decode("utf-8") if default is None else with_grading(p.doc, default, p.has_extensions).decode()
    base = default or DEFAULT_GRADING
    if parts[0] is not None and parts[1] is not None and (parts[2] is not None or base.handling is None):
        return p.doc.decode("utf-8")
    reliability, credibility, handling = parts
    merged = Grading(reliability or base.reliability, credibility or base.credibility, handling or base.handling)
    return with_grading(p.doc, merged, True).decode("utf-8")


def share_checked(store: Store, org: Org, coll: Collection, checked: Sequence[Checked], now: Callable[[], str],
                  after: AfterWrite | None = None, grading: Grading | None = None) -> ShareReport:
    """Store a batch already validated by :func:`check_objects`; return per-object outcomes.

    ``now`` is read inside the write transaction, once its lock is held, so the batch is dated in
    commit order (its shares all get that one time: see ``store.sqlbase.next_added``). ``after`` runs inside the same transaction once the outcomes are known (e.g. to record a
    TAXII status with the objects, in one commit).
    """
    outcomes: list[Outcome | None] = [None] * len(checked)
    valid: list[tuple[int, Prepared]] = []
    for i, item in enumerate(checked):
        if isinstance(item, Prepared):
            valid.append((i, item))
        else:
            outcomes[i] = Outcome(i, item.id, item.version, False, item.reason, item.field, item.code)
    default = default_grading(store, org, grading)
    with store.write() as tx:
        _decide_and_store(tx, org, coll, valid, outcomes, now(), default)
        report = ShareReport([o for o in outcomes if o is not None], default)
        if after is not None:
            after(tx, report)
    return report


def _decide_and_store(tx: WriteTxn, org: Org, coll: Collection, valid: list[tuple[int, Prepared]],
                      outcomes: list[Outcome | None], now: str, default: Grading | None) -> None:
    """Decide each object of a batch and store the accepted ones in ``org``'s own lines.

    Nothing here depends on versions of other members: a version of an id somebody else holds is
    simply the start of ``org``'s line, with the same reply as any new version.
    """
    idents = tx.member_identities(
        [p.created_by_ref for _, p in valid if p.created_by_ref]
        + [p.id for _, p in valid if p.type == "identity"])
    ids = [p.id for _, p in valid]
    stored: dict[tuple[str, str, str], int] = {}
    own_keys: dict[tuple[str, str], str] = {}
    for ev in tx.existing_versions(ids, org.org_id):
        stored[(ev.id, ev.vkey, ev.sha)] = ev.vid
        own_keys[(ev.id, ev.vkey)] = ev.sha
    refs = {m for _, p in valid for m in p.markings if m not in TLP_BY_ID}
    held = {d.marking_id: d.level for d in tx.marking_levels(sorted(refs), org.org_id)}
    # Marking definitions first: only those accepted may resolve the markings of the others.
    definitions = [(i, p) for i, p in valid if p.marking_level is not None]
    ordered = definitions + [(i, p) for i, p in valid if p.marking_level is None]

    new_rows: list[VersionRow] = []
    new_index: list[int] = []
    unresolved_for: list[list[str]] = []
    reuse: list[tuple[int, str]] = []  # (existing vid, or -1 - index of a new row of this batch; type)
    defined: list[tuple[str, int, int]] = []  # (marking id, level, vid as in ``reuse``)
    seen: dict[tuple[str, str, str], int] = {}
    levels: dict[tuple[str, ...], tuple[int | None, list[str]]] = {}  # per marking set, for this batch
    for n, (i, p) in enumerate(ordered):
        if n == len(definitions):
            levels.clear()  # the accepted definitions are now held
        try:
            level, unresolved = _check(p, org, coll, idents, own_keys, held, levels)
        except PacteError as exc:
            detail = exc.details[0] if exc.details else Detail(reason=exc.message, object_id=p.id)
            outcomes[i] = _failure(i, p, detail, exc.code)
            continue
        key = (p.id, p.version_key, p.sha)
        if key in stored:
            ref = stored[key]
            reuse.append((ref, p.type))
        elif key in seen:
            ref = -1 - seen[key]
            reuse.append((ref, p.type))  # duplicate inside the batch: resolve after insert
        else:
            ref = -1 - len(new_rows)
            seen[key] = len(new_rows)
            own_keys[(p.id, p.version_key)] = p.sha
            new_rows.append(VersionRow(
                id=p.id, type=p.type, vkey=p.version_key, modified=p.modified, created=p.created,
                producer=org.org_id, created_by_ref=p.created_by_ref,
                relayed=p.created_by_ref is not None and p.created_by_ref not in idents, tlp=level,
                revoked=p.revoked, sha=p.sha, doc=graded_doc(p, default), keys=p.keys,
                sighting=None if p.sighting is None else SightingRow(
                    p.sighting.target, p.sighting.kind, p.sighting.count, p.sighting.anonymous, p.sighting.last_seen)))
            new_index.append(i)
            unresolved_for.append(unresolved)
        outcomes[i] = _success(i, p)
        if p.marking_level is not None:
            defined.append((p.id, p.marking_level, ref))
            held.setdefault(p.id, p.marking_level)
    vids = tx.insert_versions(new_rows, now)
    tx.add_unresolved([(vid, m) for vid, refs_ in zip(vids, unresolved_for, strict=True) for m in refs_])
    shares = [(vid, coll.cid, org.org_id, row.type) for vid, row in zip(vids, new_rows, strict=True)]
    shares += [(vid if vid >= 0 else vids[-1 - vid], coll.cid, org.org_id, otype) for vid, otype in reuse]
    tx.insert_shares(shares, now)
    _resolve_markings(tx, org, [MarkingDef(mid, org.org_id, level, vid if vid >= 0 else vids[-1 - vid])
                                for mid, level, vid in defined])


_HUB_OBJECTS = frozenset(canonical_objects())  # the Pacte extension definition and its author: served, never posted


def _check(p: Prepared, org: Org, coll: Collection, idents: dict[str, int],
           own_keys: dict[tuple[str, str], str], held: dict[str, int],
           levels: dict[tuple[str, ...], tuple[int | None, list[str]]]) -> tuple[int | None, list[str]]:
    """Apply provenance, versioning and marking rules to one object; raise on refusal."""
    if p.id in RESERVED_MARKINGS:
        raise PolicyRefused("reserved marking definition", [Detail(
            reason="this id is a TLP marking definition the hub holds as its level; reference it, do not publish it",
            field="id", object_id=p.id)])
    if p.id in _HUB_OBJECTS:
        raise PolicyRefused("reserved object", [Detail(
            reason="this id is the hub's own (the Pacte extension definition or its author); reference it, do not"
                   " publish it", field="id", object_id=p.id)])
    if p.created_by_ref is not None:
        creator = idents.get(p.created_by_ref)
        if creator is not None and creator != org.org_id:
            raise PolicyRefused("spoofed provenance", [Detail(
                reason="created_by_ref names the identity of another member; a member shares only as itself",
                field="created_by_ref", object_id=p.id)])
    if p.type == "identity" and idents.get(p.id, org.org_id) != org.org_id:
        raise PolicyRefused("spoofed provenance", [Detail(
            reason="this identity belongs to another member", field="id", object_id=p.id)])
    if p.sighting is not None and p.sighting.anonymous:
        _check_anonymous(p, coll)
    prior = own_keys.get((p.id, p.version_key))
    if prior is not None and prior != p.sha:
        raise PolicyRefused("conflicting version", [Detail(
            reason="your organisation already shared different content with this id and modified;"
                   " a new version needs a later modified", field="modified", object_id=p.id)])
    cached = levels.get(p.markings)
    if cached is None:
        cached = levels[p.markings] = explicit_level(p.markings, held)
    level, unresolved = cached
    check_share(coll.kind, level, p.id)
    return stored_level(level, unresolved), unresolved


def _check_anonymous(p: Prepared, coll: Collection) -> None:
    """Refuse an anonymous sighting that would name its sighter: it goes to the member's private collection only.

    The producer of what was sighted learns that it was sighted and how often, never by whom; shared
    anywhere another member reads, the sighting itself (and its producer, by the producer filter) would tell.
    """
    if coll.kind is not CollectionKind.PRIVATE:
        raise PolicyRefused("anonymous sighting outside the private collection", [Detail(
            reason="an anonymous sighting is shared only into your private collection; the producer of what"
                   " was sighted is told how often, not by whom", field="extensions", object_id=p.id)])
    if p.created_by_ref is not None:
        raise PolicyRefused("anonymous sighting names its sighter", [Detail(
            reason="an anonymous sighting must not carry created_by_ref", field="created_by_ref", object_id=p.id)])


def _resolve_markings(tx: WriteTxn, org: Org, defs: list[MarkingDef]) -> None:
    """Record the member's new marking definitions and re-level its versions that referenced them.

    A definition governs only the objects of the member that published it: another member's
    definition of the same id, readable or not, earlier or later, never changes who reads them.
    """
    resolved = tx.record_markings(defs)
    if not resolved:
        return
    docs = tx.version_docs(resolved)
    all_refs: dict[int, list[str]] = {}
    for vid, doc in docs.items():
        obj = orjson.loads(doc)
        refs = list(obj.get("object_marking_refs", ()))
        refs += [g["marking_ref"] for g in obj.get("granular_markings", ()) if "marking_ref" in g]
        all_refs[vid] = refs
    held = {d.marking_id: d.level for d in tx.marking_levels(
        sorted({m for refs in all_refs.values() for m in refs if m not in TLP_BY_ID}), org.org_id)}
    tx.set_version_tlp([(vid, stored_level(*explicit_level(refs, held))) for vid, refs in all_refs.items()])
