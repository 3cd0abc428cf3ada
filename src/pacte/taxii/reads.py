"""Reads for TAXII: one or more hub queries (one per version selector), merged in added order.

Every read goes through :meth:`pacte.hub.Hub.query`, so the sharing policy's SQL clause is in
every statement; nothing is filtered in Python except the merge of already-authorised pages.
"""

from __future__ import annotations

from collections.abc import Sequence

from pacte.hub import Hub
from pacte.store.base import ObjectQuery, Page, StoredObject, VersionSelect
from pacte.taxii.envelope import UNVERSIONED_KEY
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


def read_page(hub: Hub, reader: int, cid: int, f: Filters, ids: Sequence[str] | None = None) -> Page:
    """Return one page of what the reader may read in a collection under these filters."""
    if not f.spec_matches:
        return Page()
    pages: list[Page] = []
    for versions, keys in _variants(f):
        pages.append(hub.query(ObjectQuery(
            reader=reader, collection=cid, ids=list(ids if ids is not None else f.ids), types=f.types,
            added_after=f.added_after, after_seq=f.after_seq, versions=versions, version_keys=keys,
            limit=f.limit)))
    if len(pages) == 1:
        return pages[0]
    merged: dict[int, StoredObject] = {}
    for page in pages:
        for item in page.items:
            merged[item.seq] = item
    items = [merged[s] for s in sorted(merged)]
    return Page(items[:f.limit], len(items) > f.limit or any(p.more for p in pages))


def readable(hub: Hub, reader: int, cid: int, obj_id: str) -> bool:
    """Return True if the reader may read some version of the object in the collection."""
    page = hub.query(ObjectQuery(reader=reader, collection=cid, ids=[obj_id], versions="all", limit=1))
    return bool(page.items)
