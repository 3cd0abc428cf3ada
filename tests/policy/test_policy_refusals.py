"""Write-side refusals of the sharing policy, on both backends, and what is stored afterwards."""

from __future__ import annotations

import uuid

import pytest

from helpers import MITRE_IDENTITY, TLP1, TLP2, Member, add_member, sdo, statement_marking
from pacte.config import Settings
from pacte.errors import Forbidden, NotFound
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.clock import FrozenClock, SequentialIds
from pacte.policy import Role
from pacte.store.base import ObjectQuery, Store


@pytest.fixture
def pair(hub: Hub) -> tuple[Member, Member]:
    return add_member(hub, "Alpha", "FR"), add_member(hub, "Bravo", "DE")


def readable_ids(hub: Hub, member: Member) -> set[str]:
    items = hub.store.query(ObjectQuery(reader=member.org.org_id, versions="all", limit=10_000)).items
    return {i.id for i in items if not i.id.startswith("identity--")}


@pytest.mark.parametrize("marking", [TLP2["amber+strict"], TLP2["red"], TLP1["red"]],
                         ids=["tlp2-amber-strict", "tlp2-red", "tlp1-red"])
def test_strict_and_red_refused_in_community(hub: Hub, pair: tuple[Member, Member], marking: str) -> None:
    alpha, bravo = pair
    obj = sdo("threat-actor", "secret", markings=[TLP2["green"], marking])
    report = hub.share(hub.authenticate(alpha.secrets[Role.ANALYST]), hub.community, [obj])
    (out,) = report.outcomes
    assert not out.ok
    assert out.code == "policy_refused"
    assert out.field == "object_marking_refs"
    assert out.id == obj["id"]
    assert "community" in (out.reason or "")
    assert readable_ids(hub, alpha) == set() == readable_ids(hub, bravo)
    # the same object is accepted into a sharing group and a private collection
    group = m.add_group(hub.store, hub.ids, hub.clock, "AB", [alpha.org, bravo.org])
    assert hub.share_as(alpha.org, group, [obj]).successes == 1
    assert readable_ids(hub, bravo) == {obj["id"]}


def test_spoofed_created_by_ref_is_refused(hub: Hub, pair: tuple[Member, Member]) -> None:
    alpha, bravo = pair
    spoofed = sdo("intrusion-set", "spoof", created_by=bravo.org.identity_id)
    own = sdo("intrusion-set", "own", created_by=alpha.org.identity_id)
    relayed = sdo("intrusion-set", "relayed", created_by=MITRE_IDENTITY)
    report = hub.share(hub.authenticate(alpha.secrets[Role.ANALYST]), hub.community, [spoofed, own, relayed])
    assert [(o.ok, o.code, o.field) for o in report.outcomes] == [
        (False, "policy_refused", "created_by_ref"), (True, None, None), (True, None, None)]
    assert readable_ids(hub, bravo) == {own["id"], relayed["id"]}
    with pytest.raises(NotFound):
        hub.get_object(alpha.org, spoofed["id"])
    # posing as another member's identity object is refused too
    ident = {"type": "identity", "spec_version": "2.1", "id": bravo.org.identity_id, "created": "2025-01-01T00:00:00.000Z",
             "modified": "2030-01-01T00:00:00.000Z", "name": "Bravo, hijacked"}
    (out,) = hub.share_as(alpha.org, hub.community, [ident]).outcomes
    assert (out.ok, out.code) == (False, "policy_refused")
    (latest,) = hub.get_object(bravo.org, bravo.org.identity_id)
    assert "hijacked" not in latest.doc


def test_readers_and_outsiders_cannot_share(hub: Hub, pair: tuple[Member, Member]) -> None:
    alpha, bravo = pair
    obj = sdo("threat-actor", "x")
    with pytest.raises(Forbidden):
        hub.share(hub.authenticate(alpha.secrets[Role.READER]), hub.community, [obj])
    with pytest.raises(Forbidden):
        hub.share(hub.authenticate(alpha.secrets[Role.ANALYST]), bravo.private(hub), [obj])
    with pytest.raises(Forbidden):
        hub.share_as(alpha.org, bravo.private(hub), [obj])
    assert readable_ids(hub, alpha) == set() == readable_ids(hub, bravo)


def test_red_with_unknown_marking_into_community_is_refused(hub: Hub, pair: tuple[Member, Member]) -> None:
    alpha, _ = pair
    unknown = statement_marking("not-yet-held")["id"]
    obj = sdo("threat-actor", "red-plus-unknown", markings=[TLP2["red"], unknown])
    (out,) = hub.share_as(alpha.org, hub.community, [obj]).outcomes
    assert (out.ok, out.code) == (False, "policy_refused")


def test_refused_marking_definition_does_not_resolve_markings(hub: Hub, pair: tuple[Member, Member]) -> None:
    alpha, bravo = pair
    marking = statement_marking("spoofed-statement", created_by=bravo.org.identity_id)  # refused: spoofed
    obj = sdo("threat-actor", "marked", markings=[marking["id"]])
    report = hub.share_as(alpha.org, hub.community, [marking, obj])
    assert [o.ok for o in report.outcomes] == [False, True]
    assert readable_ids(hub, alpha) == {obj["id"]}  # the producer reads it
    assert readable_ids(hub, bravo) == set()  # the marking is unresolvable: producer only


def upper_uuid(stix_id: str) -> str:
    """Return the same STIX id with its UUID part in upper case (the same UUID for RFC 4122)."""
    kind, _, uuid_part = stix_id.partition("--")
    return f"{kind}--{uuid_part.upper()}"



class LetterIds(SequentialIds):
    """Predictable UUIDs with hex letters in them, so that upper case changes them."""

    def uuid4(self) -> uuid.UUID:
        """Return the next predictable UUID."""
        self.counter += 1
        return uuid.UUID(int=(0xABCDEF << 100) | (self.counter << 64) | (0xFACE << 16) | self.counter, version=4)


@pytest.fixture
def lettered(store: Store, clock: FrozenClock) -> tuple[Hub, Member, Member]:
    hub = Hub(store, Settings(), clock=clock, ids=LetterIds())
    alpha, bravo = add_member(hub, "Alpha"), add_member(hub, "Bravo")
    assert bravo.org.identity_id != upper_uuid(bravo.org.identity_id)
    return hub, alpha, bravo


def test_spoofed_created_by_ref_in_upper_case_is_refused(lettered: tuple[Hub, Member, Member]) -> None:
    hub, alpha, bravo = lettered
    spoofed = sdo("intrusion-set", "case-spoof", created_by=upper_uuid(bravo.org.identity_id))
    (out,) = hub.share_as(alpha.org, hub.community, [spoofed]).outcomes
    assert (out.ok, out.code, out.field) == (False, "policy_refused", "created_by_ref")
