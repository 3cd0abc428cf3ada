"""The checks of the crash runs catch what they look for: lost, duplicated, half-visible, stream gaps."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import orjson
from tests.durability.crashcheck import Attempt, Report, Stored, Version, check_stream, check_writes

A: Version = ("indicator--a", 2, "2024-05-01T00:00:00.001Z")
B: Version = ("indicator--b", 2, "2024-05-01T00:00:00.002Z")
C: Version = ("indicator--c", 2, "2024-05-01T00:00:00.003Z")


def _stored(rows: dict[Version, list[int]], events: dict[int, int] | None = None) -> Stored:
    vids = [v for vs in rows.values() for v in vs]
    return Stored(rows, Counter(vids), 0, Counter(events if events is not None else dict.fromkeys(vids, 1)),
                  set(), "ok")


def _listed(rows: dict[Version, list[int]]) -> Counter[tuple[str, str]]:
    return Counter({(v[0], v[2]): len(vids) for v, vids in rows.items()})


def _writes(attempts: list[Attempt], stored: Stored, listed: Counter[tuple[str, str]] | None = None) -> Report:
    rep = Report()
    run: Any = SimpleNamespace(attempts=attempts, connect_errors=0)
    check_writes(run, stored, _listed(stored.rows) if listed is None else listed, rep)
    return rep


def test_clean_run_has_no_violation() -> None:
    rows = {A: [1], B: [2]}
    rep = _writes([Attempt("api", 2, [A, B], "acked"), Attempt("taxii", 2, [C], "unknown")], _stored(rows))
    assert rep.violations == []
    assert rep.figures["lost"] == rep.figures["duplicated"] == rep.figures["half-visible bundles"] == 0
    assert rep.figures["  not sent again: fully stored / fully absent"] == "0 / 1"


def test_lost_duplicated_and_half_visible_are_violations() -> None:
    rows = {A: [1, 7], C: [3]}  # A twice, B lost, C alone of its bundle
    attempts = [Attempt("api", 2, [A, B], "acked"), Attempt("taxii", 2, [C, ("indicator--d", 2, "x")], "unknown")]
    rep = _writes(attempts, _stored(rows))
    f = rep.figures
    assert (f["lost"], f["duplicated"], f["half-visible bundles"]) == (1, 1, 1)
    assert len(rep.violations) == 3


def test_missing_event_api_disagreement_and_orphans_are_violations() -> None:
    rows = {A: [1], B: [2]}
    rep = _writes([Attempt("api", 2, [A], "acked")], _stored(rows, events={1: 0}), listed=Counter())
    f = rep.figures
    assert f["versions without exactly one share and event"] == 1
    assert f["API listing disagrees with store"] == 1
    assert f["stored but never sent"] == 1


def _row(eid: int, oid: str) -> Any:
    return SimpleNamespace(eid=eid, kind="object", object_id=oid, doc=orjson.dumps({"modified": "m"}).decode())


def _stream(received: list[int], expected: list[int]) -> Report:
    rep = Report()
    run: Any = SimpleNamespace(reader_org=1, stream_errors=[], attempts=[], connections=1,
                               received=[(f"t{e}", "object", f"indicator--{e}", "m") for e in received])
    opener = SimpleNamespace(open=lambda token: int(token[1:]))
    hub: Any = SimpleNamespace(positions=SimpleNamespace(reader=lambda surface, org: opener))
    check_stream(run, hub, [_row(e, f"indicator--{e}") for e in expected], rep)
    return rep


def test_stream_exact_passes_and_gaps_duplicates_disorder_fail() -> None:
    assert _stream([1, 2, 3], [1, 2, 3]).violations == []
    f = _stream([1, 3, 3, 2], [1, 2, 3, 4]).figures
    assert (f["stream duplicates"], f["stream out of order"], f["stream missing"]) == (1, 2, 1)
    assert f["versions streamed twice"] == 1
