"""Relayed ATT&CK objects (MITRE's created_by_ref): accepted, community GREEN, unchanged, stored once."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from helpers import Member, add_member, as_served
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role
from pacte.store.base import ObjectQuery

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ATTACK = DATA / "attack-enterprise.json"
MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
COPYRIGHT = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"


@cache
def _sample() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    objects = orjson.loads(ATTACK.read_bytes())["objects"]
    identity = next(o for o in objects if o["id"] == MITRE)
    marking = next(o for o in objects if o["id"] == COPYRIGHT)
    sdos = [o for o in objects if o["type"] not in ("identity", "marking-definition", "relationship")][:150]
    rels = [o for o in objects if o["type"] == "relationship"][:50]
    return identity, marking, sdos + rels


@pytest.fixture
def attack() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    if not ATTACK.is_file():
        pytest.skip(f"{ATTACK} is not available")
    return copy.deepcopy(_sample())


@pytest.fixture
def three(hub: Hub) -> list[Member]:
    return [add_member(hub, n) for n in ("Alpha", "Bravo", "Charlie")]


def readable(hub: Hub, member: Member) -> dict[str, dict[str, Any]]:
    items = hub.store.query(ObjectQuery(reader=member.org.org_id, versions="all", limit=10_000)).items
    return {i.id: orjson.loads(i.doc) for i in items}


def test_relayed_attack_objects_are_community_green_and_unchanged(
        hub: Hub, three: list[Member], attack: tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]) -> None:
    identity, marking, objects = attack
    alpha, bravo, charlie = three
    sent = [identity, marking, *objects]
    assert len(sent) == 202
    assert all(o.get("created_by_ref") == MITRE for o in objects)
    assert all(o.get("object_marking_refs") == [COPYRIGHT] for o in objects)
    report = hub.share(hub.authenticate(alpha.secrets[Role.ANALYST]), hub.community, copy.deepcopy(sent))
    assert report.failures == 0, [o for o in report.outcomes if not o.ok][:3]
    assert report.successes == 202
    for member in (bravo, charlie, alpha):
        got = readable(hub, member)
        for obj in sent:
            assert got[obj["id"]] == as_served(obj)  # unchanged but graded, readable by every member
        assert hub.store.count(ObjectQuery(reader=member.org.org_id, versions="all")) == 202 + 3  # + identities
    # recorded as shared by Alpha, while created by MITRE (not a member)
    by_alpha = hub.store.count(ObjectQuery(reader=charlie.org.org_id, producer=alpha.org.org_id, versions="all"))
    assert by_alpha == 202 + 1
    assert {o.name for o in hub.store.list_orgs()} == {"Alpha", "Bravo", "Charlie"}
    # another member relays the same objects into a group: its own relay line; readers still get Alpha's
    group = m.add_group(hub.store, hub.ids, hub.clock, "BC", [bravo.org, charlie.org])
    assert hub.share_as(bravo.org, group, copy.deepcopy([marking, *objects])).successes == 201
    with hub.store.write() as tx:
        assert len(tx.existing_versions([o["id"] for o in objects], bravo.org.org_id)) == 200
    assert hub.store.count(ObjectQuery(reader=charlie.org.org_id, versions="all")) == 205 + 201
    assert hub.store.count(ObjectQuery(reader=charlie.org.org_id)) == 205
    assert hub.store.count(ObjectQuery(reader=alpha.org.org_id, versions="all")) == 205  # outside the group


def test_copyright_marking_arriving_later_releases_the_objects(
        hub: Hub, three: list[Member], attack: tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]) -> None:
    identity, marking, objects = attack
    alpha, bravo, _ = three
    assert hub.share_as(alpha.org, hub.community, objects[:40]).successes == 40
    # the marking is not held yet: an unresolvable reference means producer only
    assert len(readable(hub, alpha)) == 40 + 3
    assert len(readable(hub, bravo)) == 3
    assert hub.share_as(alpha.org, hub.community, [marking, identity]).successes == 2
    got = readable(hub, bravo)
    assert len(got) == 42 + 3
    assert all(got[o["id"]] == as_served(o) for o in objects[:40])
