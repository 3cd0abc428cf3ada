"""Rendering TAXII 2.1 resources: media types, envelopes, manifests, versions, collections.

Stored objects are already compact JSON, so envelopes are assembled from the stored bytes
without parsing them again.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from pacte.errors import NotAcceptable, UnsupportedMediaType
from pacte.hub.positions import ReaderPositions
from pacte.store.base import Collection, StoredObject
from pacte.taxii.filters import encode_next

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_TAXII_TYPE = "application/taxii+json"


def _media_ranges(header: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for part in header.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        values: dict[str, str] = {}
        for p in params:
            name, _, value = p.partition("=")
            values[name.strip().lower()] = value.strip().strip('"')
        out.append((kind.lower(), values))
    return out


def check_accept(header: str | None) -> None:
    """Raise NotAcceptable unless the Accept header admits TAXII 2.1 (absent means anything)."""
    if header is None or not header.strip():
        return
    for kind, params in _media_ranges(header):
        if params.get("q") in ("0", "0.0", "0.00", "0.000"):
            continue
        if kind in ("*/*", "application/*"):
            return
        if kind == _TAXII_TYPE and params.get("version", "2.1") == "2.1":
            return
    raise NotAcceptable("this server answers in application/taxii+json;version=2.1 only")


def check_content_type(header: str | None) -> None:
    """Raise UnsupportedMediaType unless the body is declared as TAXII 2.1 JSON."""
    ranges = _media_ranges(header or "")
    kind, params = ranges[0]
    if len(ranges) != 1 or kind != _TAXII_TYPE or params.get("version", "2.1") != "2.1":
        raise UnsupportedMediaType(
            f"Content-Type must be {TAXII_MEDIA_TYPE}, not {header or 'missing'}")


def taxii(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a TAXII JSON response."""
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type=TAXII_MEDIA_TYPE)


def taxii_timestamp(key: str) -> str:
    """Return a stored added time (nanosecond key) as a TAXII timestamp: exactly microseconds.

    The value is truncated, so objects added within one microsecond (the objects of one POST may
    be) share a ``date_added``; ``added_after`` is read the same way (see ``filters``).
    """
    return key[:26] + "Z"


def date_headers(items: list[StoredObject]) -> dict[str, str]:
    """Return the X-TAXII-Date-Added-First/Last headers for the items of a response."""
    if not items:
        return {}
    return {"X-TAXII-Date-Added-First": taxii_timestamp(items[0].added),
            "X-TAXII-Date-Added-Last": taxii_timestamp(items[-1].added)}


def _head(items: list[StoredObject], more: bool, cursors: ReaderPositions) -> bytes:
    head: dict[str, Any] = {"more": more}
    if more and items:
        head["next"] = encode_next(cursors, items[-1].seq)
    return orjson.dumps(head)


def envelope(items: list[StoredObject], more: bool, cursors: ReaderPositions) -> Response:
    """Return an envelope of stored objects (empty resource when there are none)."""
    if not items:
        return taxii({})
    body = _head(items, more, cursors)[:-1] + b',"objects":[' + ",".join(i.doc for i in items).encode() + b"]}"
    return Response(body, media_type=TAXII_MEDIA_TYPE, headers=date_headers(items))


# The version of what the hub keeps unversioned (cyber-observables: no modified, no created of their own). TAXII
# 2.1 section 3.4.1 asks for a value consistent across the server: one fixed timestamp, which match[version]
# selects too (see reads.py), as medallion does.
UNVERSIONED = "1970-01-01T00:00:00.000Z"
UNVERSIONED_KEY = "1970-01-01T00:00:00.000000000Z"


def version_of(item: StoredObject) -> str:
    """Return an object's TAXII version: ``modified``, else ``created`` (as sent); unversioned objects one fixed value."""
    if not item.vkey:
        return UNVERSIONED
    if item.modified is not None:
        return item.modified
    created = orjson.loads(item.doc).get("created")
    return created if isinstance(created, str) else item.vkey


def manifest(items: list[StoredObject], more: bool, cursors: ReaderPositions) -> Response:
    """Return a manifest resource for stored objects."""
    if not items:
        return taxii({})
    records = [{"id": i.id, "date_added": taxii_timestamp(i.added), "version": version_of(i),
                "media_type": STIX_MEDIA_TYPE}
               for i in items]
    body = _head(items, more, cursors)[:-1] + b',"objects":' + orjson.dumps(records) + b"}"
    return Response(body, media_type=TAXII_MEDIA_TYPE, headers=date_headers(items))


def versions(items: list[StoredObject], more: bool, cursors: ReaderPositions) -> Response:
    """Return a versions resource for the stored versions of one object."""
    if not items:
        return taxii({})
    body = {"more": more, "versions": [version_of(i) for i in items]}
    if more:
        body["next"] = encode_next(cursors, items[-1].seq)
    return taxii(body, headers=date_headers(items))


def collection_resource(coll: Collection, can_write: bool) -> dict[str, Any]:
    """Return the TAXII collection resource of a sharing channel."""
    out: dict[str, Any] = {"id": coll.uuid, "title": coll.title, "alias": coll.name, "can_read": True,
                           "can_write": can_write, "media_types": [STIX_MEDIA_TYPE]}
    if coll.description:
        out["description"] = coll.description
    return out
