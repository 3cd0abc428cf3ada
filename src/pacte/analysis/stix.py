"""The draft STIX 2.1 bundle: deterministic ids, indicator patterns, SDOs for entities, and the report."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

# The namespace that STIX 2.1 (section 2.9) fixes for deterministic SCO identifiers.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# Salt for the ids of draft SDOs, which are derived from the report text and the object's key.
_DRAFT_SALT = b"pacte-analysis-draft\x00"

HASH_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}

# STIX 2.1 has no cryptocurrency-wallet SCO: Pacte defines one with a "new-sco" extension definition, created by
# a fixed system identity; both objects travel in every bundle that holds a wallet.
PACTE_IDENTITY_ID = "identity--5f0e3f4c-8a2d-4b7e-9c61-2d7a0f3b8e11"
WALLET_EXTENSION_ID = "extension-definition--5f0e3f4c-8a2d-4b7e-9c61-2d7a0f3b8e12"
_FIXED_TIME = "2026-11-29T00:00:00.000Z"
WALLET_SCO_TYPE = "cryptocurrency-wallet"


def pacte_identity() -> dict[str, Any]:
    """Return the system identity that defines Pacte's STIX extensions."""
    # It names itself as creator: relayed by whichever member publishes first, owned by none.
    return {"type": "identity", "spec_version": "2.1", "id": PACTE_IDENTITY_ID, "created": _FIXED_TIME,
            "modified": _FIXED_TIME, "name": "Pacte report analysis", "identity_class": "system",
            "created_by_ref": PACTE_IDENTITY_ID}


def wallet_extension() -> dict[str, Any]:
    """Return the extension definition of the cryptocurrency-wallet SCO."""
    return {
        "type": "extension-definition", "spec_version": "2.1", "id": WALLET_EXTENSION_ID,
        "created_by_ref": PACTE_IDENTITY_ID, "created": _FIXED_TIME, "modified": _FIXED_TIME,
        "name": "Cryptocurrency wallet",
        "description": "A cryptocurrency wallet address named in a report.",
        "schema": "Object type cryptocurrency-wallet: value (string, required) is the address as written; "
                  "currency (string, optional) is the coin's ticker (BTC, ETH, XMR, ...).",
        "version": "1.0.0", "extension_types": ["new-sco"],
    }


def wallet_sco(address: str, currency: str | None) -> dict[str, Any]:
    """Return the cryptocurrency-wallet SCO for an address (id stable across reports, UUIDv4 form)."""
    sco: dict[str, Any] = {
        "type": WALLET_SCO_TYPE, "spec_version": "2.1", "id": draft_id(WALLET_SCO_TYPE, "sco", address),
        "value": address, "extensions": {WALLET_EXTENSION_ID: {"extension_type": "new-sco"}},
    }
    if currency and currency != "unknown":
        sco["currency"] = currency
    return sco
_SCO_TYPES = {"ipv4": "ipv4-addr", "ipv6": "ipv6-addr", "domain": "domain-name", "url": "url", "email": "email-addr"}


def timestamp(moment: datetime) -> str:
    """Format a moment as a STIX timestamp in UTC with millisecond precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def canonical_json(value: Any) -> str:
    """Serialise a JSON value canonically (sorted keys, no spaces, UTF-8), as RFC 8785 does for these values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sco_id(sco_type: str, contributing: dict[str, Any]) -> str:
    """Return the deterministic id of an SCO from its id-contributing properties."""
    return f"{sco_type}--{uuid.uuid5(SCO_NAMESPACE, canonical_json(contributing))}"


def draft_id(sdo_type: str, scope: str, key: str) -> str:
    """Return a reproducible UUIDv4-form id for a draft SDO, from the report's scope and the object's key.

    STIX wants version-4 ids for SDOs; the 122 "random" bits here come from a SHA-256 digest instead of a
    random source, so that analysing the same text twice gives the same ids.
    """
    digest = hashlib.sha256(_DRAFT_SALT + f"{scope}|{sdo_type}|{key}".encode()).digest()
    return f"{sdo_type}--{uuid.UUID(bytes=digest[:16], version=4)}"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def observable_sco(kind: str, value: str) -> dict[str, Any] | None:
    """Return the SCO for an indicator value (None for kinds that have no SCO, such as wallets)."""
    if kind in _SCO_TYPES:
        sco_type = _SCO_TYPES[kind]
        return {"type": sco_type, "spec_version": "2.1", "id": sco_id(sco_type, {"value": value}), "value": value}
    if kind in HASH_NAMES:
        hashes = {HASH_NAMES[kind]: value}
        return {"type": "file", "spec_version": "2.1", "id": sco_id("file", {"hashes": hashes}), "hashes": hashes}
    return None


def pattern_for(kind: str, value: str) -> str | None:
    """Return the STIX pattern that matches an indicator value, or None if STIX has no object for it."""
    if kind in _SCO_TYPES:
        return f"[{_SCO_TYPES[kind]}:value = {_quote(value)}]"
    if kind in HASH_NAMES:
        return f"[file:hashes.{_quote(HASH_NAMES[kind])} = {_quote(value)}]"
    if kind == "crypto_wallet":
        return f"[{WALLET_SCO_TYPE}:value = {_quote(value)}]"
    return None


def base_sdo(sdo_type: str, sdo_id: str, now: str, confidence: int | None = None) -> dict[str, Any]:
    """Return the common properties of an SDO or SRO created now."""
    obj: dict[str, Any] = {"type": sdo_type, "spec_version": "2.1", "id": sdo_id, "created": now, "modified": now}
    if confidence is not None:
        obj["confidence"] = max(0, min(100, confidence))
    return obj


def relationship(scope: str, source: str, rel: str, target: str, now: str, confidence: int) -> dict[str, Any]:
    """Return a relationship SRO between two objects."""
    rid = draft_id("relationship", scope, f"{source}|{rel}|{target}")
    obj = base_sdo("relationship", rid, now, confidence)
    obj.update({"relationship_type": rel, "source_ref": source, "target_ref": target})
    return obj


def bundle(objects: list[dict[str, Any]], scope: str) -> dict[str, Any]:
    """Wrap objects in a STIX bundle whose id is derived from the report scope."""
    return {"type": "bundle", "id": draft_id("bundle", scope, "bundle"), "objects": objects}
