"""Member identities: one STIX identity per member, published in community, owned by that member."""

from __future__ import annotations

import orjson
import pytest

from helpers import add_member
from pacte.demo import placeholder_identity
from pacte.errors import Conflict
from pacte.hub import Hub
from pacte.hub import members as m


def test_each_member_identity_is_published_and_owned(hub: Hub) -> None:
    alpha, bravo = add_member(hub, "Alpha", "FR"), add_member(hub, "Bravo")
    for member in (alpha, bravo):
        (item,) = hub.get_object(bravo.org, member.org.identity_id)
        doc = orjson.loads(item.doc)
        assert (doc["type"], doc["name"], doc["identity_class"]) == ("identity", member.name, "organization")
        assert doc["created_by_ref"] == member.org.identity_id
    fake = {**orjson.loads(hub.get_object(alpha.org, bravo.org.identity_id)[0].doc),
            "modified": "2030-01-01T00:00:00.000Z", "name": "Bravo (hijacked)"}
    (out,) = hub.share_as(alpha.org, alpha.private(hub), [fake]).outcomes
    assert (out.ok, out.code) == (False, "policy_refused")


def test_a_member_cannot_squat_a_future_members_identity(hub: Hub) -> None:
    alpha = add_member(hub, "Alpha")
    squat = {"type": "identity", "spec_version": "2.1", "id": placeholder_identity("Newco"), "name": "Newco (fake)",
             "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "identity_class": "organization"}
    hub.share_as(alpha.org, alpha.private(hub), [squat])
    newco = m.add_org(hub.store, hub.ids, hub.clock, "Newco", None)
    assert newco.identity_id != squat["id"]  # identity ids are minted at random, not derived from names
    (item,) = hub.get_object(alpha.org, newco.identity_id)
    assert orjson.loads(item.doc)["name"] == "Newco"


def test_names_differing_only_in_case_are_a_clear_conflict(hub: Hub) -> None:
    add_member(hub, "Alpha")
    with pytest.raises(Conflict, match="already exists"):
        m.add_org(hub.store, hub.ids, hub.clock, "ALPHA", None)
