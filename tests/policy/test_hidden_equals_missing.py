"""Hidden equals missing, differentially: what a reader may not see changes nothing it receives.

Two hubs get the same operations by members A (the reader), B and C at the same instants; the
second also gets extra operations A may never read (writes into groups A is not in and into
other members' private collections, objects with a marking nobody defined, RED objects, versions
in other members' lines, objects whose ids A asks for later, a group A is not in, TAXII statuses of
others). Every read path of A through the HTTP app (native API with each filter and small pages,
objects by id, TAXII collections/objects/manifest/object/versions/status, the stream replay and
its resume) must answer the same status, headers and bytes on both; opaque tokens must have one
shape (see ``twins.check_token``) and following each hub's own tokens must give the same pages.

``PACTE_TWINS_EXAMPLES`` sets the number of generated histories per backend (default 6 on SQLite,
3 on PostgreSQL). Known leaks, each pinned by a strict xfail history (``KNOWN_LEAKS``) and kept out
of the generated histories (``twins.without_known_leaks``): object ownership decided by posts the
reader cannot see, and ``date_added`` pushed past a hidden batch's microseconds.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, drop_store, make_store

from .twins import (
    HIDDEN_ONLY,
    HIDDEN_VERSIONS,
    NAMES,
    T0,
    VISIBLE_VERSIONS,
    Op,
    Seen,
    Twin,
    build,
    frozen_event_times,
    observe,
    without_known_leaks,
)

# Histories per backend (each builds two hubs and reads ~250 responses from each); PACTE_TWINS_EXAMPLES overrides both.
EXAMPLES = {"sqlite": 6, "postgres": 3}
WRITES = {"A": ("community", "g-in", "private"), "B": ("community", "g-in", "g-out", "private"),
          "C": ("community", "g-out", "private")}


@st.composite
def visible_op(draw: st.DrawFn) -> Op:
    """An operation both hubs get (it may still be hidden from A, e.g. B into g-out)."""
    actor = draw(st.sampled_from(sorted(WRITES)))
    coll = draw(st.sampled_from(WRITES[actor]))
    items = draw(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(VISIBLE_VERSIONS)), min_size=1, max_size=2))
    return Op(actor, coll, tuple(items), taxii=draw(st.booleans()))


@st.composite
def extra_op(draw: st.DrawFn) -> Op:
    """An operation only the twin gets: nothing in it is ever readable by A."""
    actor = draw(st.sampled_from(("B", "C")))
    coll = draw(st.sampled_from(("community", "g-out", "g-extra", "private")))
    versions = HIDDEN_VERSIONS if coll == "community" else VISIBLE_VERSIONS + HIDDEN_VERSIONS
    names = (*NAMES, HIDDEN_ONLY)
    items = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(versions)), min_size=1, max_size=2))
    return Op(actor, coll, tuple(items), taxii=draw(st.booleans()), extra=True)


@st.composite
def extra_admin(draw: st.DrawFn) -> Op:
    """An extra operation that stores no object: a deletion, a token made and revoked, a membership change,
    a default marking change of g-out, g-extra deleted."""
    actor = draw(st.sampled_from(("B", "C")))
    kind = draw(st.sampled_from(("delete", "token", "member", "tlp", "drop")))
    coll = draw(st.sampled_from(("g-out", "g-extra", "private")))
    names = draw(st.lists(st.sampled_from((*NAMES, HIDDEN_ONLY)), min_size=1, max_size=2))
    return Op(actor, coll, tuple((n, 0) for n in names), extra=True, kind=kind)


histories = st.lists(st.one_of(visible_op(), extra_op(), extra_admin()), min_size=1, max_size=10).map(
    without_known_leaks)


def _describe(s: Seen) -> str:
    return f"{s.status} {dict(s.headers)}\n{s.body[:1500]!r}"


def assert_same(plain: list[Seen], twin: list[Seen]) -> None:
    """Assert two observation lists are equal, naming the first response that differs."""
    for a, b in zip(plain, twin, strict=False):
        assert a.label == b.label, (a.label, b.label)
        assert (a.status, a.headers, a.body) == (b.status, b.headers, b.body), (
            f"{a.label} differs:\nhub 1: {_describe(a)}\nhub 2: {_describe(b)}")
    assert len(plain) == len(twin), (len(plain), len(twin))


def run_twins(backend: str, ops: list[Op]) -> tuple[list[Seen], list[Seen]]:
    """Apply a history to a plain hub and to its twin; return what the reader observes on each."""
    with tempfile.TemporaryDirectory() as tmp, frozen_event_times():
        for sub in ("1", "2"):
            (Path(tmp) / sub).mkdir()
        stores = [make_store(backend, Path(tmp) / "1"), make_store(backend, Path(tmp) / "2")]
        try:
            twins: list[Twin] = [build(stores[0], twin=False), build(stores[1], twin=True)]
            at = T0 + timedelta(seconds=10)
            for op in ops:
                at += timedelta(microseconds=1) if op.soon else timedelta(seconds=1)
                for t in twins:
                    if t is twins[0] and op.extra:
                        continue
                    t.run(op, at)
            status_ids = [r.body.split(b'"id":"')[1].split(b'"')[0].decode() for r in twins[0].replies
                          if r.status == 202]
            seen = [[*t.replies, *observe(t, status_ids)] for t in twins]
            return seen[0], seen[1]
        finally:
            for s in stores:
                drop_store(s)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hidden_equals_missing(backend: str) -> None:
    @settings(max_examples=int(os.environ.get("PACTE_TWINS_EXAMPLES", EXAMPLES[backend])), deadline=None,
              database=None, suppress_health_check=list(HealthCheck))
    @given(ops=histories)
    def check(ops: list[Op]) -> None:
        plain, twin = run_twins(backend, ops)
        assert_same(plain, twin)

    check()


def test_the_comparison_sees_a_visible_difference() -> None:
    """The harness is not blind: an extra write A may read shows up as a difference (SQLite: no backend SQL at stake)."""
    ops = [Op("A", "community", (("ind", 1),)), Op("B", "g-in", (("ind2", 2),), extra=True)]
    plain, twin = run_twins("sqlite", ops)
    with pytest.raises(AssertionError, match="differs"):
        assert_same(plain, twin)


# The known leaks (see twins.without_known_leaks): each history below differs on the reader's reads.
# Strict: when a fix lands these pass, the xfail fails, and the generator's filter should go.
KNOWN_LEAKS = {
    "a hidden first post makes its poster the owner, whose line then displaces the others": [
        Op("C", "g-out", (("ind2", 2),), extra=True), Op("B", "community", (("ind2", 1),)),
        Op("C", "community", (("ind2", 3),))],
    "a hidden creator claim makes its producer the owner, whose line then displaces the others": [
        Op("B", "g-out", (("mal", 2),), extra=True), Op("C", "community", (("mal", 4),)),
        Op("B", "community", (("mal", 3),))],
    "shares get distinct microseconds, so a share right after a hidden batch has a later date_added": [
        Op("B", "g-out", (("ind", 1), ("ind2", 1), (HIDDEN_ONLY, 2)), extra=True),
        Op("A", "community", (("ind", 1),), soon=True)],
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hidden_first_share_places_nothing(backend: str) -> None:
    """Regression (found by this test, fixed in ca21d17): a version B shares first where A cannot see it,
    then where A can, is listed at the share A sees, after C's object shared in between."""
    ops = [Op("B", "g-out", (("ind", 1),), extra=True), Op("C", "community", (("ind2", 1),)),
           Op("B", "community", (("ind", 1),))]
    plain, twin = run_twins(backend, ops)
    assert_same(plain, twin)
    listing = next(s for s in plain if s.label.startswith("GET /api/v1/objects {'type': 'indicator'}"))
    assert listing.body.index(b'"name":"ind2 v1"') < listing.body.index(b'"name":"ind v1"')


class LeakFound(Exception):
    """The reader's responses differ between the plain hub and its twin."""


@pytest.mark.xfail(strict=True, raises=LeakFound,
                   reason="known leak: ownership and added times count hidden writes (see KNOWN_LEAKS)")
@pytest.mark.parametrize("leak", sorted(KNOWN_LEAKS))
def test_known_leak(leak: str) -> None:
    plain, twin = run_twins("sqlite", KNOWN_LEAKS[leak])  # an error here is a failure, not the expected one
    try:
        assert_same(plain, twin)
    except AssertionError as exc:
        raise LeakFound(str(exc)) from None


def test_the_filter_keeps_hidden_writes() -> None:
    """The generator's filter drops only the known-leak items: others, and every visible op, stay."""
    for ops in KNOWN_LEAKS.values():
        if any(op.soon for op in ops):
            continue  # the generator spaces operations a second apart instead (no `soon`)
        kept = without_known_leaks(ops)
        assert [o for o in kept if o.extra] == [] and kept == [o for o in ops if not o.extra]
    ops = [Op("B", "community", (("ind", 1),)), Op("C", "g-out", (("ind", 2), ("indh", 1)), extra=True),
           Op("B", "g-extra", (("ind", 1),), extra=True), Op("C", "g-out", (("ind2", 1),), extra=True, kind="delete"),
           Op("B", "g-out", (("ind", 3),), extra=True), Op("B", "community", (("ind", 3),))]
    assert without_known_leaks(ops) == ops
