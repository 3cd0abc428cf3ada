"""Subscription filters (type, producer, collection, TLP, label) and how they become log queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pacte.errors import Detail, InvalidInput
from pacte.hub import Hub
from pacte.stix.markings import Tlp
from pacte.store.base import Org
from pacte.store.events import EventQuery

_MAX_VALUES = 50


@dataclass(frozen=True, slots=True)
class Filters:
    """Resolved filters: equal filters of one member share one query per round."""

    types: tuple[str, ...] = ()
    producer: int | None = None
    collection: int | None = None
    tlp: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    refs: bool = False

    def query(self, reader: int, after: int, upto: int, limit: int) -> EventQuery:
        """Return the log query of a reader for events in (after, upto]."""
        return EventQuery(reader=reader, after=after, upto=upto, limit=limit, types=self.types,
                          producer=self.producer, collection=self.collection, tlp=self.tlp, labels=self.labels)

    def as_json(self) -> dict[str, Any]:
        """Return the filters as JSON-ready data (ids, as stored with a webhook)."""
        return {"types": list(self.types), "producer": self.producer, "collection": self.collection,
                "tlp": list(self.tlp), "labels": list(self.labels), "refs": self.refs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Filters:
        """Return filters stored by :meth:`as_json`."""
        return cls(tuple(data.get("types", ())), data.get("producer"), data.get("collection"),
                   tuple(int(t) for t in data.get("tlp", ())), tuple(data.get("labels", ())), bool(data.get("refs")))


def _many(name: str, values: Sequence[str] | None) -> tuple[str, ...]:
    out = tuple(sorted({v.strip() for v in values or () for v in v.split(",") if v.strip()}))
    if len(out) > _MAX_VALUES:
        raise InvalidInput(f"too many {name} values", [Detail(reason=f"at most {_MAX_VALUES}", field=name)])
    return out


def resolve(hub: Hub, org: Org, types: Sequence[str] | None = None, producer: str | None = None,
            collection: str | None = None, tlp: Sequence[str] | None = None, labels: Sequence[str] | None = None,
            refs: bool = False) -> Filters:
    """Return filters from request values; NotFound for a collection the member does not read."""
    producer_id: int | None = None
    if producer:
        found = hub.store.org_by_name(producer)
        producer_id = found.org_id if found else -1  # matches nothing, like the object list
    cid = hub.collection_for(org, collection).cid if collection else None
    levels: list[int] = []
    for name in _many("tlp", tlp):
        try:
            levels.append(int(Tlp.parse(name)))
        except ValueError:
            raise InvalidInput(f"unknown TLP level {name!r}", [Detail(
                reason="one of clear, green, amber, amber+strict, red", field="tlp")]) from None
    return Filters(_many("type", types), producer_id, cid, tuple(sorted(set(levels))), _many("label", labels), refs)
