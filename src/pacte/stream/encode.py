"""What a delivered event looks like: one JSON document, framed as SSE or posted to a webhook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from pacte.stix.markings import Tlp
from pacte.store.base import ObjectQuery, Store
from pacte.store.events import OBJECT, EventRow

_CHUNK = 500


def referenced_ids(doc: str) -> set[str]:
    """Return the ids an object refers to through its top-level ``*_ref`` and ``*_refs`` properties."""
    obj = orjson.loads(doc)
    out: set[str] = set()
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        if key.endswith("_ref") and isinstance(value, str):
            out.add(value)
        elif key.endswith("_refs") and isinstance(value, list):
            out.update(v for v in value if isinstance(v, str))
    return out


def readable_references(store: Store, reader: int, rows: Sequence[EventRow]) -> dict[str, str]:
    """Return {id: doc} of the latest versions the reader may read among the objects the rows refer to.

    The lookup is an ordinary policy-filtered read (``pacte.policy.visible`` in its SQL): an object the
    reader may not read is never returned, so it is never sent as a dependency either.
    """
    wanted: set[str] = set()
    for row in rows:
        if row.kind == OBJECT and row.doc is not None:
            wanted |= referenced_ids(row.doc)
    found: dict[str, str] = {}
    ordered = sorted(wanted)
    for i in range(0, len(ordered), _CHUNK):
        page = store.query(ObjectQuery(reader=reader, ids=ordered[i:i + _CHUNK], limit=10_000))
        found.update((item.id, item.doc) for item in page.items)
    return found


def _fields(row: EventRow, refs: dict[str, str] | None) -> bytes:
    """Return the event's JSON without its id: ``{"kind": ..., ...}`` (the same for every reader)."""
    data: dict[str, object] = {"kind": row.kind, "time": row.time}
    if row.collection_id is not None:
        data["collection"] = {"id": row.collection_id, "name": row.collection_name}
    if row.kind == OBJECT and row.doc is not None:
        data["producer"] = row.producer
        if row.tlp is not None:
            data["tlp"] = Tlp(row.tlp).label if row.tlp in Tlp._value2member_map_ else None
        data["object"] = orjson.Fragment(row.doc)
        if refs is not None:
            mine = sorted(referenced_ids(row.doc))
            data["references"] = [orjson.Fragment(refs[r]) for r in mine if r in refs and r != row.object_id]
    return orjson.dumps(data)


def event_json(row: EventRow, event_id: str, refs: dict[str, str] | None = None) -> bytes:
    """Return the JSON document of one event, ``event`` being the reader's opaque id of it.

    With ``refs``, the readable objects it refers to are added.
    """
    return b'{"event":"' + event_id.encode() + b'",' + _fields(row, refs)[1:]


@dataclass(frozen=True, slots=True)
class Framed:
    """One event framed for SSE but for its id, which differs per reader: built once, sent to many."""

    eid: int
    head: bytes  # between the id line's value and the id in the JSON
    tail: bytes  # after the id in the JSON, up to the blank line

    def sse(self, event_id: bytes) -> bytes:
        """Return the SSE bytes of the event with this reader's opaque id (``id:`` and ``data.event``)."""
        return b"".join((b"id: ", event_id, self.head, event_id, self.tail))


def frame(row: EventRow, refs: dict[str, str] | None = None) -> Framed:
    """Return one event framed for Server-Sent Events, waiting for its id (compact JSON holds no newline)."""
    return Framed(row.eid, b'\nevent: %s\ndata: {"event":"' % row.kind.encode(),
                  b'",' + _fields(row, refs)[1:] + b"\n\n")


def sse_error(code: str, message: str) -> bytes:
    """Return an SSE ``error`` event (sent just before the server closes a stream)."""
    return b"event: error\ndata: %s\n\n" % orjson.dumps({"code": code, "message": message})
