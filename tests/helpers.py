"""Builders shared by the policy, API and hub tests: STIX objects, TLP ids, members with tokens.

The TLP marking-definition ids below are written out from the OASIS publications (TLP 2.0:
cti-stix-common-objects extension-definition-specifications/tlp-2.0; TLP 1.0: STIX 2.1
section 7.2.1.4), independently of ``pacte.stix.markings``, so that a wrong id in the
implementation cannot also be wrong in the tests.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.clock import SequentialIds
from pacte.policy import Role
from pacte.store.base import Collection, Org

# TLP 2.0 (OASIS) by level name.
TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# TLP 1.0 (STIX 2.1 predefined) by level name; WHITE is CLEAR's 1.0 name, there is no AMBER+STRICT.
TLP1 = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}

MITRE_IDENTITY = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"  # not a member: relayed objects
STIX_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def sid(kind: str, name: str) -> str:
    """Return a deterministic STIX id of a type for a test name."""
    return f"{kind}--{uuid.uuid5(STIX_NS, name)}"


def ts(n: int) -> str:
    """Return a STIX timestamp ``n`` seconds after 2025-01-01T00:00:00Z, millisecond precision."""
    day, rest = divmod(n, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}T{hour:02d}:{minute:02d}:{second:02d}.000Z"


def sdo(kind: str, name: str, version: int = 0, *, markings: list[str] | None = None,
        created_by: str | None = None, **extra: Any) -> dict[str, Any]:
    """Return a valid STIX 2.1 SDO (attack-pattern, threat-actor, malware, indicator, report...)."""
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": sid(kind, name), "created": ts(0),
                           "modified": ts(version), "name": f"{name} v{version}"}
    if kind == "malware":
        obj["is_family"] = False
    if kind == "indicator":
        obj.update(pattern="[ipv4-addr:value = '198.51.100.7']", pattern_type="stix", valid_from=ts(0))
    if kind == "report":
        obj.update(published=ts(0), object_refs=[])
    if markings:
        obj["object_marking_refs"] = list(markings)
    if created_by is not None:
        obj["created_by_ref"] = created_by
    obj.update(extra)
    return obj


def statement_marking(name: str, created_by: str | None = None) -> dict[str, Any]:
    """Return a non-TLP statement marking definition (like ATT&CK's copyright marking)."""
    obj: dict[str, Any] = {"type": "marking-definition", "spec_version": "2.1", "id": sid("marking-definition", name),
                           "created": ts(0), "name": name, "definition_type": "statement",
                           "definition": {"statement": f"Copyright {name}"}}
    if created_by is not None:
        obj["created_by_ref"] = created_by
    return obj


def bundle(*objects: dict[str, Any], name: str = "b") -> dict[str, Any]:
    """Return a STIX bundle of these objects."""
    return {"type": "bundle", "id": sid("bundle", name + str(len(objects))), "objects": list(objects)}


@dataclass
class Member:
    """A member organisation with one token per role."""

    org: Org
    secrets: dict[Role, str]
    token_ids: dict[Role, str]

    @property
    def name(self) -> str:
        """Return the organisation's name."""
        return self.org.name

    def auth(self, role: Role = Role.ANALYST) -> dict[str, str]:
        """Return the Authorization header of the member's token of this role."""
        return {"Authorization": f"Bearer {self.secrets[role]}"}

    def private(self, hub: Hub) -> Collection:
        """Return the member's private collection."""
        coll = hub.store.collection_by_name(f"private:{self.org.name}")
        assert coll is not None
        return coll


def add_member(hub: Hub, name: str, country: str | None = None) -> Member:
    """Create a member organisation with a reader, an analyst and an admin token."""
    org = m.add_org(hub.store, hub.ids, hub.clock, name, country)
    secrets: dict[Role, str] = {}
    token_ids: dict[Role, str] = {}
    for role in Role:
        token, secret = m.new_token(hub.store, hub.ids, hub.clock, org, role, f"{role.value} token")
        secrets[role] = secret
        token_ids[role] = token.token_id
    return Member(org, secrets, token_ids)


class SpreadIds(SequentialIds):
    """Predictable UUIDs whose leading and trailing hex digits both differ from one call to the next.

    Token ids were once cut from the leading hex digits while ``SequentialIds`` (the ``ids``
    fixture) counts in the low bits only, so tokens collided (regression test:
    tests/hub/test_hub_no_cache.py::test_two_tokens_under_the_frozen_ids_fixture). Tests that
    create many tokens use this so that they do not depend on which bits ids are cut from.
    """

    def uuid4(self) -> uuid.UUID:
        """Return the next predictable UUID, counting in the high and the low bits."""
        self.counter += 1
        return uuid.UUID(int=(self.counter << 80) | self.counter, version=4)


# The Pacte grading extension, written out from docs/extension.md (not imported from pacte.stix.extension).
PACTE_EXTENSION = "extension-definition--b04de1b4-9772-4973-97ae-2b7fc0efeea4"
_BODY_ORDER = ("extension_type", "score", "reliability", "credibility", "handling", "sighting_kind", "anonymous")


def as_served(sent: dict[str, Any], grading: tuple[str, int, str | None] | None = None) -> dict[str, Any]:
    """Return the object the hub stores and serves for ``sent``, shared with the member's default ``grading``.

    Built from docs/extension.md: with no default (None: the member never set one, the request set none),
    an object that grades nothing is served as sent (ungraded means F6); an object whose Pacte extension
    sets both reliability and credibility is served as sent; otherwise each grading part it leaves out is
    the default's (F6 without one), the body holds its properties in the documented order and is the last
    entry of ``extensions``, itself the object's last property.
    """
    extensions = sent.get("extensions")
    body = extensions.get(PACTE_EXTENSION) if isinstance(extensions, dict) else None
    grades = isinstance(body, dict) and any(body.get(k) is not None for k in ("reliability", "credibility", "handling"))
    if grading is None and not grades:
        return copy.deepcopy(sent)
    if isinstance(body, dict) and body.get("reliability") is not None and body.get("credibility") is not None:
        return copy.deepcopy(sent)
    reliability, credibility, handling = grading or ("F", 6, None)
    own = dict(body) if isinstance(body, dict) else {}
    merged = {**own, "extension_type": "property-extension",
              "reliability": own.get("reliability") or reliability,
              "credibility": own.get("credibility") or credibility}
    merged.pop("handling", None)
    if (own.get("handling") or handling) is not None:
        merged["handling"] = own.get("handling") or handling
    ordered = {key: merged[key] for key in _BODY_ORDER if key in merged}
    ordered.update((key, value) for key, value in merged.items() if key not in ordered)
    out = {key: copy.deepcopy(value) for key, value in sent.items() if key != "extensions"}
    others = {k: copy.deepcopy(v) for k, v in extensions.items() if k != PACTE_EXTENSION} \
        if isinstance(extensions, dict) else {}
    out["extensions"] = {**others, PACTE_EXTENSION: ordered}
    return out


def without_score(obj: dict[str, Any]) -> dict[str, Any]:
    """Return a served object without the hub's per-reader score, checking it is where it must be.

    An indicator is served with ``score``, an integer 0-100, first in the Pacte extension body after
    ``extension_type`` (a body the hub adds for it when the indicator is ungraded); any other object is
    served without one.
    """
    out = copy.deepcopy(obj)
    body = out.get("extensions", {}).get(PACTE_EXTENSION)
    if obj.get("type") != "indicator":
        assert not isinstance(body, dict) or "score" not in body, f"{obj.get('id')}: a score on a non-indicator"
        return out
    assert isinstance(body, dict) and list(body)[:2] == ["extension_type", "score"], f"{obj.get('id')}: no score"
    score = body.pop("score")
    assert type(score) is int and 0 <= score <= 100, f"{obj.get('id')}: score {score!r}"
    if body == {"extension_type": "property-extension"}:  # an ungraded indicator: the body held the score alone
        del out["extensions"][PACTE_EXTENSION]
        if not out["extensions"]:
            del out["extensions"]
    return out


def sighting(name: str, target: str, kind: str = "seen", anonymous: bool = False, count: int = 1, version: int = 0,
             **extra: Any) -> dict[str, Any]:
    """Return a STIX sighting of ``target``, seen or false positive, anonymous or not (the Pacte extension's facts)."""
    obj = sdo("sighting", name, version, sighting_of_ref=target, count=count, **extra)
    del obj["name"]
    body: dict[str, Any] = {"extension_type": "property-extension", "sighting_kind": kind}
    if anonymous:
        body["anonymous"] = True
    obj["extensions"] = {PACTE_EXTENSION: body}
    return obj
