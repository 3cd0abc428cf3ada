"""One member's ledger: its own figures in full, the community's in aggregates that hide what it may not read.

Every figure comes from the store's ledger reads (:mod:`pacte.store.ledger`), which are either the
member's own activity or policy-bound (the first share that shows a version to the member, sightings
it may read), plus the recorded reads of the member itself and of its own objects. Why no figure can
reveal an object the member may not read:

* ``contributed``, ``sightings_given``, ``consumed``: the member's own shares, own sighting versions
  (``of_others`` only counts sighted objects with a line of another member that it may read) and
  the objects it was itself handed, which are objects it may read;
* ``value.read_by``: reads of the member's own objects by others (their reads of anything else are
  never selected); ``value.sighted_by``: sightings of its objects that it may read;
  ``value.anonymous``: anonymous sightings of its readable lines, counted and never attributed, as
  every reader of an object counts them (:mod:`pacte.correlate.counts`);
* ``community``: other members' versions and sightings, each counted once at the first share that
  shows it to the member (``policy.clauses.first_shown``), so a share, a version or a sighting it may
  not see is never selected, and one it may see is dated by what it saw; and reads of the member's
  own objects. Reads by others of anything else are never part of the answer: a count of reads
  cannot tell readable objects from hidden ones without recording every object, so others'
  consumption is shown only as reads of the member's own objects.

No figure of a single other member unless it opted in (``ledger_opt_in``): opted-in members are
listed by name; every figure summed over the others (``community.others``, ``value.read_by``,
``value.sighted_by``) is withheld (``null``) unless the non-opted members behind it number 0 or at
least :data:`K`. Summing opted-in members apart keeps subtraction from isolating one member; a
breakdown (``by_tlp``, ``by_audience``) is published only if each of its non-zero cells has at least
:data:`K` members, so no cell can be subtracted from a published total either.

``value.correlated_by``: other members' observables and indicators first shown to the member in the period
that hold a value one of the member's own objects holds (same values only), summed like the others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from pacte.correlate.benign import is_benign
from pacte.ledger.periods import Period, Span, day_key, label_of, spans
from pacte.stix.markings import Tlp
from pacte.stix.values import keys_of
from pacte.store.base import Store
from pacte.store.ledger import CHANNELS, ShareCount, SightingFact

K = 3  # the least number of members an aggregate over non-opted-in members may cover (or none)


def tlp_label(level: int) -> str:
    """Return the TLP label of a stored level (``TLP:UNKNOWN`` for an unresolved marking)."""
    try:
        return Tlp(level).label
    except ValueError:
        return "TLP:UNKNOWN"


@dataclass
class _Shares:
    """Shares of one member in one period: versions, shares, per level and per kind of audience."""

    objects: int = 0
    shares: int = 0
    by_tlp: Counter[str] = field(default_factory=Counter)
    by_audience: Counter[str] = field(default_factory=Counter)

    def add(self, row: ShareCount) -> None:
        """Count one grouped row."""
        self.shares += row.n
        self.objects += row.n if row.first else 0
        self.by_tlp[tlp_label(row.tlp)] += row.n
        self.by_audience[row.kind] += row.n


@dataclass
class _Sightings:
    """Sighting versions in one period, the latest of each line kept."""

    latest: dict[tuple[str, int], SightingFact] = field(default_factory=dict)

    def add(self, fact: SightingFact) -> None:
        """Keep the latest version of the fact's sighting line (a recount counts once)."""
        key = (fact.id, fact.producer)
        if key not in self.latest or fact.vkey > self.latest[key].vkey:
            self.latest[key] = fact

    def facts(self) -> list[SightingFact]:
        """Return the latest version of each line."""
        return list(self.latest.values())


def _counts(facts: Iterable[SightingFact]) -> dict[str, int]:
    out = {"sightings": 0, "seen": 0, "false_positive": 0}
    for f in facts:
        out["sightings"] += 1
        out["seen" if f.kind == "seen" else "false_positive"] += f.n
    return out


def publishable(members: int) -> bool:
    """Return True if a sum over this many non-opted-in members may be shown (none, or at least K)."""
    return members == 0 or members >= K


def _breakdown(cells: dict[str, set[int]], counts: Counter[str]) -> dict[str, int] | None:
    """Return the cell counts if each non-zero cell covers at least K members, else None."""
    if any(len(members) < K for members in cells.values()):
        return None
    return dict(sorted(counts.items()))


def _others_shares(per_member: dict[int, _Shares]) -> dict[str, Any] | None:
    members = [s for s in per_member.values() if s.objects]
    if not publishable(len(members)):
        return None
    tlp_cells: dict[str, set[int]] = defaultdict(set)
    kind_cells: dict[str, set[int]] = defaultdict(set)
    by_tlp: Counter[str] = Counter()
    by_audience: Counter[str] = Counter()
    for pid, s in per_member.items():
        for label, n in s.by_tlp.items():
            tlp_cells[label].add(pid)
            by_tlp[label] += n
        for kind, n in s.by_audience.items():
            kind_cells[kind].add(pid)
            by_audience[kind] += n
    return {"members": len(members), "objects": sum(s.objects for s in members),
            "by_tlp": _breakdown(tlp_cells, by_tlp), "by_audience": _breakdown(kind_cells, by_audience)}


def _sum_over(per_member: dict[int, dict[str, int]], opted: set[int], key: str,
              names: Sequence[str] = ("sightings", "seen", "false_positive")) -> dict[str, int] | None:
    """Return totals over the members active in ``key`` (and how many), withheld unless the non-opted are 0 or >= K."""
    active = {p: c for p, c in per_member.items() if c.get(key)}
    if not publishable(len([p for p in active if p not in opted])):
        return None
    out: dict[str, int] = {"members": len(active), **dict.fromkeys(names, 0)}
    for c in per_member.values():
        for name, n in c.items():
            out[name] = out.get(name, 0) + (n if c.get(key) else 0)
    return out


class _Period:
    """Accumulators of one period of one member's ledger."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.contributed = _Shares()
        self.given = _Sightings()
        self.consumed: Counter[str] = Counter()
        self.consumed_of_others = 0
        self.read_by: dict[int, int] = defaultdict(int)  # reads of the member's objects per other reader
        self.shown: dict[int, _Shares] = defaultdict(_Shares)
        self.sightings: dict[int, _Sightings] = defaultdict(_Sightings)
        self.anonymous = _Sightings()
        self.correlated: dict[int, set[str]] = defaultdict(set)  # others' objects sharing a value with the member's

    def view(self, member: int, opted: Sequence[tuple[int, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return (own figures, community figures) of this period as JSON-ready dicts."""
        given = self.given.facts()
        head = {"period": self.span.label, "from": self.span.first.isoformat(), "to": self.span.last.isoformat()}
        sighted = {p: _counts(f for f in s.facts() if f.flag) for p, s in self.sightings.items()}
        opted_ids = {p for p, _ in opted}
        anonymous = _counts(self.anonymous.facts())
        own = {**head,
               "contributed": {"objects": self.contributed.objects, "shares": self.contributed.shares,
                               "by_tlp": dict(sorted(self.contributed.by_tlp.items())),
                               "by_audience": dict(sorted(self.contributed.by_audience.items()))},
               "sightings_given": {**_counts(given), "anonymous": sum(1 for f in given if f.anonymous),
                                   "of_others": sum(1 for f in given if f.flag)},
               "consumed": {"objects": sum(self.consumed.values()), "of_others": self.consumed_of_others,
                            "by_channel": {c: self.consumed[c] for c in CHANNELS}},
               "value": {"read_by": _sum_over({r: {"reads": n} for r, n in self.read_by.items()}, opted_ids, "reads",
                                              ("reads",)),
                         "sighted_by": _sum_over(sighted, opted_ids, "sightings"),
                         "correlated_by": _sum_over({p: {"objects": len(ids)} for p, ids in self.correlated.items()},
                                                    opted_ids, "objects", ("objects",)),
                         "anonymous": {"seen": anonymous["seen"], "false_positive": anonymous["false_positive"]}}}
        others = {p: s for p, s in self.shown.items() if p not in opted_ids}
        others_sightings = {p: _counts(s.facts()) for p, s in self.sightings.items() if p not in opted_ids}
        members = []
        for pid, name in opted:
            s = self.shown.get(pid, _Shares())
            members.append({"name": name,
                            "contributed": {"objects": s.objects, "by_tlp": dict(sorted(s.by_tlp.items())),
                                            "by_audience": dict(sorted(s.by_audience.items()))},
                            "sightings_given": _counts(self.sightings[pid].facts()) if pid in self.sightings
                            else _counts(()),
                            "read_yours": self.read_by.get(pid, 0),
                            "correlated_with_yours": len(self.correlated.get(pid, ()))})
        community = {**head, "others": {"contributed": _others_shares(others),
                                        "sightings_given": _sum_over(others_sightings, set(), "sightings")},
                     "opted_in": members}
        return own, community


def _correlated(store: Store, member: int, lo: str, hi: str, at: Callable[[str], _Period]) -> None:
    """Count, per period and producer, other members' objects shown to ``member`` holding a value its own objects hold.

    Same values only (the value index's exact keys, benign ones left out): the probes of correlation
    ranges are per object, and a ledger-wide count would probe every object of the member.
    """
    shown = [(day, producer, oid, keys_of(orjson.loads(doc))) for day, producer, oid, doc
             in store.shown_values(member, lo, hi)]
    wanted = sorted({k for *_, keys in shown for k in keys if not is_benign(k)})
    if not wanted:
        return
    held = set(store.present(member, wanted, producer=member))
    for day, producer, oid, keys in shown:
        if held.intersection(keys):
            at(day).correlated[producer].add(oid)


def ledger(store: Store, member: int, period: Period, since: date, until: date) -> dict[str, Any]:
    """Return the ledger of ``member`` over the days [since, until], per period, as a JSON-ready dict."""
    periods = {s.label: _Period(s) for s in spans(period, since, until)}
    lo, hi = day_key(since), day_key(until.fromordinal(until.toordinal() + 1))

    def at(day: str) -> _Period:
        return periods[label_of(date.fromisoformat(day), period)]

    for row in store.contributions(member, lo, hi):
        at(row.day).contributed.add(row)
    for fact in store.given_sightings(member, lo, hi):
        at(fact.day).given.add(fact)
    for row in store.shown_shares(member, lo, hi):
        at(row.day).shown[row.producer].add(row)
    for fact in store.shown_sightings(member, lo, hi):
        at(fact.day).sightings[fact.producer].add(fact)
    for fact in store.anonymous_sightings(member, lo, hi):
        at(fact.day).anonymous.add(fact)
    _correlated(store, member, lo, hi, at)
    for read in store.ledger_reads(member, since.isoformat(), until.isoformat()):
        p = at(read.day)
        if read.reader == member:
            p.consumed[read.channel] += read.n
            p.consumed_of_others += read.n if read.producer != member else 0
        else:
            p.read_by[read.reader] += read.n
    names = {o.org_id: o.name for o in store.list_orgs()}
    opted = sorted(((p, names[p]) for p in store.ledger_opt_ins() if p != member and p in names),
                   key=lambda x: x[1])
    own, community = [], []
    for p in periods.values():
        mine, theirs = p.view(member, opted)
        own.append(mine)
        community.append(theirs)
    return {"period": period, "since": since.isoformat(), "until": until.isoformat(), "k": K,
            "member": {"name": names.get(member), "opted_in": member in store.ledger_opt_ins(), "periods": own},
            "community": {"periods": community}}
