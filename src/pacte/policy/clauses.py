"""The read rule as SQL: every condition that decides what a reader sees, with its parameters.

Each function returns a :class:`Clause`, the SQL text (``?`` placeholders) together with the
values of its placeholders in order, so no caller counts placeholders by hand. The store's
queries and the event log embed these clauses; nothing filters a page afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pacte.stix.markings import Tlp

# The most restrictive level a community collection carries (see MAX_TLP in pacte.policy).
COMMUNITY_MAX = int(Tlp.AMBER)


@dataclass(frozen=True, slots=True)
class Clause:
    """A SQL condition and the values of its ``?`` placeholders, in order."""

    sql: str
    params: tuple[Any, ...] = ()

    def __and__(self, other: Clause) -> Clause:
        """Return the conjunction of two clauses."""
        return Clause(f"({self.sql} AND {other.sql})", self.params + other.params)


def share_grants(c: str, v: str, reader: int) -> Clause:
    """Return the condition under which a share into collection alias ``c`` lets ``reader`` read version ``v``.

    The collection is live, the version's TLP (its own marking, else the collection's default)
    is one the hub can resolve and is allowed in that kind of collection, and the reader is in
    the collection's audience (every member for ``community``).
    """
    level = f"COALESCE({v}.tlp, {c}.default_tlp)"
    return Clause(
        f"({c}.deleted = 0 AND {level} <= {int(Tlp.RED)}"
        f" AND (CASE WHEN {c}.kind = 'community' THEN {level} <= {COMMUNITY_MAX}"
        f" ELSE EXISTS (SELECT 1 FROM members m{c} WHERE m{c}.cid = {c}.cid AND m{c}.org_id = ?) END))",
        (reader,))


def _own(v: str, reader: int) -> Clause:
    """Return the condition that ``reader`` produced version ``v`` or shared it (rows of hubs from before lines)."""
    return Clause(f"({v}.producer = ? OR EXISTS (SELECT 1 FROM sharers sh{v} WHERE sh{v}.vid = {v}.vid"
                  f" AND sh{v}.org_id = ?))", (reader, reader))


def shows(s: str, c: str, v: str, reader: int) -> Clause:
    """Return the condition that share ``s`` (into collection alias ``c``) of version ``v`` shows it to ``reader``.

    Every share of the reader's own version shows it (it produced or shared it); another's version
    is shown by the shares that grant it (:func:`share_grants`). A version is readable when one of
    its shares shows it, and it is listed at the first such share: a share the reader may not see
    never places a version (nor dates it).
    """
    own, grant = _own(v, reader), share_grants(c, v, reader)
    return Clause(f"({own.sql} OR {grant.sql})", (*own.params, *grant.params))


def visible(v: str, reader: int) -> Clause:
    """Return the condition under which ``reader`` may read version alias ``v``.

    A share of it shows it to the reader (:func:`shows`): the reader produced or shared it and
    it is still shared somewhere, or a share into a live collection grants it (:func:`share_grants`).
    A version withdrawn from every collection is read by nobody.
    """
    own, grant = _own(v, reader), share_grants(f"c{v}", v, reader)
    return Clause(
        f"(({own.sql} AND EXISTS (SELECT 1 FROM shares o{v} WHERE o{v}.vid = {v}.vid))"
        f" OR EXISTS (SELECT 1 FROM shares s{v} JOIN collections c{v} ON c{v}.cid = s{v}.cid"
        f" WHERE s{v}.vid = {v}.vid AND {grant.sql}))",
        (*own.params, *grant.params))


def shown_at(v: str, reader: int) -> Clause:
    """Return the SQL value of the sid of the first share of version ``v`` that shows it to ``reader`` (NULL: none).

    This is where the native listing places the version for that reader, and its added time dates it:
    a share the reader may not see never places a version nor dates it.
    """
    shown = shows(f"p{v}", f"pc{v}", v, reader)
    return Clause(f"(SELECT MIN(p{v}.sid) FROM shares p{v} JOIN collections pc{v} ON pc{v}.cid = p{v}.cid"
                  f" WHERE p{v}.vid = {v}.vid AND {shown.sql})", shown.params)


def first_shown(s: str, c: str, v: str, reader: int) -> Clause:
    """Return the condition that share ``s`` (into collection alias ``c``) of ``v`` is the first that shows it to ``reader``.

    That is, the share at :func:`shown_at`: the native listing walks shares in sid order and keeps
    these, each readable version once, at the reader's earliest share of it, in an order that no
    hidden share changes.
    """
    here, earlier = shows(s, c, v, reader), shows(f"e{s}", f"ec{s}", v, reader)
    return Clause(
        f"({here.sql} AND NOT EXISTS (SELECT 1 FROM shares e{s} JOIN collections ec{s} ON ec{s}.cid = e{s}.cid"
        f" WHERE e{s}.vid = {s}.vid AND e{s}.sid < {s}.sid AND {earlier.sql}))",
        (*here.params, *earlier.params))


def rank(v: str, reader: int) -> Clause:
    """Return the SQL row value that orders readable versions of one id in choosing ``reader``'s owner of it.

    A version naming its own producer as creator (``created_by_ref`` is the producer's registered
    identity) comes before one that does not; among equals, the one the reader was shown first
    (:func:`shown_at`). Both parts are read from what the reader may see, so no hidden post moves
    the order; two versions never tie (a share shows one version).
    """
    shown = shown_at(v, reader)
    return Clause(f"(CASE WHEN {v}.created_by_ref = (SELECT cl{v}.identity_id FROM orgs cl{v}"
                  f" WHERE cl{v}.org_id = {v}.producer) THEN 0 ELSE 1 END, {shown.sql})", shown.params)


def preferred(v: str, reader: int, which: Literal["last", "first"], collection: int | None = None) -> Clause:
    """Return the condition that readable version ``v`` is one that ``reader`` gets for its object id.

    Versions of one id form lines, one per producer, and the reader gets one line: its owner's
    as the reader sees them. The owner is the producer of the readable version that ranks first
    (:func:`rank`): the first version naming its own producer as creator that the reader
    was shown, else the first version it was shown. So a creator's claim beats a first poster's,
    nothing beats an earlier claim, and only versions the reader may read take part: a post it
    cannot see never decides whose line it gets. Within the line, the latest (``last``) or
    earliest (``first``) readable version. With ``collection``, only versions shared into that
    collection take part.
    """
    op = ">" if which == "last" else "<"

    def scope(a: str) -> tuple[str, tuple[Any, ...]]:
        if collection is None:
            return "", ()
        return f" JOIN shares s_{a} ON s_{a}.vid = {a}.vid AND s_{a}.cid = ?", (collection,)

    scope2, scope3 = scope("v2"), scope("v3")
    seen2, seen3 = visible("v2", reader), visible("v3", reader)
    rank2, rank3 = rank("v2", reader), rank("v3", reader)
    # v's line is displaced by a readable v2 of another producer that ranks before every readable version of v's line.
    # Inside CASE, not a bare NOT EXISTS: PostgreSQL turns a top-level NOT EXISTS into an anti-join and may hash every
    # version of the collection for it (33 ms instead of 2 for a type page read by its producer); under CASE it stays
    # a per-row look-up by id that stops at the first row, as in SQLite.
    sql = (
        f"CASE WHEN EXISTS (SELECT 1 FROM versions v2{scope2[0]} WHERE v2.id = {v}.id AND v2.vid <> {v}.vid"
        f" AND ((v2.producer = {v}.producer AND v2.vkey {op} {v}.vkey AND {seen2.sql})"
        f" OR (v2.producer <> {v}.producer AND {seen2.sql} AND NOT EXISTS (SELECT 1 FROM versions v3{scope3[0]}"
        f" WHERE v3.id = {v}.id AND v3.producer = {v}.producer AND {seen3.sql} AND {rank3.sql} < {rank2.sql})))) THEN 0 ELSE 1 END = 1"
    )
    # the cheap producer and version tests come first: SQLite evaluates the terms in order
    return Clause(sql, (*scope2[1], *seen2.params, *seen2.params, *scope3[1], *seen3.params, *rank3.params,
                        *rank2.params))
