"""The demo hub: sample agencies, channels and intelligence that ship with the package."""

from __future__ import annotations

import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from pacte.config import Settings
from pacte.errors import PacteError
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role

# The shipped bundles name each member's identity by a placeholder id derived from its name;
# the loader replaces it with the identity id the hub minted for that member.
_PLACEHOLDER_NS = uuid.UUID("6b1d9c1e-3f0a-5c55-9a3e-70616374652e")


def placeholder_identity(name: str) -> str:
    """Return the identity id the demo data uses for a member before it exists."""
    derived = uuid.uuid5(_PLACEHOLDER_NS, name.casefold())
    return f"identity--{uuid.UUID(bytes=derived.bytes, version=4)}"


def _data(name: str) -> Any:
    return orjson.loads(resources.files("pacte.demo").joinpath("data", name).read_bytes())


def _remap(raw: bytes, mapping: dict[str, str]) -> Any:
    text = raw.decode("utf-8")
    for old, new in mapping.items():
        text = text.replace(old, new)
    return orjson.loads(text)


def build_demo(path: Path, host: str = "127.0.0.1", port: int = 8470) -> tuple[Hub, list[tuple[str, str, str]]]:
    """Create a fresh demo hub in an SQLite file; return it and (member, role, token) triples.

    An existing demo database at ``path`` is replaced, so running the demo twice works.
    """
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    hub = Hub.open(Settings(db_url=str(path), host=host, port=port))
    manifest = _data("manifest.json")
    orgs = {o["name"]: m.add_org(hub.store, hub.ids, hub.clock, o["name"], o["country"])
            for o in manifest["organisations"]}
    for g in manifest["groups"]:
        m.add_group(hub.store, hub.ids, hub.clock, g["name"], [orgs[n] for n in g["members"]], g["description"])
    mapping = {placeholder_identity(name): org.identity_id for name, org in orgs.items()}
    for b in manifest["bundles"]:
        org = orgs[b["org"]]
        coll = hub.collection_for(org, b["collection"])
        raw = resources.files("pacte.demo").joinpath("data", b["file"]).read_bytes()
        report = hub.share_as(org, coll, _remap(raw, mapping)["objects"])
        if report.failures:
            bad = next(o for o in report.outcomes if not o.ok)
            raise PacteError(f"demo data {b['file']} was refused: {bad.id}: {bad.reason}")
    tokens: list[tuple[str, str, str]] = []
    for name, org in orgs.items():
        role = Role.ADMIN if name == "ANSSI" else Role.ANALYST
        _, secret = m.new_token(hub.store, hub.ids, hub.clock, org, role, "demo")
        tokens.append((name, role.value, secret))
    _, secret = m.new_token(hub.store, hub.ids, hub.clock, orgs["CERT-EU"], Role.READER, "demo reader")
    tokens.append(("CERT-EU", Role.READER.value, secret))
    return hub, tokens
