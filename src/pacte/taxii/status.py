"""TAXII status resources: built from the hub's per-object outcomes, stored, read by the poster only.

POSTs are processed before the response is sent, so every status is ``complete`` with no
pending objects. Statuses are kept :data:`~pacte.store.taxii_status.STATUS_RETENTION_DAYS`
days (TAXII asks for at least 24 hours) and a status of another organisation is answered
exactly like one that does not exist (404).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from pacte.errors import NotFound
from pacte.hub import Hub
from pacte.hub.sharing import Outcome, ShareReport
from pacte.stix.timestamps import format_key
from pacte.store.base import Org, WriteTxn
from pacte.store.taxii_status import STATUS_RETENTION_DAYS
from pacte.taxii.envelope import UNVERSIONED, taxii_timestamp


def _entry(o: Outcome) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": o.id or "", "version": o.version or (UNVERSIONED if o.ok else "")}
    if not o.ok:
        where = f"{o.field}: " if o.field else ""
        entry["message"] = f"{where}{o.reason or 'refused'}"
        if o.code:
            entry["x_pacte_code"] = o.code
    return entry


def build_status(status_id: str, request_timestamp: str, report: ShareReport) -> dict[str, Any]:
    """Return the status resource of a processed POST."""
    successes = [_entry(o) for o in report.outcomes if o.ok]
    failures = [_entry(o) for o in report.outcomes if not o.ok]
    return {
        "id": status_id, "status": "complete", "request_timestamp": request_timestamp,
        "total_count": len(report.outcomes), "success_count": len(successes), "successes": successes,
        "failure_count": len(failures), "failures": failures, "pending_count": 0, "pendings": [],
    }


class StatusRecorder:
    """Records the status of one POST inside the objects' own transaction (one commit for both)."""

    def __init__(self, hub: Hub, org: Org) -> None:
        self.hub, self.org = hub, org
        self.doc = b""

    def __call__(self, tx: WriteTxn, report: ShareReport) -> None:
        """Build the status of ``report`` and store it with the objects (skipped if every object was invalid)."""
        if all_invalid(report):
            return  # answered 422: no status resource
        now = self.hub.clock.now()
        status_id = str(self.hub.ids.uuid4())
        self.doc = orjson.dumps(build_status(status_id, taxii_timestamp(format_key(now)), report))
        purge_before = format_key(now - timedelta(days=STATUS_RETENTION_DAYS))
        tx.save_taxii_status(status_id, self.org.org_id, format_key(now), self.doc.decode(), purge_before)


def all_invalid(report: ShareReport) -> bool:
    """Return True when every object of a POST failed as invalid STIX (TAXII's 422)."""
    failed = [o for o in report.outcomes if not o.ok]
    return bool(failed) and len(failed) == len(report.outcomes) and all(o.code == "invalid_stix" for o in failed)


def load_status(hub: Hub, org: Org, status_id: str) -> bytes:
    """Return the JSON of a status posted by ``org``; NotFound for any other."""
    doc = hub.store.taxii_status(status_id, org.org_id)
    if doc is None:
        raise NotFound(f"no status {status_id!r}")
    return doc.encode()
