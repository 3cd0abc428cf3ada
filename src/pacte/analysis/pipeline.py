"""The analysis pipeline: raw report in, reviewed-ready draft out (items with evidence, and a STIX 2.1 bundle)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pacte.analysis import stix
from pacte.analysis.clean import clean_text
from pacte.analysis.entities import Entity, find_entities
from pacte.analysis.inputs import Document, InputLimits, read_document
from pacte.analysis.knowledge import Knowledge
from pacte.analysis.language import detect_language
from pacte.analysis.observables import Extraction, Observable, extract_observables
from pacte.analysis.relations import find_relations
from pacte.errors import InvalidInput

Evidence = tuple[int, int, str]
_LETTER = re.compile(r"[^\W\d_]")
_KIND_LABEL = {
    "ipv4": "IPv4 address", "ipv6": "IPv6 address", "domain": "Domain", "url": "URL", "email": "E-mail address",
    "md5": "MD5 file hash", "sha1": "SHA-1 file hash", "sha256": "SHA-256 file hash",
    "crypto_wallet": "Cryptocurrency wallet",
}
_SNIPPET = 60


@dataclass
class Item:
    """One extracted thing for the reviewer: what, its STIX object, where it was seen, and how sure we are."""

    kind: str
    value: str
    stix_id: str | None
    evidence: list[Evidence]
    confidence: int
    accepted: bool | None = None
    name: str | None = None
    known: bool = False
    detail: dict[str, str] = field(default_factory=dict)
    surfaces: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the item as a JSON-ready dict."""
        return {
            "kind": self.kind, "value": self.value, "name": self.name, "stix_id": self.stix_id,
            "known": self.known, "confidence": self.confidence, "accepted": self.accepted,
            "evidence": [{"start": s, "end": e, "snippet": snip} for s, e, snip in self.evidence],
            "detail": self.detail, "surfaces": self.surfaces,
        }


@dataclass
class Draft:
    """The result of analysing one report: the draft bundle and the items an analyst accepts or rejects."""

    bundle: dict[str, Any]
    items: list[Item]
    lang: str | None
    title: str
    text: str
    references: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    def items_of(self, kind: str) -> list[Item]:
        """Return the items of one kind."""
        return [i for i in self.items if i.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        """Return the draft as a JSON-ready dict: metadata, items for review, and the STIX bundle."""
        return {
            "title": self.title, "lang": self.lang, "text": self.text,
            "items": [i.as_dict() for i in self.items], "references": self.references,
            "removed": [{"rule": rule, "line": line} for rule, line in self.removed],
            "bundle": self.bundle,
        }


def snippet(text: str, start: int, end: int) -> str:
    """Return the text around a span, on one line, for a reviewer to judge the evidence."""
    lo, hi = max(0, start - _SNIPPET), min(len(text), end + _SNIPPET)
    return " ".join(text[lo:hi].split())


class _Builder:
    """Collects items and STIX objects for one report, merging repeated mentions."""

    def __init__(self, text: str, scope: str, now: str, knowledge: Knowledge | None) -> None:
        self.text = text
        self.scope = scope
        self.now = now
        self.knowledge = knowledge
        self.items: dict[tuple[str, str], Item] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.refs: dict[str, None] = {}

    def add_object(self, obj: dict[str, Any]) -> str:
        """Add a STIX object to the bundle and to the report's references."""
        self.objects.setdefault(obj["id"], obj)
        self.refs.setdefault(obj["id"], None)
        return str(obj["id"])

    def item(self, kind: str, value: str, start: int, end: int, confidence: int) -> tuple[Item, bool]:
        """Return the item for a value, creating it or adding this mention as evidence."""
        key = (kind, value.lower() if kind not in ("crypto_wallet", "url") else value)
        ev = (start, end, snippet(self.text, start, end))
        existing = self.items.get(key)
        if existing is not None:
            existing.evidence.append(ev)
            existing.confidence = max(existing.confidence, confidence)
            return existing, False
        item = Item(kind, value, None, [ev], confidence)
        self.items[key] = item
        return item, True

    def observable(self, o: Observable) -> None:
        """Turn an indicator into its item and STIX objects."""
        item, new = self.item(o.kind, o.value, o.start, o.end, o.confidence)
        if o.note:
            item.detail["note"] = o.note
        if not new:
            return
        if o.kind == "cve":
            known = self.knowledge.vulnerability_id(o.value) if self.knowledge else None
            if known:
                item.stix_id, item.known = known, True
                self.refs.setdefault(known, None)
                return
            vid = stix.draft_id("vulnerability", self.scope, o.value)
            obj = stix.base_sdo("vulnerability", vid, self.now)
            obj.update({"name": o.value, "external_references": [{"source_name": "cve", "external_id": o.value}]})
            item.stix_id = self.add_object(obj)
            return
        if o.kind == "attack_technique":
            known = self.knowledge.technique_id(o.value) if self.knowledge else None
            if known:
                item.stix_id, item.known = known, True
                item.name = self.knowledge.technique_name(o.value) if self.knowledge else None
                self.refs.setdefault(known, None)
                return
            aid = stix.draft_id("attack-pattern", self.scope, o.value)
            obj = stix.base_sdo("attack-pattern", aid, self.now)
            obj.update({"name": o.value, "external_references": [
                {"source_name": "mitre-attack", "external_id": o.value}]})
            item.stix_id = self.add_object(obj)
            return
        sco = stix.observable_sco(o.kind, o.value)
        if o.kind == "crypto_wallet":
            for support in (stix.pacte_identity(), stix.wallet_extension()):  # in the bundle, not the report
                self.objects.setdefault(support["id"], support)
            sco = stix.wallet_sco(o.value, o.note or None)
        pattern = stix.pattern_for(o.kind, o.value)
        if sco is None or pattern is None:
            return
        self.add_object(sco)
        item.detail["sco_id"] = sco["id"]
        iid = stix.draft_id("indicator", self.scope, pattern)
        ind = stix.base_sdo("indicator", iid, self.now, o.confidence)
        ind.update({"name": o.value, "pattern": pattern, "pattern_type": "stix", "valid_from": self.now,
                    "indicator_types": ["malicious-activity"],
                    "description": f"{_KIND_LABEL.get(o.kind, o.kind)} named in the report: {item.evidence[0][2]}"})
        item.stix_id = self.add_object(ind)

    def entity(self, e: Entity) -> Item | None:
        """Turn an entity mention into its item, linked to a known object or a new one."""
        if e.kind == "date":
            item, _ = self.item("date", e.name, e.start, e.end, e.confidence)
            item.detail["surface"] = e.surface
            return item
        item, new = self.item(e.kind, e.name, e.start, e.end, e.confidence)
        if e.surface not in item.surfaces:
            item.surfaces.append(e.surface)
        if not new:
            return item
        item.name = e.name
        if e.stix_id:
            item.stix_id, item.known = e.stix_id, True
            self.refs.setdefault(e.stix_id, None)
            return item
        if e.code:
            item.detail["code"] = e.code
        obj = self._new_sdo(e)
        if obj is not None:
            item.stix_id = self.add_object(obj)
        return item

    def _new_sdo(self, e: Entity) -> dict[str, Any] | None:
        kind_to_type = {"threat_actor": "intrusion-set", "malware": "malware", "tool": "tool",
                        "campaign": "campaign", "organization": "identity", "person": "identity",
                        "location": "location"}
        sdo_type = kind_to_type[e.kind]
        obj = stix.base_sdo(sdo_type, stix.draft_id(sdo_type, self.scope, f"{e.kind}|{e.name.lower()}"),
                            self.now, e.confidence)
        obj["name"] = e.name
        if e.kind == "malware":
            obj["is_family"] = True
        elif e.kind in ("organization", "person"):
            obj["identity_class"] = "organization" if e.kind == "organization" else "individual"
        elif e.kind == "location":
            if not e.code:
                return None
            if e.stix_type == "region":
                obj["region"] = e.code
            else:
                obj["country"] = e.code
        return obj


def _scope(text: str, title: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:32]


def _publisher_domains(doc: Document) -> list[str]:
    return [doc.publisher_host] if doc.publisher_host else []


def analyse(
    source: bytes | str,
    *,
    filename: str | None = None,
    media_type: str | None = None,
    lang: str | None = None,
    knowledge: Knowledge | None = None,
    ner: bool = True,
    now: datetime | None = None,
    limits: InputLimits | None = None,
) -> Draft:
    """Analyse one report and return its draft: items with evidence and confidence, and a STIX 2.1 bundle."""
    doc = read_document(source, filename=filename, media_type=media_type, limits=limits)
    cleaned = clean_text(doc.text)
    text = cleaned.text
    if not text.strip():
        raise InvalidInput("the report has no text once boilerplate is removed")
    if lang is not None:
        primary, dash, rest = lang.strip().partition("-")
        lang = primary.lower() + dash + rest  # "EN" -> "en", "en-GB" kept
    if lang is not None and not re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", lang):
        raise InvalidInput(f"invalid language code {lang!r}")
    language = lang or detect_language(text)
    removed_lines = {line for _, line in cleaned.removed}
    title = doc.title if doc.title and doc.title.strip() not in removed_lines else None
    if not title:
        title = next((line for line in text.split("\n") if len(_LETTER.findall(line)) >= 3), "")
    title = title.strip()[:250] or "Untitled report"
    moment = now or datetime.now(UTC)
    stamp = stix.timestamp(moment)
    scope = _scope(text, title)

    extraction: Extraction = extract_observables(text, publisher_domains=_publisher_domains(doc))
    builder = _Builder(text, scope, stamp, knowledge)
    for o in extraction.observables:
        builder.observable(o)
    blocked = [(o.start, o.end) for o in extraction.observables] + [(r.start, r.end) for r in extraction.rejected]
    entities = find_entities(text, lang=language or "en", knowledge=knowledge, blocked=blocked, ner=ner)
    for e in entities:
        builder.entity(e)

    for rel in find_relations(text, entities, builder.items, extraction):
        builder.add_object(stix.relationship(scope, rel.source, rel.kind, rel.target, stamp, rel.confidence))

    report_id = stix.draft_id("report", scope, "report")
    refs = list(builder.refs)
    objects = list(builder.objects.values())
    if not refs:
        note_id = stix.draft_id("note", scope, "empty")
        note = stix.base_sdo("note", note_id, stamp)
        note.update({"content": "The analysis found no indicator or entity in this report.",
                     "object_refs": [report_id]})
        objects.append(note)
        refs = [note_id]
    report = stix.base_sdo("report", report_id, stamp)
    report.update({"name": title, "description": text, "published": stamp, "report_types": ["threat-report"],
                   "object_refs": refs})
    if language:
        report["lang"] = language
    # Cited links go in as descriptions: a url without a hash of the content is discouraged by STIX.
    external = [{"source_name": urlsplit(u).hostname or "reference", "description": f"Reference cited: {u}"}
                for u in dict.fromkeys(extraction.references) if "://" in u]
    if external:
        report["external_references"] = external[:50]
    items = sorted(builder.items.values(), key=lambda i: i.evidence[0][0])
    return Draft(stix.bundle([report, *objects], scope), items, language, title, text,
                 list(dict.fromkeys(extraction.references)), cleaned.removed)
