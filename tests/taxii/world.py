"""Helpers of the TAXII tests: STIX factories, auth headers, the three-member world, ATT&CK subset."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from pacte.hub import Hub
from pacte.stix.markings import TLP2_IDS, Tlp

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/pacte"
ATTACK = Path(__file__).resolve().parents[3] / "shared" / "data" / "attack-enterprise.json"
UNKNOWN_MARKING = "marking-definition--0b4f7d0c-0000-4000-8000-00000000dead"


def stix_id(kind: str, n: int) -> str:
    """Return a deterministic STIX id."""
    return f"{kind}--{uuid.UUID(int=n, version=4)}"


def indicator(n: int, modified: str = "2025-01-01T00:00:00.000Z", tlp: Tlp | None = None,
              markings: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """Return a valid STIX 2.1 indicator number n (version = modified)."""
    obj: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": stix_id("indicator", n),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified, "name": f"indicator {n}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']", "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z", **extra}
    refs = list(markings or [])
    if tlp is not None:
        refs.append(TLP2_IDS[tlp])
    if refs:
        obj["object_marking_refs"] = refs
    return obj


def malware(n: int) -> dict[str, Any]:
    """Return a valid STIX 2.1 malware number n."""
    return {"type": "malware", "spec_version": "2.1", "id": stix_id("malware", n),
            "created": "2025-02-01T00:00:00.000Z", "modified": "2025-02-01T00:00:00.000Z",
            "name": f"malware {n}", "is_family": True}


def basic(secret: str) -> dict[str, str]:
    """Return headers for HTTP Basic with the token as password."""
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{secret}".encode()).decode(), "Accept": TAXII}


def bearer(secret: str) -> dict[str, str]:
    """Return headers for Bearer authentication."""
    return {"Authorization": f"Bearer {secret}", "Accept": TAXII}


@dataclass
class World:
    """A hub with members Alpha and Beta (analysts, group ``g1``), Gamma (reader) and their collections."""

    hub: Hub
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    colls: dict[str, str] = field(default_factory=dict)  # name -> uuid

    def h(self, who: str) -> dict[str, str]:
        """Return Bearer headers for a member's token."""
        return bearer(self.tokens[who])

    def objects_url(self, coll: str) -> str:
        """Return the objects URL of a collection by name."""
        return f"{ROOT}/collections/{self.colls[coll]}/objects/"

    def post(self, who: str, coll: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        """POST an envelope as a member; return the status resource (asserting 202)."""
        r = self.client.post(self.objects_url(coll), content=orjson.dumps({"objects": objects}),
                             headers={**self.h(who), "Content-Type": TAXII})
        assert r.status_code == 202, r.text
        out: dict[str, Any] = r.json()
        return out

    def get(self, who: str, path: str, **params: Any) -> Any:
        """GET a TAXII path as a member."""
        return self.client.get(path, headers=self.h(who), params=params)


def attack_subset(n: int) -> list[dict[str, Any]]:
    """Return n ATT&CK objects spread over every type (skip the test if the data is missing)."""
    if not ATTACK.exists():
        pytest.skip(f"ATT&CK data not found at {ATTACK}")
    objs = orjson.loads(ATTACK.read_bytes())["objects"]
    objs.sort(key=lambda o: (o["type"], o["id"]))
    step = max(1, len(objs) // n)
    return [objs[i] for i in range(0, len(objs), step)][:n]
