"""One object shared by several members into several collections: each member's version is its own.

The same member sharing a version into two collections stores it once, read by the union of their
audiences; another member sharing identical content stores its own version, whose audience never
widens the first one's.
"""

from __future__ import annotations

import pytest

from helpers import MITRE_IDENTITY, TLP2, Member, add_member, sdo
from pacte.errors import NotFound
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.store.base import Collection, ObjectQuery

RELAYED = sdo("attack-pattern", "t1566", 1, created_by=MITRE_IDENTITY, markings=[TLP2["amber"]])


def stored_versions(hub: Hub, oid: str, producer: Member) -> int:
    with hub.store.write() as tx:
        return len(tx.existing_versions([oid], producer.org.org_id))


def readers(hub: Hub, members: list[Member], oid: str) -> set[str]:
    out = set()
    for member in members:
        try:
            hub.get_object(member.org, oid)
            out.add(member.name)
        except NotFound:
            pass
    return out


@pytest.fixture
def five(hub: Hub) -> tuple[list[Member], Collection, Collection]:
    members = [add_member(hub, n) for n in ("Alpha", "Bravo", "Charlie", "Delta", "Echo")]
    a, b, c, d, _ = members
    ab = m.add_group(hub.store, hub.ids, hub.clock, "AB", [a.org, b.org])
    cd = m.add_group(hub.store, hub.ids, hub.clock, "CD", [c.org, d.org])
    return members, ab, cd


def test_same_content_by_two_members_into_two_collections(hub: Hub, five: tuple[list[Member], Collection,
                                                                                   Collection]) -> None:
    members, ab, cd = five
    alpha, _, charlie, _, _ = members
    assert hub.share_as(alpha.org, ab, [RELAYED]).successes == 1
    assert readers(hub, members, RELAYED["id"]) == {"Alpha", "Bravo"}
    assert hub.share_as(charlie.org, cd, [dict(RELAYED)]).successes == 1
    assert stored_versions(hub, RELAYED["id"], alpha) == stored_versions(hub, RELAYED["id"], charlie) == 1
    assert readers(hub, members, RELAYED["id"]) == {"Alpha", "Bravo", "Charlie", "Delta"}
    for member in members[:4]:  # each reads one version, the same content
        (item,) = hub.store.query(ObjectQuery(reader=member.org.org_id, ids=[RELAYED["id"]], versions="all")).items
        assert item.doc == hub.get_object(alpha.org, RELAYED["id"])[0].doc
    # attribution follows what each reader sees: Delta sees Charlie's version, not Alpha's
    delta = members[3]
    assert hub.store.count(ObjectQuery(reader=delta.org.org_id, producer=alpha.org.org_id, ids=[RELAYED["id"]],
                                       versions="all")) == 0
    # listing per collection: each collection lists its member's version
    for coll, member in ((ab, members[1]), (cd, members[3])):
        page = hub.store.query(ObjectQuery(reader=member.org.org_id, collection=coll.cid, versions="all"))
        assert [i.id for i in page.items] == [RELAYED["id"]]


def test_same_member_into_two_groups_is_the_union(hub: Hub, five: tuple[list[Member], Collection,
                                                                          Collection]) -> None:
    members, ab, cd = five
    alpha = members[0]
    hub.store.add_member(cd.cid, alpha.org.org_id)
    own = sdo("threat-actor", "own", 1, markings=[TLP2["red"]])
    assert hub.share_as(alpha.org, ab, [own]).successes == 1
    assert hub.share_as(alpha.org, cd, [own]).successes == 1
    assert stored_versions(hub, own["id"], alpha) == 1
    assert readers(hub, members, own["id"]) == {"Alpha", "Bravo", "Charlie", "Delta"}
    hub.store.delete_collection(ab.cid)
    assert readers(hub, members, own["id"]) == {"Alpha", "Charlie", "Delta"}


def test_second_sharer_into_the_same_collection_keeps_reading_it(
        hub: Hub, five: tuple[list[Member], Collection, Collection]) -> None:
    members, ab, _ = five
    alpha, bravo = members[0], members[1]
    assert hub.share_as(alpha.org, ab, [RELAYED]).successes == 1
    assert hub.share_as(bravo.org, ab, [dict(RELAYED)]).successes == 1
    hub.store.remove_member(ab.cid, bravo.org.org_id)
    assert hub.get_object(bravo.org, RELAYED["id"])  # the member that shared a version always reads it back
