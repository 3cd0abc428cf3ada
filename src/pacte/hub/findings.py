"""What the hub finds for a reader: correlations of an object, value search, sighting counts and scores.

Everything here starts from the store's policy-bound reads (``pacte.correlate``), so a result, a count,
a reason or a score never reflects an object the reader may not read (anonymous sightings reach the
producer of the sighted object as counts only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pacte.correlate.counts import Facts, Tally, score_of, tallies
from pacte.correlate.links import Filters, Links, Match, find
from pacte.errors import Detail, InvalidInput
from pacte.stix.extension import with_score
from pacte.stix.timestamps import format_dt, parse
from pacte.stix.values import keys_for_value, keys_of
from pacte.store.base import ObjectQuery, Store, StoredObject

_SCORED = ("indicator",)


@dataclass(frozen=True, slots=True)
class Hit:
    """One object a value search found for its reader."""

    id: str
    type: str
    matches: list[Match]
    obj: StoredObject  # the reader's version, scored
    score: int | None
    tally: Tally

    def as_dict(self) -> dict[str, Any]:
        """Return the hit as JSON-ready dict (the object itself included)."""
        return {"id": self.id, "type": self.type, "score": self.score, "matches": [m.as_dict() for m in self.matches],
                **seen_span(self.tally), "sightings": self.tally.sightings(), "object": orjson.loads(self.obj.doc)}


def seen_span(tally: Tally) -> dict[str, str | None]:
    """Return the first and last time the reader saw activity on an object, as STIX timestamps."""
    return {"first_seen": format_dt(parse(tally.first)) if tally.first else None,
            "last_seen": format_dt(parse(tally.last)) if tally.last else None}


def latest_of(store: Store, reader: int, ids: Sequence[str]) -> dict[str, StoredObject]:
    """Return the version each id's reader gets (its line's latest), for the ids it may read."""
    out: dict[str, StoredObject] = {}
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), 500):
        for item in store.query(ObjectQuery(reader=reader, ids=ordered[i:i + 500], limit=10_000)).items:
            out[item.id] = item
    return out


def correlations(store: Store, reader: int, item: StoredObject, limit: int) -> Links:
    """Return the objects linked to the reader's version of one object."""
    return find(store, reader, keys_of(orjson.loads(item.doc)), limit, exclude_id=item.id)


def search(store: Store, reader: int, value: str, filters: Filters, limit: int, now: datetime, facts: Facts,
           min_score: int | None = None, max_score: int | None = None) -> tuple[list[Hit], Links]:
    """Return every object the reader may read holding ``value`` or a value linked to it, newest activity first."""
    keys = keys_for_value(value)
    if not keys:
        raise InvalidInput("nothing to search for", [Detail(
            reason="not an IP address or network, domain, URL, e-mail address or file hash", field="value")])
    links = find(store, reader, keys, limit, filters=filters, holders_of_benign=True)
    ids = [x.id for x in links.items]
    docs = latest_of(store, reader, ids)
    counts = tallies(store, reader, ids)
    hits: list[Hit] = []
    for x in links.items:
        item = docs.get(x.id)
        if item is None:  # filters matched an older version the reader reads, not the one it gets: still a hit
            continue
        score = score_of(item, counts[x.id], now, facts) if x.type in _SCORED else None
        if (min_score is not None or max_score is not None) and score is None:
            continue
        if (min_score is not None and score is not None and score < min_score) or (
                max_score is not None and score is not None and score > max_score):
            continue
        shown = _with_doc(item, with_score(item.doc, score)) if score is not None else item
        hits.append(Hit(x.id, x.type, x.matches, shown, score, counts[x.id]))
    hits.sort(key=lambda h: (h.tally.last or "", h.id), reverse=True)
    return hits, links


def _with_doc(item: StoredObject, doc: str) -> StoredObject:
    """Return the item serving another JSON (built directly: ``dataclasses.replace`` costs 10 µs an item)."""
    return StoredObject(item.seq, item.id, item.type, item.vkey, item.modified, item.added, doc, item.producer)


def scored(store: Store, reader: int, items: list[StoredObject], now: datetime, facts: Facts) -> list[StoredObject]:
    """Return the items with each indicator's score for this reader in its extension (others unchanged)."""
    ids = [i.id for i in items if i.type in _SCORED]
    if not ids:
        return items
    counts = tallies(store, reader, ids)
    out: list[StoredObject] = []
    for item in items:
        if item.type in _SCORED:
            score = score_of(item, counts[item.id], now, facts)
            if score is not None:
                item = _with_doc(item, with_score(item.doc, score))
        out.append(item)
    return out
