"""Opening the hub a CLI command works on."""

from __future__ import annotations

from pacte.config import Settings
from pacte.hub import Hub


def hub_from(db: str | None, **overrides: object) -> Hub:
    """Open (creating or migrating) the hub named by ``--db`` / ``PACTE_DB``."""
    return Hub.open(Settings.from_env(db, **overrides))
