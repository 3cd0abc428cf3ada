"""Batches: duplicates inside one batch, and a sharing group re-created under a deleted one's name."""

from __future__ import annotations

import pytest

from helpers import add_member, sdo
from pacte.errors import NotFound
from pacte.hub import Hub
from pacte.hub import members as m


def test_duplicates_inside_one_batch(hub: Hub) -> None:
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    x = sdo("threat-actor", "dup", 1)
    changed = {**x, "description": "other content, same modified"}
    report = hub.share_as(alpha.org, hub.community, [x, changed, dict(x)])
    assert [(o.index, o.ok, o.code, o.field) for o in report.outcomes] == [
        (0, True, None, None), (1, False, "policy_refused", "modified"), (2, True, None, None)]
    assert [v.doc for v in hub.get_object(bravo.org, x["id"], "all")] == [hub.get_object(alpha.org, x["id"])[0].doc]
    assert "other content" not in hub.get_object(bravo.org, x["id"])[0].doc


def test_group_recreated_under_a_deleted_name_does_not_inherit_its_objects(hub: Hub) -> None:
    alpha, bravo, charlie = (add_member(hub, n) for n in ("Alpha", "Bravo", "Charlie"))
    old = m.add_group(hub.store, hub.ids, hub.clock, "G", [alpha.org, bravo.org])
    y = sdo("threat-actor", "in-old-group", 1)
    assert hub.share_as(alpha.org, old, [y]).successes == 1
    hub.store.delete_collection(old.cid)
    new = m.add_group(hub.store, hub.ids, hub.clock, "G", [alpha.org, bravo.org, charlie.org])
    assert new.cid != old.cid
    for member in (bravo, charlie):
        with pytest.raises(NotFound):
            hub.get_object(member.org, y["id"])
    assert hub.get_object(alpha.org, y["id"])  # the producer still reads it
    assert hub.store.collection_by_name("G") == new
