"""Ownership lines: a version of an object a member does not own is its own line, resolved per reader."""

from __future__ import annotations

import orjson
import pytest

from helpers import MITRE_IDENTITY, Member, add_member, sdo
from pacte.errors import Conflict, InvalidInput, NotFound
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.store.base import Collection, ObjectQuery


@pytest.fixture
def four(hub: Hub) -> tuple[Member, Member, Member, Member, Collection]:
    """Alpha and Bravo share a group; Charlie is a third member; Hostile posts what it likes."""
    alpha, bravo, charlie, hostile = (add_member(hub, n) for n in ("Alpha", "Bravo", "Charlie", "Hostile"))
    ab = m.add_group(hub.store, hub.ids, hub.clock, "AB", [alpha.org, bravo.org])
    return alpha, bravo, charlie, hostile, ab


def names(hub: Hub, member: Member, oid: str, versions: str = "last") -> list[str]:
    """Return the ``name`` of each version of ``oid`` the member reads (empty when none)."""
    try:
        return [orjson_name(i.doc) for i in hub.get_object(member.org, oid, versions)]
    except NotFound:
        return []


def orjson_name(doc: str) -> str:
    """Return the ``name`` of a stored document."""
    return str(orjson.loads(doc)["name"])


def reply(hub: Hub, member: Member, coll: Collection, obj: dict[str, object]) -> dict[str, object]:
    (out,) = hub.share_as(member.org, coll, [obj]).outcomes
    return out.as_dict()


def test_a_version_of_another_members_object_is_the_posters_own_line(
        hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    alpha, bravo, charlie, hostile, _ = four
    owned = sdo("malware", "ursnif", 1)
    assert hub.share_as(alpha.org, hub.community, [owned]).successes == 1
    edit = {**sdo("malware", "ursnif", 2), "name": "hostile edit"}
    fresh = {**sdo("malware", "never-seen", 2), "name": "hostile edit"}
    # the same reply as for an id nobody holds: nothing says the id exists elsewhere
    got, new = reply(hub, hostile, hub.community, edit), reply(hub, hostile, hub.community, fresh)
    assert {k: v for k, v in got.items() if k != "id"} == {k: v for k, v in new.items() if k != "id"}
    assert got["status"] == "success"
    # readers who see the owner's line get the owner's version, though the hostile one is later
    for member in (alpha, bravo, charlie):
        assert names(hub, member, owned["id"]) == ["ursnif v1"]
    # the poster reads the owner's line too (it can see it); versions=all shows both lines
    assert names(hub, hostile, owned["id"]) == ["ursnif v1"]
    assert sorted(names(hub, charlie, owned["id"], "all")) == ["hostile edit", "ursnif v1"]
    # and the producer filter attributes each line to its producer
    q = ObjectQuery(reader=charlie.org.org_id, producer=hostile.org.org_id, ids=[owned["id"]], versions="all")
    assert [orjson_name(i.doc) for i in hub.store.query(q).items] == ["hostile edit"]


def test_a_reader_who_sees_only_the_posters_line_gets_it(
        hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    alpha, bravo, charlie, hostile, ab = four
    hidden = sdo("threat-actor", "secret", 1)
    assert hub.share_as(alpha.org, ab, [hidden]).successes == 1
    assert names(hub, charlie, hidden["id"]) == []
    guessed = {**sdo("threat-actor", "secret", 5), "name": "guessed"}
    assert reply(hub, hostile, hub.community, guessed)["status"] == "success"
    assert names(hub, charlie, hidden["id"]) == ["guessed"]  # only the poster's line is readable to Charlie
    assert names(hub, charlie, hidden["id"], "all") == ["guessed"]
    assert names(hub, bravo, hidden["id"]) == ["secret v1"]  # Bravo sees the owner's line
    # counts: Charlie counts one version of that id, Bravo two (both lines readable)
    assert hub.store.count(ObjectQuery(reader=charlie.org.org_id, ids=[hidden["id"]], versions="all")) == 1
    assert hub.store.count(ObjectQuery(reader=bravo.org.org_id, ids=[hidden["id"]], versions="all")) == 2
    assert hub.store.count(ObjectQuery(reader=bravo.org.org_id, ids=[hidden["id"]])) == 1


def test_the_first_relayer_owns_the_relay_line(hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    alpha, bravo, charlie, hostile, _ = four
    r1 = sdo("attack-pattern", "t1055", 1, created_by=MITRE_IDENTITY)
    assert hub.share_as(alpha.org, hub.community, [r1]).successes == 1
    r9 = {**sdo("attack-pattern", "t1055", 9, created_by=MITRE_IDENTITY), "name": "hostile relay"}
    assert hub.share_as(hostile.org, hub.community, [r9]).successes == 1
    for member in (alpha, bravo, charlie, hostile):
        assert names(hub, member, r1["id"]) == ["t1055 v1"]
    r2 = sdo("attack-pattern", "t1055", 2, created_by=MITRE_IDENTITY)
    assert hub.share_as(alpha.org, hub.community, [r2]).successes == 1
    assert names(hub, charlie, r1["id"]) == ["t1055 v2"]  # the relay line's owner moves it on


def test_the_creator_claims_an_id_a_first_poster_guessed(
        hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    alpha, _, charlie, hostile, _ = four
    squatted = {**sdo("intrusion-set", "future-report", 1), "name": "squatted"}
    assert hub.share_as(hostile.org, hub.community, [squatted]).successes == 1
    assert names(hub, charlie, squatted["id"]) == ["squatted"]
    real = {**sdo("intrusion-set", "future-report", 1, created_by=alpha.org.identity_id), "name": "real"}
    assert hub.share_as(alpha.org, hub.community, [real]).successes == 1
    assert names(hub, charlie, squatted["id"]) == ["real"]  # the creator's line is the owner's
    # nobody claims it back: the hostile member cannot name itself creator of Alpha's object
    reclaim = {**sdo("intrusion-set", "future-report", 3, created_by=hostile.org.identity_id), "name": "reclaim"}
    assert hub.share_as(hostile.org, hub.community, [reclaim]).successes == 1
    assert names(hub, charlie, squatted["id"]) == ["real"]


def test_identical_content_is_the_posters_own_version(
        hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    alpha, bravo, charlie, hostile, ab = four
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
           "value": "198.51.100.3"}
    assert hub.share_as(alpha.org, ab, [sco]).successes == 1
    first = reply(hub, hostile, hub.community, dict(sco))
    other = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--3a3f6b2c-1d7e-5e1f-8c4e-7e7a3a0e5d11",
             "value": "198.51.100.4"}
    second = reply(hub, hostile, hub.community, other)
    assert {k: v for k, v in first.items() if k != "id"} == {k: v for k, v in second.items() if k != "id"}
    # the poster learns nothing: filtering by Alpha as producer finds nothing for it
    by_alpha = ObjectQuery(reader=hostile.org.org_id, producer=alpha.org.org_id, types=["ipv4-addr"], versions="all")
    assert hub.store.count(by_alpha) == 0
    # Alpha's version keeps its audience: Charlie reads the hostile member's version only
    by_alpha_c = ObjectQuery(reader=charlie.org.org_id, producer=alpha.org.org_id, types=["ipv4-addr"], versions="all")
    assert hub.store.count(by_alpha_c) == 0
    assert hub.store.count(ObjectQuery(reader=charlie.org.org_id, ids=[sco["id"]], versions="all")) == 1
    assert hub.store.count(ObjectQuery(reader=bravo.org.org_id, ids=[sco["id"]], versions="all")) == 2
    # Alpha re-sharing its own identical content is still one version of its own
    assert hub.share_as(alpha.org, ab, [dict(sco)]).successes == 1
    assert hub.store.count(ObjectQuery(reader=alpha.org.org_id, producer=alpha.org.org_id, ids=[sco["id"]],
                                       versions="all")) == 1


def test_a_registered_identity_owns_what_it_created(hub: Hub) -> None:
    relayer = add_member(hub, "Relayer")
    reader = add_member(hub, "Reader")
    agency_identity = "identity--6d1e8e5f-3b0a-4a9e-9d3c-2f1e0a9b8c7d"
    theirs = sdo("campaign", "agency-campaign", 1, created_by=agency_identity)
    relayed = {**sdo("campaign", "agency-campaign", 4, created_by=agency_identity), "name": "relayed edit"}
    assert hub.share_as(relayer.org, hub.community, [relayed]).successes == 1
    agency = m.add_org(hub.store, hub.ids, hub.clock, "Agency", "FR", agency_identity.upper())
    assert agency.identity_id == agency_identity
    assert hub.share_as(agency, hub.community, [theirs]).successes == 1
    assert names(hub, reader, theirs["id"]) == ["agency-campaign v1"]  # the registered creator's line wins
    # others can no longer name that identity as creator
    (out,) = hub.share_as(relayer.org, hub.community, [sdo("campaign", "x", 1, created_by=agency_identity)]).outcomes
    assert (out.ok, out.code, out.field) == (False, "policy_refused", "created_by_ref")


def test_registering_an_identity_is_checked(hub: Hub) -> None:
    member = add_member(hub, "Taken")
    with pytest.raises(Conflict):
        m.add_org(hub.store, hub.ids, hub.clock, "Other", None, member.org.identity_id)
    with pytest.raises(InvalidInput) as exc:
        m.add_org(hub.store, hub.ids, hub.clock, "Other", None, "identity--not-a-uuid")
    assert exc.value.details[0].field == "identity"


def test_a_first_poster_naming_itself_creator_keeps_its_object(
        hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    alpha, _, charlie, hostile, _ = four
    plain = {**sdo("tool", "alpha-tool", 1), "name": "alpha plain"}
    assert hub.share_as(alpha.org, hub.community, [plain]).successes == 1
    signed = {**sdo("tool", "alpha-tool", 2, created_by=alpha.org.identity_id), "name": "alpha signed"}
    assert hub.share_as(alpha.org, hub.community, [signed]).successes == 1
    claim = {**sdo("tool", "alpha-tool", 3, created_by=hostile.org.identity_id), "name": "hostile claim"}
    assert hub.share_as(hostile.org, hub.community, [claim]).successes == 1
    assert names(hub, charlie, plain["id"]) == ["alpha signed"]  # Alpha became its creator: no later claim wins


def test_a_reader_ranks_lines_by_what_it_was_shown(
        hub: Hub, four: tuple[Member, Member, Member, Member, Collection]) -> None:
    """The owner is chosen per reader from shares it may see: a hidden first post decides nothing.

    Alpha posts an observable into AB first (Charlie cannot see it); Hostile then posts its copy
    into community; Alpha shares its version into community too. Charlie, like a reader of a hub
    where Alpha's first post never happened, gets the first line it was shown: Hostile's. Bravo,
    who saw Alpha's post first, gets Alpha's. The trade is documented (ARCHITECTURE, Known limits).
    """
    alpha, bravo, charlie, hostile, ab = four
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
           "value": "198.51.100.3"}
    assert hub.share_as(alpha.org, ab, [sco]).successes == 1
    assert hub.share_as(hostile.org, hub.community, [{**sco, "x_copy": "hostile"}]).successes == 1
    assert hub.share_as(alpha.org, hub.community, [dict(sco)]).successes == 1

    def copies(member: Member) -> list[object]:
        return [orjson.loads(i.doc).get("x_copy") for i in hub.get_object(member.org, sco["id"], "last")]

    assert copies(charlie) == ["hostile"]
    assert copies(bravo) == [None]
    assert copies(alpha) == [None]
    # a claim beats any first post, seen or not: Alpha naming itself creator of a report outranks Hostile's
    report = sdo("report", "r", 1)
    assert hub.share_as(hostile.org, hub.community, [{**report, "name": "early"}]).successes == 1
    signed = {**sdo("report", "r", 1, created_by=alpha.org.identity_id), "name": "signed"}
    assert hub.share_as(alpha.org, hub.community, [signed]).successes == 1
    assert names(hub, charlie, report["id"]) == ["signed"]
