"""The storage interface: records, queries and the typed Protocol every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pacte.policy import CollectionKind, Role
from pacte.store.correlations import KeyMatch, LineActivity, SightingRow, SightingSeen
from pacte.store.drafts import AnalysisRecord, Decision
from pacte.store.events import Delivery, EventQuery, EventRow, Webhook
from pacte.store.ledger import ReadCount, ShareCount, SightingFact


@dataclass(frozen=True, slots=True)
class Org:
    """A member organisation of the hub."""

    org_id: int
    name: str
    country: str | None
    identity_id: str
    created: str


@dataclass(frozen=True, slots=True)
class Token:
    """An API token of a member (the secret itself is never stored)."""

    token_id: str
    org_id: int
    role: Role
    label: str | None
    created: str
    revoked: str | None


@dataclass(frozen=True, slots=True)
class Collection:
    """A sharing channel: community, a sharing group, or a member's private collection."""

    cid: int
    uuid: str
    kind: CollectionKind
    name: str
    title: str
    description: str | None
    owner_org: int | None
    default_tlp: int
    deleted: bool
    created: str


@dataclass(slots=True)  # not frozen: one per object on the ingest path
class VersionRow:
    """A new object version as the write path inserts it."""

    id: str
    type: str
    vkey: str
    modified: str | None
    created: str | None
    producer: int
    created_by_ref: str | None
    relayed: bool
    tlp: int | None
    revoked: bool
    sha: str
    doc: str
    keys: tuple[str, ...] = ()  # correlation keys (pacte.stix.values)
    sighting: SightingRow | None = None  # what a sighting version says


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object version as a read path returns it."""

    seq: int  # added order in the queried scope (share id in a collection, version id otherwise)
    id: str
    type: str
    vkey: str
    modified: str | None
    added: str
    doc: str
    producer: int = 0  # the member whose line this version is (0: the hub's own TLP definitions)


VersionSelect = Literal["last", "first", "all"]


@dataclass(slots=True)
class ObjectQuery:
    """What a reader asks for; every field narrows the result."""

    reader: int
    collection: int | None = None
    ids: Sequence[str] = ()
    types: Sequence[str] = ()
    producer: int | None = None
    modified_from: str | None = None  # normalised keys, inclusive
    modified_to: str | None = None
    added_after: str | None = None  # normalised key, exclusive
    after_seq: int = 0  # opaque cursor: only rows past this seq
    versions: VersionSelect = "last"
    version_keys: Sequence[str] = ()  # exact versions (normalised); overrides ``versions``
    limit: int = 1000


@dataclass(slots=True)
class Page:
    """A page of results in added order, with whether more follow."""

    items: list[StoredObject] = field(default_factory=list)
    more: bool = False

    @property
    def next_seq(self) -> int:
        """Return the cursor that continues after this page."""
        return self.items[-1].seq if self.items else 0


@dataclass(frozen=True, slots=True)
class ExistingVersion:
    """A stored version as the write path sees it when deciding."""

    vid: int
    id: str
    vkey: str
    sha: str
    producer: int


@dataclass(frozen=True, slots=True)
class MarkingDef:
    """A marking definition as one producer published it, with the version that carries it."""

    marking_id: str
    org_id: int
    level: int
    vid: int


class WriteTxn(Protocol):
    """Lookups and inserts available inside one write transaction."""

    def existing_versions(self, ids: Sequence[str], producer: int) -> list[ExistingVersion]:
        """Return the stored versions of these object ids in the line of ``producer``."""
        ...

    def marking_levels(self, ids: Sequence[str], org_id: int) -> list[MarkingDef]:
        """Return the definitions of these markings that ``org_id`` published."""
        ...

    def member_identities(self, identity_ids: Sequence[str]) -> dict[str, int]:
        """Return {identity id: org id} for identities that belong to members."""
        ...

    def insert_versions(self, rows: Sequence[VersionRow], added: str) -> list[int]:
        """Insert new versions and return their version ids, in order."""
        ...

    def insert_shares(self, shares: Sequence[tuple[int, int, int, str]], now: str) -> list[bool]:
        """Insert (vid, cid, org, type) shares, all with the write transaction's added time; True if new."""
        ...

    def record_markings(self, defs: Sequence[MarkingDef]) -> list[int]:
        """Store marking definitions; return the vids of their producers' versions now fully resolved."""
        ...

    def add_unresolved(self, pairs: Sequence[tuple[int, str]]) -> None:
        """Remember (vid, marking id) references that could not be resolved."""
        ...

    def version_docs(self, vids: Sequence[int]) -> dict[int, str]:
        """Return the stored JSON of versions."""
        ...

    def set_version_tlp(self, updates: Sequence[tuple[int, int | None]]) -> None:
        """Update the explicit TLP level of versions."""
        ...

    def save_taxii_status(self, status_id: str, org_id: int, created: str, doc: str, purge_before: str) -> None:
        """Store a TAXII status resource in this transaction; purge those created before ``purge_before``."""
        ...


class Store(Protocol):
    """Everything the hub keeps, behind one interface (SQLite and PostgreSQL)."""

    dialect: str

    def close(self) -> None:
        """Release connections."""
        ...

    def schema_version(self) -> int:
        """Return the schema version the database is at."""
        ...

    def hub_key(self, name: str = "positions") -> bytes:
        """Return the hub's 256-bit secret key ``name``, creating it at random on first use (store/keys.py)."""
        ...

    # members and tokens
    def add_org(self, name: str, country: str | None, identity_id: str, now: str) -> Org:
        """Create a member organisation."""
        ...

    def list_orgs(self) -> list[Org]:
        """Return all member organisations by name."""
        ...

    def org_by_name(self, name: str) -> Org | None:
        """Return the member with this name."""
        ...

    def org_by_id(self, org_id: int) -> Org | None:
        """Return the member with this id."""
        ...

    def add_token(self, token_id: str, org_id: int, role: Role, label: str | None, secret_hash: str,
                  now: str) -> Token:
        """Store a new token (its secret only as a hash)."""
        ...

    def list_tokens(self, org_id: int | None = None) -> list[Token]:
        """Return tokens, all or one member's."""
        ...

    def revoke_token(self, token_id: str, now: str, org_id: int | None = None) -> bool:
        """Revoke a token (optionally only if it belongs to org_id); True if it was active."""
        ...

    def token_by_hash(self, secret_hash: str) -> tuple[Token, Org] | None:
        """Return the active token with this secret hash and its member."""
        ...

    # collections
    def add_collection(self, uuid: str, kind: CollectionKind, name: str, title: str,
                       description: str | None, owner_org: int | None, default_tlp: int,
                       now: str) -> Collection:
        """Create a collection."""
        ...

    def list_collections(self) -> list[Collection]:
        """Return every live collection."""
        ...

    def collection_by_name(self, name: str) -> Collection | None:
        """Return the live collection with this name."""
        ...

    def collection_by_uuid(self, uuid: str) -> Collection | None:
        """Return the live collection with this uuid."""
        ...

    def delete_collection(self, cid: int) -> None:
        """Mark a collection deleted: its audience no longer exists."""
        ...

    def set_default_tlp(self, cid: int, level: int) -> None:
        """Change the default marking of a collection."""
        ...

    def add_member(self, cid: int, org_id: int) -> bool:
        """Add a member to a collection's audience; True if it was not one."""
        ...

    def remove_member(self, cid: int, org_id: int) -> bool:
        """Remove a member from a collection's audience; True if it was one."""
        ...

    def members_of(self, cid: int) -> list[int]:
        """Return the org ids in a collection's explicit audience."""
        ...

    def is_member(self, cid: int, org_id: int) -> bool:
        """Return True if the org belongs to the collection's audience."""
        ...

    def readable_collections(self, org_id: int) -> list[Collection]:
        """Return the live collections whose audience includes the org."""
        ...

    # objects
    def write(self) -> AbstractContextManager[WriteTxn]:
        """Open the one write transaction (serialised across threads and processes)."""
        ...

    def query(self, q: ObjectQuery) -> Page:
        """Return one page of the object versions the reader may read."""
        ...

    def count(self, q: ObjectQuery) -> int:
        """Return how many object versions the query matches for its reader."""
        ...

    def iter_all(self, q: ObjectQuery, batch: int = 5000) -> Iterator[StoredObject]:
        """Yield every matching version, page by page."""
        ...

    # TAXII 2.1 server (implemented in pacte.store.taxii_status)
    def save_taxii_status(self, status_id: str, org_id: int, created: str, doc: str, purge_before: str) -> None:
        """Store a status resource of ``org_id`` and purge those created before ``purge_before``."""
        ...

    def taxii_status(self, status_id: str, org_id: int) -> str | None:
        """Return the JSON of a status resource if ``org_id`` posted it, else None."""
        ...

    def remove_shares(self, cid: int, org_id: int, obj_id: str, vkeys: Sequence[str]) -> int:
        """Delete the shares ``org_id`` made of these versions of an object in a collection; return how many."""
        ...

    # event log and webhooks (implemented in pacte.store.events)
    def add_event_listener(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(narrowing)`` in the committing thread after each commit that may have logged events."""
        ...

    def remove_event_listener(self, callback: Callable[[bool], None]) -> None:
        """Stop calling a callback registered with add_event_listener."""
        ...

    def event_channel(self) -> str | None:
        """Return the PostgreSQL NOTIFY channel of this store's event log (None on SQLite)."""
        ...

    def event_head(self) -> int:
        """Return the id of the last committed event (0 when the log is empty)."""
        ...

    def event_horizon(self) -> int:
        """Return the highest event id pruned by retention: resuming before it is impossible."""
        ...

    def auth_changed_after(self, eid: int) -> bool:
        """Return True if an event that may narrow what members read committed after ``eid``."""
        ...

    def fence_check(self, after: int) -> tuple[int, bool]:
        """Return the head of the log and whether a narrowing event follows ``after``, in one snapshot."""
        ...

    def active_tokens(self, token_ids: Sequence[str]) -> set[str]:
        """Return which of these tokens are still active (not revoked)."""
        ...

    def stream_events(self, q: EventQuery) -> list[EventRow]:
        """Return, in order, the events in (after, upto] that the reader may receive, filters applied."""
        ...

    def prune_events(self, before: str) -> int:
        """Delete the events (and webhook delivery logs) older than ``before``; return the new horizon."""
        ...

    def add_webhook(self, uuid: str, org_id: int, token_id: str, url: str, secret: str, filters: str,
                    now: str) -> Webhook:
        """Register a webhook that starts after the current head of the log."""
        ...

    def webhooks(self, org_id: int | None = None) -> list[Webhook]:
        """Return the live webhooks, all or one member's."""
        ...

    def webhook(self, wid: int) -> Webhook | None:
        """Return a live webhook by its number."""
        ...

    def webhook_by_uuid(self, uuid: str, org_id: int) -> Webhook | None:
        """Return a live webhook of this member by its id."""
        ...

    def delete_webhook(self, wid: int) -> None:
        """Stop and forget a webhook (its delivery log stays)."""
        ...

    def disable_webhook(self, wid: int, reason: str) -> None:
        """Stop delivering to a webhook, saying why."""
        ...

    def lease_webhook(self, wid: int, owner: str, now_ms: int, until_ms: int) -> bool:
        """Take or renew the right to deliver a webhook (one server process at a time)."""
        ...

    def advance_webhook(self, wid: int, eid: int, owner: str) -> bool:
        """Record that a webhook is done with events up to ``eid``; False if the lease was lost."""
        ...

    def log_delivery(self, wid: int, d: Delivery) -> None:
        """Append one delivery attempt to a webhook's log."""
        ...

    def deliveries(self, wid: int, limit: int = 100) -> list[Delivery]:
        """Return a webhook's latest delivery attempts, newest first."""
        ...

    # correlation, search and sightings (implemented in pacte.store.correlations)
    def probe(self, reader: int, key: str, upper: str | None, limit: int, exclude_id: str | None = None,
              types: Sequence[str] = (), producer: int | None = None, collection: int | None = None,
              seen_after: str | None = None, seen_before: str | None = None) -> list[KeyMatch]:
        """Return up to ``limit`` distinct (key, object) pairs the reader may read for one probe."""
        ...

    def present(self, reader: int, keys: Sequence[str], exclude_id: str | None = None, types: Sequence[str] = (),
                producer: int | None = None, collection: int | None = None, seen_after: str | None = None,
                seen_before: str | None = None) -> list[str]:
        """Return which of these keys some version the reader may read holds (under the same filters as probe)."""
        ...

    def line_activity(self, reader: int, ids: Sequence[str]) -> list[LineActivity]:
        """Return, per object id and readable line, the first and last time a share showed it to the reader."""
        ...

    def sightings_of(self, reader: int, targets: Sequence[str]) -> list[SightingSeen]:
        """Return the sighting versions of these objects that count for the reader."""
        ...

    def org_grading(self, org_id: int) -> tuple[str, int, str | None] | None:
        """Return a member's default grading (reliability, credibility, handling), if it set one."""
        ...

    def set_org_grading(self, org_id: int, reliability: str, credibility: int, handling: str | None) -> None:
        """Set a member's default grading, applied to what it shares without grading of its own."""
        ...

    # reciprocity ledger (implemented in pacte.store.ledger)
    def add_reads(self, rows: Sequence[tuple[str, int, str, int, int]]) -> None:
        """Add (day, reader, channel, producer, n) counts to the recorded reads, in one transaction."""
        ...

    def ledger_reads(self, org_id: int, first_day: str, last_day: str) -> list[ReadCount]:
        """Return the recorded reads by ``org_id`` and of ``org_id``'s objects, days in [first_day, last_day]."""
        ...

    def set_ledger_opt_in(self, org_id: int, opt_in: bool, now: str) -> None:
        """Record whether a member shows its own figures to the other members."""
        ...

    def shown_values(self, reader: int, since: str, until: str) -> list[tuple[str, int, str, str]]:
        """Return (day, producer, id, doc) of other members' indexed versions first shown to ``reader`` in [since, until)."""
        ...

    def ledger_opt_ins(self) -> set[int]:
        """Return the members that show their own figures to the other members."""
        ...

    def contributions(self, org_id: int, since: str, until: str) -> list[ShareCount]:
        """Return the shares of ``org_id``'s own versions dated in [since, until), grouped."""
        ...

    def given_sightings(self, org_id: int, since: str, until: str) -> list[SightingFact]:
        """Return ``org_id``'s sighting versions first shared in [since, until)."""
        ...

    def shown_shares(self, reader: int, since: str, until: str) -> list[ShareCount]:
        """Return other members' versions first shown to ``reader`` in [since, until), grouped."""
        ...

    def shown_sightings(self, reader: int, since: str, until: str) -> list[SightingFact]:
        """Return other members' sighting versions first shown to ``reader`` in [since, until)."""
        ...

    def anonymous_sightings(self, org_id: int, since: str, until: str) -> list[SightingFact]:
        """Return the anonymous sightings ``org_id`` may not read of its readable lines, written in [since, until)."""
        ...

    # report analysis drafts (implemented in pacte.store.drafts)
    def add_analysis(self, uuid: str, org_id: int, token_id: str | None, source: str, draft: Mapping[str, Any],
                     now: str) -> AnalysisRecord:
        """Store a new draft analysis of ``org_id``, every item undecided."""
        ...

    def analyses(self, org_id: int, status: str | None = None, limit: int = 100,
                 before: int | None = None) -> list[AnalysisRecord]:
        """Return the analyses of ``org_id``, newest first, without their draft JSON."""
        ...

    def analysis(self, uuid: str, org_id: int) -> AnalysisRecord | None:
        """Return an analysis with its draft JSON if ``org_id`` made it, else None."""
        ...

    def decide_analysis(self, uuid: str, org_id: int, changes: Mapping[int, Decision], now: str) -> str | None:
        """Apply {item index: decision} to a draft of ``org_id`` not being published; return its status."""
        ...

    def claim_analysis(self, uuid: str, org_id: int, claim: str, now: str, until: str) -> bool:
        """Take the right to publish a draft of ``org_id`` until ``until``; False if not a draft or claimed."""
        ...

    def release_analysis(self, uuid: str, org_id: int, claim: str) -> None:
        """Give up a publication claim (the publication failed; the draft stays a draft)."""
        ...

    def publish_analysis(self, uuid: str, org_id: int, claim: str, now: str, bundle_id: str, collection: str,
                         tlp: str, result: Mapping[str, Any]) -> bool:
        """Record that a claimed draft was published; False if the claim was lost."""
        ...

    def discard_analysis(self, uuid: str, org_id: int, now: str) -> str | None:
        """Discard a draft of ``org_id`` that is not being published; return the status it now has, None if none."""
        ...
