"""Relationships that a report states in so many words: "X uses Y", "attributed to", "targets", "exploits"."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pacte.analysis.entities import Entity
from pacte.analysis.observables import Extraction

_SENTENCE = re.compile(r"[^\n.!?。؟]+(?:[.!?。؟]+|\n|$)")
_USES = re.compile(
    r"\b(?:uses?|used|using|deploy(?:s|ed|ing)?|leverag\w+|employ\w*|deliver\w*|distribut\w+|install\w*|"
    r"drop(?:s|ped)?|relies on|a utilisé|utilis\w+|déploi\w*|déploy\w*|emplea\w*|utiliz\w+|us[óa]|despleg\w*|"
    r"verwende\w*|nutz\w+|setzt\w*|einge\w*|использ\w+|применя\w+|распространя\w+|يستخدم|استخدم\w*|تستخدم)",
    re.IGNORECASE,
)
_ATTRIBUTED = re.compile(
    r"\b(?:attributed to|attribut\w* à|atribui\w* a|zugeschrieben|приписыва\w+|نسب\w*)", re.IGNORECASE
)
_TARGETS = re.compile(
    r"\b(?:target\w*|attack\w*|cibl\w+|vis\w+|attaqu\w+|apunt\w+|atac\w+|zielt\w*|angegriffen|"
    r"greift|атак\w+|нацел\w+|استهدف\w*|هاجم\w*)",
    re.IGNORECASE,
)
_EXPLOITS = re.compile(r"\b(?:exploit\w*|explot\w+|nutzt\w* .{0,20}lücke|эксплуат\w+|استغل\w*)", re.IGNORECASE)

# The words between two names that state a relation are a clause, not a page: without a bound, a "sentence" of
# thousands of names (a list without full stops) was searched pair by pair (cubic).
_MAX_GAP = 400
_ACTORS = ("threat_actor", "campaign")
_CAPABILITIES = ("malware", "tool")


class _HasStixId(Protocol):
    stix_id: str | None
    kind: str


@dataclass(frozen=True)
class Relation:
    """A relationship to draft: source id, relationship type, target id, confidence."""

    source: str
    kind: str
    target: str
    confidence: int


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def _stix_type(stix_id: str) -> str:
    return stix_id.split("--", 1)[0]


def find_relations(
    text: str,
    entities: list[Entity],
    items: Mapping[tuple[str, str], _HasStixId],
    extraction: Extraction,
) -> list[Relation]:
    """Find relationships stated inside one sentence between entities and indicators already extracted."""

    def sid(e: Entity) -> str | None:
        """Return the STIX id of an entity's item, if it has one."""
        item = items.get((e.kind, e.name.lower()))
        return item.stix_id if item is not None else None

    out: dict[tuple[str, str, str], Relation] = {}

    def add(source: str | None, kind: str, target: str | None, confidence: int) -> None:
        """Record a relationship once, if both ends have ids."""
        if source and target and source != target:
            out.setdefault((source, kind, target), Relation(source, kind, target, confidence))

    cves = sorted((o for o in extraction.observables if o.kind == "cve"), key=lambda o: o.start)
    cve_starts = [o.start for o in cves]
    named = sorted((e for e in entities if e.kind != "date"), key=lambda e: e.start)
    starts = [e.start for e in named]
    for s_start, s_end in _sentences(text):
        here = named[bisect_left(starts, s_start) : bisect_left(starts, s_end)]
        if len(here) < 2 and not cves:
            continue
        for n, a in enumerate(here):
            for b in here[n + 1 :]:
                if b.start <= a.end:
                    continue
                if b.start - a.end > _MAX_GAP:
                    break  # sorted by start: every later one is farther
                between = text[a.end : b.start]
                if a.kind in _ACTORS and b.kind in _CAPABILITIES and _USES.search(between):
                    add(sid(a), "uses", sid(b), 60)
                elif a.kind in _CAPABILITIES and b.kind == "threat_actor" and _ATTRIBUTED.search(between):
                    add(sid(b), "uses", sid(a), 55)
                elif a.kind == "campaign" and b.kind == "threat_actor" and _ATTRIBUTED.search(between):
                    add(sid(a), "attributed-to", sid(b), 60)
                elif (a.kind in _ACTORS + _CAPABILITIES and b.kind in ("location", "organization")
                      and _TARGETS.search(between)):
                    add(sid(a), "targets", sid(b), 50)
        for cve in cves[bisect_left(cve_starts, s_start) : bisect_left(cve_starts, s_end)]:
            item = items.get(("cve", cve.value.lower()))
            for a in here:
                if a.end <= cve.start and cve.start - a.end <= _MAX_GAP and _EXPLOITS.search(text[a.end : cve.start]):
                    rel = "exploits" if a.kind == "malware" else "targets"
                    if a.kind in _ACTORS or a.kind == "malware":
                        add(sid(a), rel, item.stix_id if item else None, 55)
    # An indicator listed on the same line as exactly one malware or actor name indicates it.
    lines: dict[int, set[str | None]] = {}
    for o in extraction.observables:
        item = items.get((o.kind, o.value.lower() if o.kind not in ("crypto_wallet", "url") else o.value))
        if item is None or item.stix_id is None or _stix_type(item.stix_id) != "indicator":
            continue
        line_start = text.rfind("\n", 0, o.start) + 1
        on_line = lines.get(line_start)
        if on_line is None:  # once per line: a long line of many indicators and names was quadratic
            line_end = text.find("\n", o.end)
            line_end = len(text) if line_end < 0 else line_end
            on_line = {sid(e) for e in named[bisect_left(starts, line_start) : bisect_left(starts, line_end)]
                       if e.kind in ("malware", "threat_actor", "tool", "campaign")}
            on_line.discard(None)
            lines[line_start] = on_line
        if len(on_line) == 1:
            add(item.stix_id, "indicates", next(iter(on_line)), 40)
    return list(out.values())
