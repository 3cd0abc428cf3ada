"""Marking definitions cannot be hijacked: reserved TLP ids, per-producer definitions, fail closed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from helpers import TLP1, TLP2, Member, add_member, sdo, statement_marking
from pacte.errors import NotFound
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.store.base import Collection

OPENCTI_AMBER_STRICT = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
RESERVED = [*TLP2.values(), *TLP1.values(), OPENCTI_AMBER_STRICT]


@pytest.fixture
def members(hub: Hub) -> tuple[Member, Member, Member, Collection]:
    """Bravo (a victim), Charlie (a third member), Hostile, and a group of Bravo and Charlie."""
    bravo, charlie, hostile = (add_member(hub, n) for n in ("Bravo", "Charlie", "Hostile"))
    bc = m.add_group(hub.store, hub.ids, hub.clock, "BC", [bravo.org, charlie.org])
    return bravo, charlie, hostile, bc


def reads(hub: Hub, member: Member, oid: str) -> bool:
    try:
        hub.get_object(member.org, oid)
    except NotFound:
        return False
    return True


@pytest.mark.parametrize("marking_id", RESERVED)
def test_reserved_tlp_ids_are_refused_and_served_canonical(
        hub: Hub, members: tuple[Member, Member, Member, Collection], marking_id: str) -> None:
    _, charlie, hostile, _ = members
    squat = {**statement_marking("harmless"), "id": marking_id}
    (out,) = hub.share_as(hostile.org, hub.community, [squat]).outcomes
    assert (out.ok, out.code, out.field) == (False, "policy_refused", "id")
    (served,) = hub.get_object(charlie.org, marking_id.upper())
    obj = orjson.loads(served.doc)
    assert obj["id"] == marking_id and "statement" not in orjson.dumps(obj).decode()
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def test_opencti_amber_strict_id_is_amber_strict(hub: Hub, members: tuple[Member, Member, Member, Collection]) -> None:
    bravo, charlie, hostile, bc = members
    report = sdo("report", "liaison", 1, markings=[OPENCTI_AMBER_STRICT])
    (out,) = hub.share_as(bravo.org, hub.community, [report]).outcomes
    assert (out.ok, out.code) == (False, "policy_refused")  # AMBER+STRICT never goes into community
    assert hub.share_as(bravo.org, bc, [report]).successes == 1
    assert reads(hub, charlie, report["id"]) and not reads(hub, hostile, report["id"])


def test_another_members_definition_never_resolves_my_markings(
        hub: Hub, members: tuple[Member, Member, Member, Collection]) -> None:
    bravo, charlie, hostile, _ = members
    mine = statement_marking("bravo-internal")
    obj = sdo("threat-actor", "bravo-actor", 1, markings=[mine["id"]])
    assert hub.share_as(bravo.org, hub.community, [obj]).successes == 1
    assert not reads(hub, charlie, obj["id"])  # unknown marking: producer only
    # the hostile member publishes the definition Bravo's object references: nothing changes
    assert hub.share_as(hostile.org, hub.community, [dict(mine)]).successes == 1
    assert not reads(hub, charlie, obj["id"]) and not reads(hub, hostile, obj["id"])
    # not even for Bravo's later objects, though Bravo can read that definition
    later = sdo("threat-actor", "bravo-later", 1, markings=[mine["id"]])
    assert hub.share_as(bravo.org, hub.community, [later]).successes == 1
    assert not reads(hub, charlie, later["id"])
    # Bravo's own definition releases both
    assert hub.share_as(bravo.org, hub.community, [dict(mine)]).successes == 1
    assert reads(hub, charlie, obj["id"]) and reads(hub, charlie, later["id"])


def test_a_definition_the_member_cannot_read_does_not_govern(
        hub: Hub, members: tuple[Member, Member, Member, Collection]) -> None:
    bravo, charlie, hostile, _ = members
    stmt = statement_marking("group-statement")
    assert hub.share_as(hostile.org, hostile_private(hub, hostile), [stmt]).successes == 1
    obj: dict[str, Any] = sdo("malware", "bravo-tool", 1, markings=[stmt["id"]])
    assert hub.share_as(bravo.org, hub.community, [obj]).successes == 1
    assert not reads(hub, charlie, obj["id"])


def hostile_private(hub: Hub, member: Member) -> Collection:
    coll = hub.store.collection_by_name(f"private:{member.name}")
    assert coll is not None
    return coll


def test_a_pre_registered_tool_tlp_id_cannot_downgrade_a_report(
        hub: Hub, members: tuple[Member, Member, Member, Collection]) -> None:
    bravo, _, hostile, bc = members
    # the attack: pre-register the id a tool mints for AMBER+STRICT as a harmless statement
    fake = {**statement_marking("fake"), "id": OPENCTI_AMBER_STRICT}
    assert hub.share_as(hostile.org, hub.community, [fake]).failures == 1
    strict = sdo("report", "strict-report", 1, markings=[OPENCTI_AMBER_STRICT])
    assert hub.share_as(bravo.org, hub.community, [strict]).failures == 1
    assert hub.share_as(bravo.org, bc, [strict]).successes == 1
    assert not reads(hub, hostile, strict["id"])
