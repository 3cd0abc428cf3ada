"""The store, on every backend: schema, members, versions kept, shares stored once, errors translated."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import drop_store, make_store
from helpers import as_served, sdo
from pacte.config import Settings
from pacte.errors import IntegrityError
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.auth import hash_secret
from pacte.hub.clock import FrozenClock, SequentialIds
from pacte.policy import Role
from pacte.store.base import ObjectQuery, Store
from pacte.store.sqlbase import next_added

MALWARE: dict[str, Any] = {
    "type": "malware", "spec_version": "2.1", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
    "created": "2024-03-01T10:00:00.000Z", "modified": "2024-03-01T10:00:00.000Z", "name": "Ursnif",
    "is_family": True, "x_extra": {"nested": [1, 2, {"k": "é"}]},
}


def test_schema_created_on_first_use(store: Store) -> None:
    assert store.schema_version() >= 1


def test_org_token_roundtrip_hash_only(hub: Hub) -> None:
    org = m.add_org(hub.store, hub.ids, hub.clock, "CERT-X", "fr")
    assert org.country == "FR"
    _, secret = m.new_token(hub.store, hub.ids, hub.clock, org, Role.ANALYST, "ci")
    assert hub.authenticate(secret).org.name == "CERT-X"
    # the store is keyed by the hash: the secret itself finds nothing
    assert hub.store.token_by_hash(hash_secret(secret)) is not None
    assert hub.store.token_by_hash(secret) is None


def test_duplicate_org_name_is_a_conflict_and_store_translates_errors(hub: Hub) -> None:
    org = m.add_org(hub.store, hub.ids, hub.clock, "Dup", None)
    with pytest.raises(IntegrityError):
        hub.store.add_org("Dup", None, "identity--00000000-0000-4000-8000-000000000099", "2024-01-01T00:00:00Z")
    assert hub.store.org_by_id(org.org_id) == org


def test_every_version_kept_and_json_unchanged(hub: Hub) -> None:
    org = m.add_org(hub.store, hub.ids, hub.clock, "Producer", None)
    v1 = copy.deepcopy(MALWARE)
    v2 = {**copy.deepcopy(MALWARE), "modified": "2024-04-01T10:00:00.500Z", "description": "second"}
    assert hub.share_as(org, hub.community, [v2, v1]).successes == 2
    versions = hub.get_object(org, MALWARE["id"], "all")
    assert [orjson.loads(v.doc) for v in sorted(versions, key=lambda v: v.vkey)] == [as_served(v1), as_served(v2)]
    assert orjson.loads(hub.get_object(org, MALWARE["id"], "last")[0].doc) == as_served(v2)
    assert orjson.loads(hub.get_object(org, MALWARE["id"], "first")[0].doc) == as_served(v1)


def test_same_version_shared_twice_is_stored_once(hub: Hub) -> None:
    a = m.add_org(hub.store, hub.ids, hub.clock, "A", None)
    b = m.add_org(hub.store, hub.ids, hub.clock, "B", None)
    c = m.add_org(hub.store, hub.ids, hub.clock, "C", None)
    g1 = m.add_group(hub.store, hub.ids, hub.clock, "AB", [a, b])
    g2 = m.add_group(hub.store, hub.ids, hub.clock, "AC", [a, c])
    assert hub.share_as(a, g1, [copy.deepcopy(MALWARE)]).successes == 1
    assert hub.share_as(a, g2, [copy.deepcopy(MALWARE)]).successes == 1
    assert hub.share_as(a, g2, [copy.deepcopy(MALWARE)]).successes == 1  # exact duplicate: not an error
    total = hub.store.count(ObjectQuery(reader=a.org_id, ids=[MALWARE["id"]], versions="all"))
    assert total == 1
    for reader in (a, b, c):
        assert len(hub.get_object(reader, MALWARE["id"])) == 1


def test_pagination_cursor_and_more(hub: Hub) -> None:
    org = m.add_org(hub.store, hub.ids, hub.clock, "Pager", None)
    objs = [{**copy.deepcopy(MALWARE), "id": f"malware--0c7b5b88-8ff7-4a4d-aa9d-{i:012d}", "name": f"m{i}"}
            for i in range(25)]
    assert hub.share_as(org, hub.community, objs).successes == 25
    q = ObjectQuery(reader=org.org_id, types=["malware"], limit=10)
    seen: list[str] = []
    pages = 0
    while True:
        page = hub.store.query(q)
        pages += 1
        seen += [i.id for i in page.items]
        if not page.more:
            break
        q.after_seq = page.next_seq
    assert pages == 3
    assert seen == [o["id"] for o in objs]
    assert hub.store.count(ObjectQuery(reader=org.org_id, types=["malware"])) == 25


def test_collection_pages_with_shares_interleaved_across_collections(hub: Hub) -> None:
    """Paging one collection while others fill around it: every version once, in added order, on each backend."""
    a = m.add_org(hub.store, hub.ids, hub.clock, "Interleaver", None)
    b = m.add_org(hub.store, hub.ids, hub.clock, "Other", None)
    group = m.add_group(hub.store, hub.ids, hub.clock, "A-only", [a])
    in_group: list[str] = []
    for i in range(12):
        obj = {**copy.deepcopy(MALWARE), "id": f"malware--0c7b5b88-8ff7-4a4d-aa9d-{i:012d}", "name": f"m{i}"}
        target = group if i % 3 == 0 else hub.community
        assert hub.share_as(a, target, [obj]).successes == 1
        if target is group:
            in_group.append(obj["id"])
    for reader, expect in ((a, in_group), (b, [])):
        q = ObjectQuery(reader=reader.org_id, collection=group.cid, limit=1)
        seen: list[str] = []
        while True:
            page = hub.store.query(q)
            seen += [i.id for i in page.items]
            if not page.more:
                break
            q.after_seq = page.next_seq
        assert seen == expect
        assert hub.store.count(ObjectQuery(reader=reader.org_id, collection=group.cid)) == len(expect)


def test_added_times_are_whole_microseconds_and_never_decrease() -> None:
    assert next_added("2024-01-01T00:00:00.000000000Z", None) == "2024-01-01T00:00:00.000000000Z"
    assert next_added("2024-01-01T00:00:00.123456789Z", None) == "2024-01-01T00:00:00.123456000Z"
    assert next_added("2024-01-01T00:00:00.000002000Z", "2024-01-01T00:00:00.000001000Z") == \
        "2024-01-01T00:00:00.000002000Z"
    # the same microsecond again, or a clock gone backwards: the last time is reused, never pushed past
    assert next_added("2024-01-01T00:00:00.000000000Z", "2024-01-01T00:00:00.000000000Z") == \
        "2024-01-01T00:00:00.000000000Z"
    assert next_added("2023-01-01T00:00:00.000000000Z", "2024-01-01T00:00:00.999999000Z") == \
        "2024-01-01T00:00:00.999999000Z"


def _share_times(hub: Hub, reader: int) -> list[str]:
    page = hub.store.query(ObjectQuery(reader=reader, collection=hub.community.cid, versions="all", limit=1000))
    return [i.added for i in page.items]


def test_one_write_gives_its_shares_one_added_time(hub: Hub, clock: FrozenClock) -> None:
    """Added times count no rows: every share of a write gets its time, and a later write never an earlier one."""
    org = m.add_org(hub.store, hub.ids, hub.clock, "Batcher", None)
    clock.step = timedelta(0)
    clock.current = datetime(2026, 2, 1, 12, 0, 0, 500, tzinfo=UTC)
    before = len(_share_times(hub, org.org_id))
    assert hub.share_as(org, hub.community, [sdo("indicator", f"i{n}") for n in range(50)]).successes == 50
    at = "2026-02-01T12:00:00.000500000Z"
    assert _share_times(hub, org.org_id)[before:] == [at] * 50
    # the same instant again: the same time, not the next microseconds
    assert hub.share_as(org, hub.community, [sdo("indicator", f"j{n}") for n in range(3)]).successes == 3
    assert _share_times(hub, org.org_id)[before + 50:] == [at] * 3
    # the clock went backwards: the last stored time is reused (added times never decrease in sid order)
    clock.current = datetime(2026, 2, 1, 11, 0, 0, tzinfo=UTC)
    assert hub.share_as(org, hub.community, [sdo("indicator", "k")]).successes == 1
    assert _share_times(hub, org.org_id)[-1] == at
    clock.current = datetime(2026, 2, 1, 12, 0, 1, tzinfo=UTC)
    assert hub.share_as(org, hub.community, [sdo("indicator", "l")]).successes == 1
    times = _share_times(hub, org.org_id)
    assert times[-1] == "2026-02-01T12:00:01.000000000Z" and times == sorted(times)


def test_a_hidden_batch_does_not_move_the_next_share(backend: str, tmp_path: Path) -> None:
    """Regression (issue 10's microsecond channel): a share right after a hidden batch has the time it has without it."""
    seen: list[str] = []
    for n, hidden in enumerate((False, True)):
        (tmp_path / str(n)).mkdir()
        store = make_store(backend, tmp_path / str(n))
        try:
            clock = FrozenClock(datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC))
            hub = Hub(store, Settings(), clock=clock, ids=SequentialIds())
            a = m.add_org(store, hub.ids, clock, "A", None)
            b = m.add_org(store, hub.ids, clock, "B", None)
            private_b = store.collection_by_name(m.private_name(b))
            assert private_b is not None
            clock.advance(timedelta(seconds=1))
            if hidden:
                assert hub.share_as(b, private_b, [sdo("indicator", f"h{i}") for i in range(20)]).successes == 20
            clock.advance(timedelta(microseconds=1))
            assert hub.share_as(a, hub.community, [sdo("indicator", "seen")]).successes == 1
            seen.append(_share_times(hub, a.org_id)[-1])
        finally:
            drop_store(store)
    assert seen[0] == seen[1] == "2026-01-15T10:00:01.000001000Z"


def test_marking_definition_posted_later_resolves_unknown(hub: Hub) -> None:
    a = m.add_org(hub.store, hub.ids, hub.clock, "Marker", None)
    b = m.add_org(hub.store, hub.ids, hub.clock, "Other", None)
    statement = {"type": "marking-definition", "spec_version": "2.1",
                 "id": "marking-definition--3a8f3c8e-1b5e-4f6c-9d3e-2a1b0c9d8e7f", "created": "2024-01-01T00:00:00.000Z",
                 "definition_type": "statement", "definition": {"statement": "Copyright Example"}}
    obj = {**copy.deepcopy(MALWARE), "object_marking_refs": [statement["id"]]}
    assert hub.share_as(a, hub.community, [obj]).successes == 1
    assert hub.store.count(ObjectQuery(reader=b.org_id, ids=[obj["id"]])) == 0  # unknown marking: producer only
    assert hub.store.count(ObjectQuery(reader=a.org_id, ids=[obj["id"]])) == 1
    assert hub.share_as(a, hub.community, [statement]).successes == 1
    assert hub.store.count(ObjectQuery(reader=b.org_id, ids=[obj["id"]])) == 1  # now resolved, not TLP


def test_custom_sco_via_new_sco_extension_is_an_ownerless_observable(hub: Hub) -> None:
    a = m.add_org(hub.store, hub.ids, hub.clock, "WalletA", None)
    b = m.add_org(hub.store, hub.ids, hub.clock, "WalletB", None)
    ext = "extension-definition--5f0e3f4c-8a2d-4b7e-9c61-2d7a0f3b8e12"
    wallet = {"type": "cryptocurrency-wallet", "spec_version": "2.1",
              "id": "cryptocurrency-wallet--2b7e1f0a-5d3c-4e8f-9a61-7c2d0e4b8f13",
              "value": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "extensions": {ext: {"extension_type": "new-sco"}}}
    assert hub.share_as(a, hub.community, [copy.deepcopy(wallet)]).successes == 1  # no created/modified needed
    assert hub.share_as(b, hub.community, [copy.deepcopy(wallet)]).successes == 1  # nobody owns an observable
