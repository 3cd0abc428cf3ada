"""Correlations and value search: which objects a reader may read hold a value, or a value linked to it, and why.

A source (an object's correlation keys, or the keys of a value a user typed) is expanded into probes
(:mod:`pacte.correlate.probes`: the same value, an address inside a network, a subdomain, the domain of a
URL...); each probe is one policy-bound read of the value index (``Store.probe``), so nothing the reader
may not read is ever a match, a reason or a count. A probe that matches more than ``limit`` objects the
reader may read is reported as noisy and not expanded; a benign value (``pacte.correlate.benign``) is
never probed and never matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pacte.correlate.benign import is_benign
from pacte.correlate.probes import Probe, probes, reason_for
from pacte.stix.values import display
from pacte.store.base import Store


@dataclass(frozen=True, slots=True)
class Filters:
    """What narrows the objects a probe may match (all optional)."""

    types: Sequence[str] = ()
    producer: int | None = None
    collection: int | None = None
    seen_after: str | None = None  # store time keys: a share shown to the reader in [seen_after, seen_before)
    seen_before: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """Why one object matched: the source value, the value the object holds, and the relation between them."""

    value: str
    matched: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """Return the match as JSON-ready dict."""
        return {"value": self.value, "matched": self.matched, "reason": self.reason}


@dataclass(slots=True)
class Linked:
    """One object the reader may read that a source correlates with, with every reason found."""

    id: str
    type: str
    matches: list[Match] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Noisy:
    """A probe that matched more than the limit: reported, not expanded."""

    value: str
    reason: str
    limit: int

    def as_dict(self) -> dict[str, str | int]:
        """Return the flag as JSON-ready dict."""
        return {"value": self.value, "reason": self.reason, "more_than": self.limit}


@dataclass(slots=True)
class Links:
    """The objects linked to a source for one reader, in a stable order, and the noisy probes."""

    items: list[Linked] = field(default_factory=list)
    noisy: list[Noisy] = field(default_factory=list)


def find(store: Store, reader: int, keys: Iterable[str], limit: int, exclude_id: str | None = None,
         filters: Filters = Filters(), holders_of_benign: bool = False) -> Links:
    """Return the objects ``reader`` may read that hold one of ``keys`` or a value linked to one.

    ``holders_of_benign``: a benign key still finds the objects holding exactly it (a search for 8.8.8.8
    lists them), never a linked value; without it a benign key finds nothing (it is never correlated).
    """
    found: dict[str, Linked] = {}
    noisy: list[Noisy] = []
    for key in sorted(set(keys)):
        shown = display(key)
        plan = probes(key)  # none for a benign key; benign exact keys are not among them
        if not plan and holders_of_benign and is_benign(key):
            plan = [Probe(key, "same-value")]
        exact = [p.key for p in plan if p.upper is None]
        # one policy-bound look-up tells which exact probes hold anything the reader may read (an address
        # makes up to 114 of them, nearly all empty); only those are read one by one, with their limit
        present = set(store.present(reader, exact, exclude_id, filters.types, filters.producer, filters.collection,
                                    filters.seen_after, filters.seen_before)) if exact else set()
        for probe in plan:
            if probe.upper is None and probe.key not in present:
                continue
            rows = store.probe(reader, probe.key, probe.upper, limit + 1, exclude_id, filters.types,
                               filters.producer, filters.collection, filters.seen_after, filters.seen_before)
            labelled = [(r, probe.reason if probe.upper is None else reason_for(key, r.key)) for r in rows]
            hits = [(r, why) for r, why in labelled if why is not None and (r.key == key or not is_benign(r.key))]
            if len(hits) > limit:
                noisy.append(Noisy(shown, probe.reason, limit))
                continue
            for row, why in hits:
                linked = found.get(row.id)
                if linked is None:
                    linked = found[row.id] = Linked(row.id, row.type)
                match = Match(shown, display(row.key), why)
                if match not in linked.matches:
                    linked.matches.append(match)
    return Links(sorted(found.values(), key=lambda x: (x.type, x.id)), noisy)
