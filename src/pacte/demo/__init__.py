"""The demo hub: sample agencies, channels and intelligence that ship with the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from pacte.config import Settings
from pacte.errors import PacteError
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role


def _data(name: str) -> Any:
    return orjson.loads(resources.files("pacte.demo").joinpath("data", name).read_bytes())


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
    for b in manifest["bundles"]:
        org = orgs[b["org"]]
        coll = hub.collection_for(org, b["collection"])
        report = hub.share_as(org, coll, _data(b["file"])["objects"])
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
