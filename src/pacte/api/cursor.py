"""Opaque page cursors: a base64 position tagged with the read surface it belongs to.

A cursor is only a position; every page re-runs the full query with the policy, so a forged or
replayed cursor can never show more than the reader may see. The tag keeps positions of one
surface (native API: version order; TAXII: share order) out of the other.
"""

from __future__ import annotations

import base64

_MAX_DIGITS = 18  # below 2**63: what both databases store


def encode(tag: str, seq: int) -> str:
    """Return the opaque cursor for a position on the surface ``tag``."""
    return base64.urlsafe_b64encode(f"{tag}:{seq}".encode()).decode().rstrip("=")


def decode(tag: str, value: str | None) -> int | None:
    """Return the position of a cursor (0 when absent), or None if it is not a cursor of ``tag``."""
    if not value:
        return 0
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, sep, seq = raw.partition(":")
    if not sep or prefix != tag or not seq.isdigit() or len(seq) > _MAX_DIGITS:
        return None
    return int(seq)
