"""Reads for TAXII: one or more hub queries (one per version selector), merged in added order.

Every read goes through :meth:`pacte.hub.Hub.query`, so the sharing policy's SQL clause is in
every statement; nothing is filtered in Python except the merge of already-authorised pages.

The shares of one write all have one added time, so ``date_added`` runs of equal values are
common. A page that is cut (``more``) inside such a run ends before the run, so a client that
pages with ``added_after`` = the previous page's ``X-TAXII-Date-Added-Last`` skips nothing. A
run longer than ``limit`` (it starts at the page's first object) cannot be ended early: that page
is cut inside it, and only ``next`` pages through it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pacte.hub import Hub
from pacte.store.base import ObjectQuery, Page, StoredObject, VersionSelect
from pacte.taxii.envelope import UNVERSIONED_KEY, taxii_timestamp
from pacte.taxii.filters import Filters


def _variants(f: Filters) -> list[tuple[VersionSelect, Sequence[str]]]:
    if "all" in f.keywords:
        return [("all", ())]
    out: list[tuple[VersionSelect, Sequence[str]]] = []
    for kw in f.keywords:
        out.append(("first" if kw == "first" else "last", ()))
    if f.version_keys:
        keys = list(f.version_keys)
        if UNVERSIONED_KEY in keys:
            keys.append("")  # the version manifests give unversioned objects (observables)
        out.append(("all", keys))
    return out


def _whole_runs(items: list[StoredObject], limit: int) -> Page:
    """Return the first ``limit`` items, ending before a run of equal ``date_added`` that the cut would split.

    ``items`` holds up to ``limit + 1`` readable items (the one past the page tells whether a run is
    split); a run that starts at the first item is kept whole up to ``limit`` (see the module's docstring).
    """
    if len(items) <= limit:
        return Page(items, False)
    page = items[:limit]
    split = taxii_timestamp(items[limit].added)
    start = limit
    while start > 0 and taxii_timestamp(page[start - 1].added) == split:
        start -= 1
    return Page(page[:start] if start > 0 else page, True)


def read_page(hub: Hub, reader: int, cid: int, f: Filters, ids: Sequence[str] | None = None) -> Page:
    """Return one page of what the reader may read in a collection under these filters.

    A page cut inside a run of equal ``date_added`` ends before that run (see the module's docstring).
    """
    if not f.spec_matches:
        return Page()
    pages: list[Page] = []
    for versions, keys in _variants(f):  # one item past the page: whether the cut splits a run
        pages.append(hub.query(ObjectQuery(
            reader=reader, collection=cid, ids=list(ids if ids is not None else f.ids), types=f.types,
            added_after=f.added_after, after_seq=f.after_seq, versions=versions, version_keys=keys,
            limit=f.limit + 1)))
    if len(pages) == 1:
        return _whole_runs(pages[0].items, f.limit)
    merged: dict[int, StoredObject] = {}
    for page in pages:
        for item in page.items:
            merged[item.seq] = item
    items = [merged[s] for s in sorted(merged)]
    # a variant with more holds limit + 1 items, so the merge does too: more follow iff it is over the limit
    return _whole_runs(items[:f.limit + 1], f.limit)


def readable(hub: Hub, reader: int, cid: int, obj_id: str) -> bool:
    """Return True if the reader may read some version of the object in the collection."""
    page = hub.query(ObjectQuery(reader=reader, collection=cid, ids=[obj_id], versions="all", limit=1))
    return bool(page.items)
