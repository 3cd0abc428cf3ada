"""The hub: members, channels and objects, with every rule applied; what the API, TAXII and CLI call."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from pacte.config import Settings
from pacte.correlate.counts import Facts, Tally, tallies
from pacte.correlate.links import Filters, Links
from pacte.errors import Forbidden, NotFound
from pacte.hub import findings
from pacte.hub.auth import Principal, authenticate
from pacte.hub.clock import Clock, Ids, RandomIds, SystemClock
from pacte.hub.members import COMMUNITY, ensure_community
from pacte.hub.positions import Positions, ReaderPositions, Surface
from pacte.hub.sharing import AfterWrite, ShareReport, share_objects
from pacte.ledger.record import Recorder
from pacte.policy import check_write
from pacte.stix.extension import Grading, canonical_objects
from pacte.stix.markings import canonical_marking
from pacte.stix.timestamps import format_key, normalize
from pacte.store import Store, open_store
from pacte.store.base import Collection, ObjectQuery, Org, Page, StoredObject

_HUB_OBJECTS = canonical_objects()
_REF_KEYS = ("object_refs", "source_ref", "target_ref", "sighting_of_ref", "where_sighted_refs",
             "observed_data_refs", "sample_refs", "sample_ref")


class Hub:
    """One hub over one store; stateless between requests (no cached permissions)."""

    def __init__(self, store: Store, settings: Settings | None = None, clock: Clock | None = None,
                 ids: Ids | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self.ids: Ids = ids or RandomIds()
        self.community = ensure_community(store, self.ids, self.clock)
        self._positions: Positions | None = None
        self._score_facts: Facts = {}  # what each indicator version's score depends on, read once (correlate.counts)
        self.ledger = Recorder(lambda: self.clock.now())  # objects handed to readers (pacte.ledger)

    @classmethod
    def open(cls, settings: Settings) -> Hub:
        """Open the store named in the settings (creating or migrating it) and return a hub."""
        return cls(open_store(settings.db_url), settings)

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    @property
    def positions(self) -> Positions:
        """Return the sealer of opaque positions under this database's hub key (loaded on first use)."""
        found = self._positions
        if found is None:
            found = self._positions = Positions(self.store.hub_key())
        return found

    def positions_of(self, surface: Surface, org: Org) -> ReaderPositions:
        """Return the opaque positions of one member on one surface (cursors, ``next``, event ids)."""
        return self.positions.reader(surface, org.org_id)

    def now_key(self) -> str:
        """Return the current time in the store's sortable form."""
        return format_key(self.clock.now())

    def authenticate(self, secret: str | None) -> Principal:
        """Return who is calling; raise Unauthenticated."""
        return authenticate(self.store, secret)

    # channels
    def collections_for(self, org: Org) -> list[Collection]:
        """Return the collections the member reads (community, its groups, its private one)."""
        return self.store.readable_collections(org.org_id)

    def collection_for(self, org: Org, key: str) -> Collection:
        """Return a collection by uuid or name if the member reads it; hidden ones are NotFound."""
        coll = self.store.collection_by_uuid(key) or self.store.collection_by_name(key)
        if coll is None or not self.store.is_member(coll.cid, org.org_id):
            raise NotFound(f"no collection {key!r}")
        return coll

    def producer_filter(self, name: str | None) -> int | None:
        """Return the org id a ``producer`` filter names (None: no filter; an unknown name matches nothing)."""
        if name is None:
            return None
        org = self.store.org_by_name(name)
        return org.org_id if org else -1

    def can_write(self, principal: Principal, coll: Collection) -> bool:
        """Return True if the caller may share into the collection."""
        return principal.role.may_write and self.store.is_member(coll.cid, principal.org.org_id)

    # writes
    def share(self, principal: Principal, coll: Collection, objects: Sequence[Any],
              after: AfterWrite | None = None, grading: Grading | None = None) -> ShareReport:
        """Share objects into a collection as the caller's organisation (``grading``: where objects set none)."""
        check_write(principal.role, self.store.is_member(coll.cid, principal.org.org_id), coll.name)
        return self.share_as(principal.org, coll, objects, after, grading)

    def can_write_as(self, org: Org, coll: Collection) -> bool:
        """Return True if the member belongs to the collection's audience (operator paths)."""
        return self.store.is_member(coll.cid, org.org_id)

    def share_as(self, org: Org, coll: Collection, objects: Sequence[Any],
                 after: AfterWrite | None = None, grading: Grading | None = None) -> ShareReport:
        """Share objects as a member (operator path: import and demo); membership is still required."""
        if not self.store.is_member(coll.cid, org.org_id):
            raise Forbidden(f"{org.name} is not a member of collection {coll.name!r}")
        return share_objects(self.store, org, coll, objects, self.now_key, self.settings.max_depth, after, grading)

    # reads
    def query(self, q: ObjectQuery) -> Page:
        """Return one page of what the reader may read."""
        return self.store.query(q)

    def get_object(self, org: Org, obj_id: str, versions: str = "last") -> list[StoredObject]:
        """Return the readable versions of one object; NotFound when none is readable."""
        canonical = canonical_marking(obj_id) or _HUB_OBJECTS.get(obj_id.lower())
        if canonical is not None:  # a TLP definition or the Pacte extension: nobody may publish it, everybody reads it
            created = str(canonical["created"])
            return [StoredObject(0, str(canonical["id"]), str(canonical["type"]), normalize(created) or created,
                                 None, created, orjson.dumps(canonical).decode())]
        q = ObjectQuery(reader=org.org_id, ids=[obj_id], versions=versions, limit=10_000)  # type: ignore[arg-type]
        items = self.store.query(q).items
        if not items:
            raise NotFound(f"no object {obj_id!r}")
        return items

    def referenced(self, org: Org, docs: Sequence[str]) -> list[StoredObject]:
        """Return the latest readable versions of the objects these documents refer to."""
        refs: set[str] = set()
        for doc in docs:
            obj = orjson.loads(doc)
            for key in _REF_KEYS:
                value = obj.get(key)
                if isinstance(value, str):
                    refs.add(value)
                elif isinstance(value, list):
                    refs.update(v for v in value if isinstance(v, str))
            if isinstance(obj.get("created_by_ref"), str):
                refs.add(obj["created_by_ref"])
        return list(findings.latest_of(self.store, org.org_id, [r.lower() for r in refs]).values())

    def export(self, org: Org, types: Sequence[str] = (), versions: str = "last") -> Iterator[StoredObject]:
        """Yield everything the member may read (latest versions by default), indicators scored for it."""
        q = ObjectQuery(reader=org.org_id, types=list(types), versions=versions)  # type: ignore[arg-type]
        batch: list[StoredObject] = []
        for item in self.store.iter_all(q):
            batch.append(item)
            if len(batch) == 1000:
                yield from self.scored(org, batch)
                batch = []
        yield from self.scored(org, batch)

    # correlation, search, sightings, scores (pacte.hub.findings)
    def scored(self, org: Org, items: list[StoredObject]) -> list[StoredObject]:
        """Return read items with each indicator's score for this reader in the Pacte extension."""
        return findings.scored(self.store, org.org_id, items, self.clock.now(), self._score_facts)

    def correlations(self, org: Org, obj_id: str) -> Links:
        """Return the objects the member may read that correlate with one it may read (else NotFound)."""
        item = self.get_object(org, obj_id)[-1]
        return findings.correlations(self.store, org.org_id, item, self.settings.correlation_limit)

    def search(self, org: Org, value: str, filters: Filters, min_score: int | None = None,
               max_score: int | None = None) -> tuple[list[findings.Hit], Links]:
        """Return the objects the member may read holding a value or one linked to it, with why."""
        return findings.search(self.store, org.org_id, value, filters, self.settings.correlation_limit,
                               self.clock.now(), self._score_facts, min_score, max_score)

    def tally(self, org: Org, obj_id: str) -> Tally:
        """Return sighting counts and activity of one object the member may read (else NotFound)."""
        item = self.get_object(org, obj_id)[-1]
        return tallies(self.store, org.org_id, [item.id])[item.id]


__all__ = ["COMMUNITY", "Hub", "Principal"]
