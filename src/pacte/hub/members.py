"""Members, their tokens and sharing groups: what the hub operator manages."""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson

from pacte.errors import Conflict, Detail, InvalidInput, NotFound
from pacte.hub.auth import hash_secret, new_secret
from pacte.hub.clock import Clock, Ids
from pacte.hub.sharing import share_objects
from pacte.policy import DEFAULT_TLP, CollectionKind, Role
from pacte.stix.timestamps import format_dt, format_key
from pacte.store.base import Collection, Org, Store, Token

COMMUNITY = "community"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()&'-]{0,99}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_IDENTITY = re.compile(r"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def private_name(org: Org) -> str:
    """Return the name of a member's private collection."""
    return f"private:{org.name}"


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInput(f"invalid {kind} name {name!r}", [Detail(
            reason="1-100 characters: letters, digits, space and . _ ( ) & ' -, starting with a letter or digit",
            field="name")])


def ensure_community(store: Store, ids: Ids, clock: Clock) -> Collection:
    """Return the community collection, creating it on a new hub."""
    coll = store.collection_by_name(COMMUNITY)
    if coll is None:
        coll = store.add_collection(str(ids.uuid4()), CollectionKind.COMMUNITY, COMMUNITY, "Community",
                                    "Shared with every member of the hub", None,
                                    int(DEFAULT_TLP[CollectionKind.COMMUNITY]), format_dt(clock.now()))
    return coll


def add_org(store: Store, ids: Ids, clock: Clock, name: str, country: str | None,
            identity_id: str | None = None) -> Org:
    """Create a member, its STIX identity (shared in community) and its private collection.

    ``identity_id`` registers the STIX identity the member already uses in its own tools: the
    objects that name it as ``created_by_ref`` are then the member's, whoever relayed them first.
    Without it the identity id is minted at random, so nobody can publish it before the member exists.
    """
    _check_name("organisation", name)
    existing = store.list_orgs()
    if identity_id is not None:
        identity_id = identity_id.lower()
        if not _IDENTITY.match(identity_id):
            raise InvalidInput(f"invalid identity id {identity_id!r}", [Detail(
                reason="a STIX identity id such as identity--0f2c3a3e-2f0b-4c5e-9d3a-1b2c3d4e5f60", field="identity")])
        if any(o.identity_id == identity_id for o in existing):
            raise Conflict(f"identity {identity_id!r} is already registered to a member")
    if country is not None and not _COUNTRY.match(country.upper()):
        raise InvalidInput(f"invalid country code {country!r}", [Detail(
            reason="an ISO 3166-1 alpha-2 code such as FR or DE", field="country")])
    if any(o.name.casefold() == name.casefold() for o in existing):
        raise Conflict(f"organisation {name!r} already exists (names are compared without case)")
    now = format_dt(clock.now())
    if identity_id is None:
        identity_id = f"identity--{ids.uuid4()}"
    org = store.add_org(name, country.upper() if country else None, identity_id, now)
    store.add_collection(str(ids.uuid4()), CollectionKind.PRIVATE, private_name(org), f"{name} (private)",
                         f"Private to {name}", org.org_id, int(DEFAULT_TLP[CollectionKind.PRIVATE]), now)
    identity: dict[str, object] = {
        "type": "identity", "spec_version": "2.1", "id": identity_id, "created": now, "modified": now,
        "name": name, "identity_class": "organization", "created_by_ref": identity_id,
        "description": f"Member of this Pacte hub{f' ({country.upper()})' if country else ''}.",
        "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
    }
    if country:
        identity["x_pacte_country"] = country.upper()
    community = ensure_community(store, ids, clock)
    report = share_objects(store, org, community, [identity], lambda: format_key(clock.now()), 8)
    if report.failures:
        raise Conflict(f"could not publish the identity of {name!r}: {report.outcomes[0].reason}")
    return org


def require_org(store: Store, name: str) -> Org:
    """Return the member with this name or raise NotFound."""
    org = store.org_by_name(name)
    if org is None:
        raise NotFound(f"no organisation named {name!r}")
    return org


def new_token(store: Store, ids: Ids, clock: Clock, org: Org, role: Role,
              label: str | None) -> tuple[Token, str]:
    """Create a token for a member; return it and its secret (shown once, stored hashed)."""
    secret = new_secret()
    token_id = "tok_" + ids.uuid4().hex[-16:]
    token = store.add_token(token_id, org.org_id, role, label, hash_secret(secret), format_dt(clock.now()))
    return token, secret


def add_group(store: Store, ids: Ids, clock: Clock, name: str, members: Sequence[Org],
              description: str | None = None) -> Collection:
    """Create a sharing group (a collection whose audience is its members)."""
    _check_name("group", name)
    if name == COMMUNITY or name.startswith("private:") or store.collection_by_name(name) is not None:
        raise Conflict(f"a collection named {name!r} already exists")
    if not members:
        raise InvalidInput("a sharing group needs at least one member", [Detail(
            reason="give --member at least once", field="member")])
    coll = store.add_collection(str(ids.uuid4()), CollectionKind.GROUP, name, name, description, None,
                                int(DEFAULT_TLP[CollectionKind.GROUP]), format_dt(clock.now()))
    for org in members:
        store.add_member(coll.cid, org.org_id)
    return coll


def require_group(store: Store, name: str) -> Collection:
    """Return the sharing group with this name or raise NotFound."""
    coll = store.collection_by_name(name)
    if coll is None or coll.kind is not CollectionKind.GROUP:
        raise NotFound(f"no sharing group named {name!r}")
    return coll


def group_view(store: Store, coll: Collection) -> dict[str, object]:
    """Return a group with its member names, as JSON-ready data."""
    names = {o.org_id: o.name for o in store.list_orgs()}
    return {"id": coll.uuid, "name": coll.name, "description": coll.description,
            "default_tlp": coll.default_tlp, "members": [names[m] for m in store.members_of(coll.cid)]}


def identity_json(org: Org) -> bytes:
    """Return a compact JSON summary of a member."""
    return orjson.dumps({"name": org.name, "country": org.country, "identity": org.identity_id})
