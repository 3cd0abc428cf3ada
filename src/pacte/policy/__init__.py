"""The sharing policy: the one place that decides who may read and who may write what.

Rules (documented in ARCHITECTURE.md, checked against an independent oracle in the tests):

* The member that shared an object version reads it back while any share of it remains (a
  version its producer withdrew from every collection, by TAXII DELETE, is read by nobody).
* TLP:CLEAR, TLP:GREEN and TLP:AMBER objects are read by the members of the audience of a
  collection they were shared into: every member for ``community``, the group's members for
  a sharing group, the owner alone for a private collection.
* TLP:AMBER+STRICT and TLP:RED may only be shared into a sharing group or a private
  collection, never into ``community`` (the write is refused).
* An object without a TLP marking takes the default marking of the collection it was shared
  into (``community``: TLP:GREEN; groups and private: TLP:AMBER), evaluated at read time.
* Markings that are not TLP (e.g. a copyright statement) do not restrict reading. A marking
  reference the hub cannot resolve, or an audience that no longer exists, means the object is
  readable by its producer only (fail closed).
* Nothing is cached: each request sees the memberships and tokens as they are now.

* Versions of one object id form lines, one per producer: a member posting a version of an id
  another member holds (another member's object, one relayed first by someone else, a guessed
  id) publishes its own line, never someone else's. Each reader gets one line per id, chosen
  from what it may read alone: the first version it was shown that names its own producer as
  creator, else the first version it was shown (:func:`pacte.policy.clauses.preferred`).
* A marking definition governs only the objects of the member that published it: another
  member's definition of the same id never changes who reads them, so a reference stays
  producer-only until its own producer publishes the definition. The TLP ids built into the hub
  (OASIS TLP 1.0 and 2.0, and those the field's main tools mint) are their levels everywhere,
  and nobody may publish them.

Read paths never filter pages in Python: they embed the clauses of :mod:`pacte.policy.clauses`
(each returns its SQL and its parameters together) in their SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from pacte.errors import Detail, Forbidden, PolicyRefused
from pacte.policy.clauses import COMMUNITY_MAX, Clause, preferred, share_grants, visible
from pacte.stix.markings import NON_RESTRICTING, TLP_BY_ID, Tlp

__all__ = ["COMMUNITY_MAX", "DEFAULT_TLP", "MAX_TLP", "Clause", "CollectionKind", "Role", "check_default_tlp",
           "check_share", "check_write", "explicit_level", "preferred", "share_grants", "stored_level", "visible"]


class Role(StrEnum):
    """What a token of a member may do: read; also share; also manage the member's tokens."""

    READER = "reader"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def may_write(self) -> bool:
        """Return True if the role may share objects."""
        return self in (Role.ANALYST, Role.ADMIN)


class CollectionKind(StrEnum):
    """The kinds of sharing channel the hub has."""

    COMMUNITY = "community"
    GROUP = "group"
    PRIVATE = "private"


DEFAULT_TLP: dict[CollectionKind, Tlp] = {
    CollectionKind.COMMUNITY: Tlp.GREEN,
    CollectionKind.GROUP: Tlp.AMBER,
    CollectionKind.PRIVATE: Tlp.AMBER,
}

# The most restrictive level each kind of collection may carry.
MAX_TLP: dict[CollectionKind, Tlp] = {
    CollectionKind.COMMUNITY: Tlp(COMMUNITY_MAX),
    CollectionKind.GROUP: Tlp.RED,
    CollectionKind.PRIVATE: Tlp.RED,
}


def explicit_level(markings: Iterable[str], held: Mapping[str, int]) -> tuple[int | None, list[str]]:
    """Return the most restrictive TLP level among the resolvable markings, and the unresolved refs.

    ``held`` maps the ids of marking definitions the hub holds to their level
    (``NON_RESTRICTING`` for markings that are not TLP). The level is None when no resolvable
    marking is TLP. See :func:`stored_level` for what is recorded.
    """
    level: int | None = None
    unresolved: list[str] = []
    for ref in markings:
        tlp = TLP_BY_ID.get(ref)
        found = int(tlp) if tlp is not None else held.get(ref)
        if found is None:
            unresolved.append(ref)
        elif found != NON_RESTRICTING:
            level = found if level is None else max(level, found)
    return level, unresolved


def stored_level(level: int | None, unresolved: Sequence[str]) -> int | None:
    """Return the level a version is stored with: any unresolved marking means producer-only."""
    return int(Tlp.UNKNOWN) if unresolved else level


def check_share(kind: CollectionKind, level: int | None, obj_id: str) -> None:
    """Raise PolicyRefused if an object of this level may not be shared into this kind."""
    if level is None or level == Tlp.UNKNOWN:
        return
    if level > MAX_TLP[kind]:
        raise PolicyRefused(
            f"{Tlp(level).label} may only be shared into a sharing group, never into {kind.value}",
            [Detail(reason=f"{Tlp(level).label} is not allowed in a {kind.value} collection",
                     field="object_marking_refs", object_id=obj_id)],
        )


def check_default_tlp(kind: CollectionKind, level: Tlp) -> None:
    """Raise PolicyRefused if a collection of this kind may not default to this level."""
    if level > MAX_TLP[kind]:
        raise PolicyRefused(f"a {kind.value} collection cannot default to {level.label}", [Detail(
            reason=f"at most {MAX_TLP[kind].label} in a {kind.value} collection", field="default_tlp")])


def check_write(role: Role, is_member: bool, collection_name: str) -> None:
    """Raise Forbidden unless a token of this role, of a member of the collection, may write."""
    if not role.may_write:
        raise Forbidden(f"the {role.value} role cannot share objects; an analyst or admin token is needed")
    if not is_member:
        raise Forbidden(f"your organisation is not a member of collection {collection_name!r}")
