"""Stream and webhook settings, from ``PACTE_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class StreamSettings:
    """What an operator can tune about push channels."""

    retention_seconds: float = 7 * 86400.0  # events older than this are pruned (0: keep forever)
    prune_every_seconds: float = 60.0
    heartbeat_seconds: float = 15.0  # SSE comment on idle streams, for proxies
    poll_seconds: float = 0.25  # fallback wake-up when no commit signal or NOTIFY arrives
    batch: int = 500  # events read per subscriber group per round
    queue_chunks: int = 512  # chunks buffered per subscriber before it is dropped as too slow
    send_timeout_seconds: float = 60.0  # a connection that accepts no byte for this long is dropped
    round_gap_per_subscriber: float = 0.0001  # rounds are at least this x open streams apart (fewer, larger writes)
    round_gap_max_seconds: float = 0.1  # ... but never more than this
    window_seconds: float = 1.0  # a send window ends after this even if an admitted connection did not write
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 1.0  # first retry delay, doubled each attempt
    webhook_backoff_max_seconds: float = 300.0
    webhook_timeout_seconds: float = 10.0
    webhook_lease_seconds: float = 30.0
    webhook_reload_seconds: float = 5.0  # how often webhooks registered by other processes are picked up
    webhook_allow_private: bool = False  # allow loopback/private receiver addresses (tests, labs)

    @classmethod
    def from_env(cls, **overrides: object) -> StreamSettings:
        """Return settings from ``PACTE_STREAM_<FIELD>`` variables (upper case), then overrides."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"PACTE_STREAM_{f.name.upper()}")
            if raw is None:
                continue
            if f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            else:
                values[f.name] = float(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
