"""Sighting counts and scores per reader: what the reader may see of an object's sharers and sightings.

Inputs come from the store's policy-bound reads (``line_activity``, ``sightings_of``): readable lines,
readable sightings, and the anonymous sightings addressed to the reader as producer of the sighted
object. An anonymous sighting is counted (seen or false positive, and how often) but never attributed
nor dated: together they add at most one independent source to a score, so the number of sources never
tells whether an anonymous sighter is also one of the members the reader sees, and they move no first
or last time (nor the decay of a score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from pacte.correlate.score import ScoreInputs, kind_of_pattern, score
from pacte.stix.extension import DEFAULT_GRADING, Grading, grading_from_doc
from pacte.stix.timestamps import normalize
from pacte.store.base import Store, StoredObject
from pacte.store.correlations import SightingSeen


@dataclass(slots=True)
class Tally:
    """One object's activity as one reader may see it."""

    producers: set[int] = field(default_factory=set)  # readable lines' producers (never shown)
    sighters: set[int] = field(default_factory=set)  # readable sightings' producers (never shown)
    seen: int = 0
    false_positive: int = 0
    anonymous_seen: int = 0
    anonymous_false_positive: int = 0
    first: str | None = None  # store time keys
    last: str | None = None

    def touch(self, when: str | None) -> None:
        """Extend the first/last activity with one time key."""
        if when is None:
            return
        self.first = when if self.first is None or when < self.first else self.first
        self.last = when if self.last is None or when > self.last else self.last

    def sightings(self) -> dict[str, Any]:
        """Return the sighting counts as JSON-ready dict (anonymous counts only when there are any)."""
        out: dict[str, Any] = {"seen": self.seen, "false_positive": self.false_positive,
                               "sighters": len(self.sighters)}
        if self.anonymous_seen or self.anonymous_false_positive:
            out["anonymous"] = {"seen": self.anonymous_seen, "false_positive": self.anonymous_false_positive}
        return out

    @property
    def sources(self) -> int:
        """Return the independent members behind the object as the reader may count them."""
        return len(self.producers | self.sighters) + (1 if self.anonymous_seen else 0)


def _latest(rows: Sequence[SightingSeen]) -> list[SightingSeen]:
    """Keep the latest readable version of each sighting line (a sighting updated with a new count counts once)."""
    best: dict[tuple[str, int, bool], SightingSeen] = {}
    for r in rows:
        key = (r.sighting_id, r.producer, r.anonymous)
        if key not in best or r.vkey > best[key].vkey:
            best[key] = r
    return list(best.values())


def tallies(store: Store, reader: int, ids: Sequence[str]) -> dict[str, Tally]:
    """Return each object's tally for ``reader`` (ids it may not read get an empty tally)."""
    out = {i: Tally() for i in ids}
    for line in store.line_activity(reader, ids):
        t = out[line.id]
        t.producers.add(line.producer)
        t.touch(line.first)
        t.touch(line.last)
    for s in _latest(store.sightings_of(reader, ids)):
        if s.target not in out:
            continue
        t = out[s.target]
        if s.anonymous:  # how often, never when (nor by whom): its times move nothing the producer reads
            if s.kind == "seen":
                t.anonymous_seen += s.n
            else:
                t.anonymous_false_positive += s.n
            continue
        t.sighters.add(s.producer)
        if s.kind == "seen":
            t.seen += s.n
        else:
            t.false_positive += s.n
        t.touch(s.added)
        t.touch(normalize(s.last_seen) if s.last_seen else None)
    return out


Facts = dict[tuple[str, str, int], "tuple[Grading, int | None, str] | None"]  # one hub's score facts per version
_FACTS_MAX = 100_000


def score_of(item: StoredObject, tally: Tally, now: datetime, facts: Facts) -> int | None:
    """Return the score of an indicator version for the reader whose tally this is (None: not an indicator).

    ``facts`` is the hub's own memory of what each version says (kept per hub: versions of two hubs in one
    process may share an id, a version and a producer number).
    """
    if tally.last is None:
        return None
    found = _facts(item, facts)
    if found is None:
        return None
    grading, confidence, kind = found
    return score(ScoreInputs(
        sources=max(tally.sources, 1), false_positives=tally.false_positive + tally.anonymous_false_positive,
        grading=grading, confidence=confidence, kind=kind, last_activity=_when(tally.last)), now)


def _facts(item: StoredObject, facts: Facts) -> tuple[Grading, int | None, str] | None:
    """Return what a version's score depends on in the version itself (grading, confidence, kind), kept per version.

    A version never changes, so a feed polled again does not parse its indicators again.
    """
    key = (item.id, item.vkey, item.producer)
    if key in facts:
        return facts[key]
    obj = orjson.loads(item.doc)
    found: tuple[Grading, int | None, str] | None = None
    if obj.get("type") == "indicator":
        pattern, confidence = obj.get("pattern"), obj.get("confidence")
        found = (grading_from_doc(item.doc) or DEFAULT_GRADING,
                 confidence if type(confidence) is int and 0 <= confidence <= 100 else None,
                 kind_of_pattern(pattern) if isinstance(pattern, str) else "other")
    if len(facts) >= _FACTS_MAX:
        facts.clear()
    facts[key] = found
    return found


@lru_cache(maxsize=4096)
def _when(key: str) -> datetime:
    """Return the UTC time of a store time key (many items of a page share one: a write's shares have one time)."""
    return datetime.fromisoformat(key[:26]).replace(tzinfo=UTC)
