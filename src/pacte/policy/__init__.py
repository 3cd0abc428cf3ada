"""The sharing policy: the one place that decides who may read and who may write what.

Rules (documented in ARCHITECTURE.md, checked against an independent oracle in the tests):

* The member that shared an object version always reads it back.
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

Read paths never filter pages in Python: they embed :func:`visible_clause` in their SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from pacte.errors import Detail, Forbidden, PolicyRefused
from pacte.stix.markings import NON_RESTRICTING, TLP_BY_ID, Tlp


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
    CollectionKind.COMMUNITY: Tlp.AMBER,
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


def visible_clause(v: str = "v") -> str:
    """Return the SQL condition under which reader ``:reader`` may read version alias ``v``.

    The parameter style is ``?`` for one ``reader`` value, repeated; callers pass the reader's
    organisation id for every placeholder (see :func:`visible_params`).
    """
    level = f"COALESCE({v}.tlp, c.default_tlp)"
    return (
        f"({v}.producer = ?"
        f" OR EXISTS (SELECT 1 FROM sharers sh WHERE sh.vid = {v}.vid AND sh.org_id = ?)"
        f" OR EXISTS (SELECT 1 FROM shares s JOIN collections c ON c.cid = s.cid"
        f" WHERE s.vid = {v}.vid AND c.deleted = 0 AND {level} <= {int(Tlp.RED)}"
        f" AND (CASE WHEN c.kind = 'community' THEN {level} <= {int(MAX_TLP[CollectionKind.COMMUNITY])}"
        f" ELSE EXISTS (SELECT 1 FROM members m WHERE m.cid = c.cid AND m.org_id = ?) END)))"
    )


VISIBLE_PARAMS_PER_CLAUSE = 3


def visible_params(reader: int) -> list[int]:
    """Return the parameters :func:`visible_clause` needs for one reader."""
    return [reader] * VISIBLE_PARAMS_PER_CLAUSE
