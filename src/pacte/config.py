"""Hub settings, from arguments and ``PACTE_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pacte.store import DEFAULT_DB


@dataclass(frozen=True)
class Settings:
    """What an operator can configure."""

    db_url: str = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = 8470
    max_body_bytes: int = 64 * 1024 * 1024
    max_depth: int = 32
    max_page: int = 1000
    default_page: int = 100
    public_url: str | None = None
    correlation_limit: int = 200  # a value matching more readable objects than this is noisy: flagged, not expanded

    @classmethod
    def from_env(cls, db_url: str | None = None, **overrides: object) -> Settings:
        """Return settings from ``PACTE_*`` variables, with explicit values taking precedence."""
        env = os.environ
        values: dict[str, object] = {
            "db_url": db_url or env.get("PACTE_DB") or DEFAULT_DB,
            "max_body_bytes": int(env.get("PACTE_MAX_BODY_BYTES", cls.max_body_bytes)),
            "max_depth": int(env.get("PACTE_MAX_DEPTH", cls.max_depth)),
            "correlation_limit": int(env.get("PACTE_CORRELATION_LIMIT", cls.correlation_limit)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
