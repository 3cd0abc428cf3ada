"""The event log in the store: written in the write's own transaction, ordered, pruned without rewinding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpers import TLP2, sdo
from pacte.hub import Hub
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_group, add_org, new_token
from pacte.policy import Role
from pacte.stix.markings import Tlp
from pacte.stix.timestamps import format_dt, format_key, normalize
from pacte.store.base import VersionRow
from pacte.store.events import EventQuery


def _kinds(hub: Hub, after: int) -> list[tuple[int, str]]:
    rows = hub.store._all("SELECT eid, kind FROM events WHERE eid > ? ORDER BY eid", (after,))  # type: ignore[attr-defined]
    return [(int(r[0]), r[1]) for r in rows]


def test_every_accepted_write_logs_its_events(hub: Hub) -> None:
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    beta = add_org(hub.store, hub.ids, hub.clock, "Beta", "DE")
    token, _ = new_token(hub.store, RandomIds(), hub.clock, beta, Role.READER, None)
    start = hub.store.event_head()
    group = add_group(hub.store, hub.ids, hub.clock, "g1", [alpha])
    hub.share_as(alpha, hub.community, [sdo("indicator", f"e{i}", markings=[TLP2["green"]]) for i in range(3)])
    hub.share_as(alpha, hub.community, [sdo("indicator", "e0", markings=[TLP2["green"]])])  # already shared: no event
    assert hub.store.add_member(group.cid, beta.org_id)
    assert not hub.store.add_member(group.cid, beta.org_id)  # no change, no event
    assert hub.store.remove_member(group.cid, beta.org_id)
    assert hub.store.revoke_token(token.token_id, format_dt(hub.clock.now()))
    hub.store.set_default_tlp(group.cid, int(Tlp.RED))
    hub.store.delete_collection(group.cid)
    logged = _kinds(hub, start)
    assert [k for _, k in logged] == ["member-added", "object", "object", "object", "member-added",
                                      "member-removed", "token-revoked", "default-tlp-changed", "collection-deleted"]
    assert [e for e, _ in logged] == list(range(start + 1, start + 1 + len(logged)))
    assert hub.store.event_head() == start + len(logged)


def test_a_rolled_back_write_logs_nothing(hub: Hub) -> None:
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    head = hub.store.event_head()
    key = "2026-01-01T00:00:00.000000000Z"
    row = VersionRow(id="indicator--00000000-0000-4000-8000-000000000001", type="indicator", vkey=key,
                     modified=key, created=key, producer=alpha.org_id, created_by_ref=None, relayed=False,
                     tlp=int(Tlp.GREEN), revoked=False, sha="0", doc="{}")
    with pytest.raises(RuntimeError), hub.store.write() as tx:
        vids = tx.insert_versions([row], key)
        assert tx.insert_shares([(vids[0], hub.community.cid, alpha.org_id, "indicator")], key) == [True]  # logs
        raise RuntimeError("the transaction fails after the share: the event goes with it")
    assert hub.store.event_head() == head
    hub.share_as(alpha, hub.community, [sdo("indicator", "after-abort", markings=[TLP2["green"]])])
    assert _kinds(hub, head) == [(head + 1, "object")]


def test_pruning_moves_the_horizon_and_never_rewinds_ids(hub: Hub) -> None:
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    beta = add_org(hub.store, hub.ids, hub.clock, "Beta", "DE")
    hub.share_as(alpha, hub.community, [sdo("indicator", f"p{i}", markings=[TLP2["green"]]) for i in range(4)])
    head = hub.store.event_head()
    assert hub.store.prune_events(format_key(datetime.now(UTC) - timedelta(days=1))) == 0  # nothing that old
    assert hub.store.prune_events(format_key(datetime.now(UTC) + timedelta(seconds=1))) == head
    assert hub.store.event_horizon() == head and hub.store.event_head() == head
    hub.share_as(alpha, hub.community, [sdo("indicator", "after-prune", markings=[TLP2["green"]])])
    assert hub.store.event_head() == head + 1
    rows = hub.store.stream_events(EventQuery(reader=beta.org_id, after=head, upto=head + 1))
    assert [r.eid for r in rows] == [head + 1]


def test_deleted_shares_are_logged_and_no_longer_delivered(hub: Hub) -> None:
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    beta = add_org(hub.store, hub.ids, hub.clock, "Beta", "DE")
    start = hub.store.event_head()
    obj = sdo("indicator", "withdrawn", markings=[TLP2["green"]])
    hub.share_as(alpha, hub.community, [obj])
    key = normalize(str(obj["modified"]))
    assert key is not None
    assert hub.store.remove_shares(hub.community.cid, alpha.org_id, obj["id"], [key]) == 1
    assert [k for _, k in _kinds(hub, start)] == ["object", "share-deleted"]
    assert hub.store.auth_changed_after(start + 1)  # a narrowing change: open streams read again
    pending = hub.store.stream_events(EventQuery(reader=beta.org_id, after=start, upto=hub.store.event_head()))
    assert pending == []  # the object event is still in the log, but Beta may no longer read the version
