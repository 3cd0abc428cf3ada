"""A version shared first where a reader cannot see it is placed and dated by the shares the reader sees.

Two hubs get the same visible writes at the same instants; the second also gets, before them, shares of
the same versions into a group the reader is not in. The reader's native listing (every page, every
version selector), its export, its reads by id (versions in order) and the store's ``added_after`` and
added times must be the same on both: the hidden shares change nothing the reader gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from conftest import drop_store, make_store
from helpers import Member, SpreadIds, add_member, sdo
from pacte.api.app import create_app
from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.clock import FrozenClock
from pacte.store.base import Collection, ObjectQuery

T0 = datetime(2026, 2, 1, 9, 0, 0, tzinfo=UTC)


@dataclass
class Side:
    """One of the two hubs: reader A, members B and C, group BC (without A)."""

    hub: Hub
    clock: FrozenClock
    client: TestClient
    members: dict[str, Member]
    group: Collection

    def share(self, who: str, coll: str, *objects: dict[str, Any], at: int) -> None:
        """Share objects as a member into ``community`` or ``BC`` at ``at`` seconds after the start."""
        self.clock.current = T0 + timedelta(seconds=at)
        target = self.group if coll == "BC" else self.hub.community
        report = self.hub.share_as(self.members[who].org, target, list(objects))
        assert report.failures == 0, report.outcomes


def _side(store: Any) -> Side:
    clock = FrozenClock(T0)
    hub = Hub(store, Settings(), clock=clock, ids=SpreadIds())
    members = {name: add_member(hub, name, "FR") for name in ("A", "B", "C")}
    group = m.add_group(hub.store, hub.ids, clock, "BC", [members["B"].org, members["C"].org])
    return Side(hub, clock, TestClient(create_app(hub)), members, group)


@pytest.fixture
def sides(backend: str, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    """A plain hub and its twin, on the current backend."""
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    stores = [make_store(backend, tmp_path / "1"), make_store(backend, tmp_path / "2")]
    try:
        yield _side(stores[0]), _side(stores[1])
    finally:
        for s in stores:
            drop_store(s)


X1, X2 = sdo("indicator", "x", 1), sdo("indicator", "x", 2)
Y = sdo("indicator", "y", 1)
Z = sdo("malware", "z", 1)


def _history(plain: Side, twin: Side) -> None:
    """B shares X v1 and X v2 into BC on the twin only, then the same visible writes on both."""
    twin.share("B", "BC", X2, Z, at=10)  # hidden from A: X v2 and Z before anything A sees
    twin.share("B", "BC", X1, at=11)
    for side in (plain, twin):
        side.share("C", "community", Y, at=20)
        side.share("B", "community", X1, at=21)
        side.share("B", "community", Z, at=22)
        side.share("B", "community", X2, at=23)


def _pages(side: Side, reader: str, **params: Any) -> list[tuple[bool, list[dict[str, Any]]]]:
    """Return every page (more, objects) of the reader's native listing, following its own cursors."""
    headers = side.members[reader].auth()
    out: list[tuple[bool, list[dict[str, Any]]]] = []
    cursor: str | None = None
    for _ in range(50):
        r = side.client.get("/api/v1/objects", params={**params, **({"cursor": cursor} if cursor else {})},
                            headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        out.append((body["more"], body["objects"]))
        if not body["more"]:
            return out
        cursor = body["next"]
    raise AssertionError("more than 50 pages")


def _observe(side: Side, reader: str) -> dict[str, Any]:
    """Return what a reader gets: listings, export, reads by id, added times and added_after results."""
    org = side.members[reader].org
    hub, store = side.hub, side.hub.store
    out: dict[str, Any] = {}
    for versions in ("all", "last", "first"):
        for limit in (1, 2, 100):
            out[f"list {versions} {limit}"] = _pages(side, reader, versions=versions, limit=limit)
        out[f"indicators {versions}"] = _pages(side, reader, versions=versions, type="indicator", limit=1)
        out[f"export {versions}"] = [o.doc for o in hub.export(org, versions=versions)]
    for oid in (X1["id"], Y["id"], Z["id"]):
        out[f"by id {oid}"] = [(o.doc, o.added) for o in hub.get_object(org, oid, "all")]
    rows = store.query(ObjectQuery(reader=org.org_id, versions="all", limit=1000)).items
    out["added"] = [(o.id, o.vkey, o.added) for o in rows]
    for o in rows:
        after = store.query(ObjectQuery(reader=org.org_id, versions="all", added_after=o.added, limit=1000)).items
        out[f"added_after {o.added}"] = [(a.id, a.vkey, a.added) for a in after]
        out[f"count after {o.added}"] = store.count(ObjectQuery(reader=org.org_id, versions="all",
                                                                added_after=o.added))
    return out


def test_hidden_first_shares_change_nothing_the_reader_gets(sides: tuple[Side, Side]) -> None:
    plain, twin = sides
    _history(plain, twin)
    seen = _observe(plain, "A")
    assert _observe(twin, "A") == seen
    # the plain hub's order is the order of the visible shares: Y, then X v1, Z, X v2
    names = [o["name"] for _, objs in seen["list all 100"] for o in objs if o["type"] != "identity"]
    assert names == ["y v1", "x v1", "z v1", "x v2"]
    by_id = seen[f"by id {X1['id']}"]  # versions of one id in the order of their visible shares
    assert [orjson.loads(doc)["name"] for doc, _ in by_id] == ["x v1", "x v2"]
    assert [a for _, a in by_id] == ["2026-02-01T09:00:21.000000000Z", "2026-02-01T09:00:23.000000000Z"]
    assert seen["added"][-4][2] == "2026-02-01T09:00:20.000000000Z"  # Y, at its own share


def test_the_producer_and_a_group_member_still_see_their_first_shares(sides: tuple[Side, Side]) -> None:
    """Who may see the first share gets the version there: B (its producer) and C (in BC)."""
    plain, twin = sides
    _history(plain, twin)
    for reader in ("B", "C"):
        names = [o["name"] for _, objs in _pages(twin, reader, versions="all", limit=100) for o in objs
                 if o["type"] != "identity"]
        assert names == ["x v2", "z v1", "x v1", "y v1"], reader
        org = twin.members[reader].org
        added = {orjson.loads(o.doc)["name"]: o.added for o in twin.hub.store.query(
            ObjectQuery(reader=org.org_id, versions="all", limit=100)).items}
        assert added["x v2"] == "2026-02-01T09:00:10.000000000Z" and added["x v1"] == "2026-02-01T09:00:11.000000000Z"


def test_a_version_withdrawn_everywhere_is_read_by_nobody(sides: tuple[Side, Side]) -> None:
    """The producer's read of its own version needs a share of it (every read path is placed by one)."""
    plain, _ = sides
    plain.share("B", "community", X1, at=5)
    b = plain.members["B"]
    assert [o.id for o in plain.hub.get_object(b.org, X1["id"])] == [X1["id"]]
    assert plain.hub.store.remove_shares(plain.hub.community.cid, b.org.org_id, X1["id"],
                                         [plain.hub.store.query(ObjectQuery(reader=b.org.org_id, ids=[X1["id"]]))
                                          .items[0].vkey]) == 1
    for reader in ("A", "B"):
        org = plain.members[reader].org
        assert plain.hub.store.count(ObjectQuery(reader=org.org_id, ids=[X1["id"]], versions="all")) == 0
        assert not [o for o in plain.hub.export(org) if o.id == X1["id"]]
