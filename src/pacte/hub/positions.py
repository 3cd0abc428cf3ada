"""Opaque read positions: the only form in which a reader ever sees where it is in a hub-wide order.

Page cursors of the native API (share order: each version at the reader's first visible share), TAXII ``next`` (share order) and stream event
ids (event-log order, heartbeats and webhooks included) are positions in orders that every
member's rows share. Given as numbers, they would tell a member how much was written that it
may not read, and when. So each position is sealed, for one reader and one *surface*, with
AES-GCM-SIV under the hub's key (``Store.hub_key``, one per database, so every ``pacte serve``
process on it reads the tokens of the others):

* the token is ``base64url(nonce ‖ ciphertext ‖ tag)``, 48 characters, with a fresh random
  96-bit nonce: sealing one position twice gives two unrelated strings, so comparing tokens
  (successive heartbeats, two pages) shows nothing but that they differ;
* the surface and the reader's organisation id are the associated data: a token of another
  reader or surface, a tampered or truncated one, fails authentication and reads as ``None``
  (the callers answer 400);
* GCM-SIV keeps its guarantees if random nonces ever repeat (a repeat shows only that two
  tokens seal the same position for the same reader), which plain GCM does not past 2**32 tokens.

A position is never an authorisation: every read re-applies the sharing policy, so a token only
says where to continue. Webhook delivery ids are derived from the same key (``delivery_digest``)
so that they, too, are stable but encode no event number a member could read off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

_NONCE = 12
_TOKEN_CHARS = 48  # base64url of 12 + 8 + 16 bytes, no padding needed
_MAX_POSITION = 2**63 - 1  # what both databases store


class Surface(Enum):
    """Which order a position belongs to; part of what each token is bound to."""

    OBJECTS = "objects"  # native API page cursors: share order (the reader's first visible share)
    TAXII = "taxii"  # TAXII ``next``: share order
    STREAM = "stream"  # stream event ids, heartbeats and webhook event ids: event-log order


def _subkey(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, label, hashlib.sha256).digest()


def _aad(surface: Surface, reader: int) -> bytes:
    return b"pacte/%s/%d" % (surface.value.encode(), reader)


class Positions:
    """Seals and opens positions under one hub key (see the module docstring)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the hub key is 32 bytes")
        self._aead = AESGCMSIV(_subkey(key, b"pacte positions v1"))
        self._mac_key = _subkey(key, b"pacte webhook deliveries v1")

    def seal(self, surface: Surface, reader: int, position: int) -> str:
        """Return a fresh opaque token of ``position`` for ``reader`` on ``surface``."""
        return self.seal_many(surface, reader, [position])[0].decode("ascii")

    def seal_many(self, surface: Surface, reader: int, positions: Sequence[int]) -> list[bytes]:
        """Return fresh tokens (ASCII bytes) of several positions for one reader: the stream's hot path."""
        if not positions:
            return []
        aad = _aad(surface, reader)
        nonces = os.urandom(_NONCE * len(positions))  # one system call for the page
        encrypt, encode = self._aead.encrypt, base64.urlsafe_b64encode
        out: list[bytes] = []
        for i, position in enumerate(positions):
            nonce = nonces[i * _NONCE:(i + 1) * _NONCE]
            out.append(encode(nonce + encrypt(nonce, position.to_bytes(8, "big"), aad)))
        return out

    def open(self, surface: Surface, reader: int, token: str) -> int | None:
        """Return the position a token seals for ``reader`` on ``surface``; None if it is not such a token."""
        if len(token) != _TOKEN_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _aad(surface, reader))
        except (ValueError, UnicodeEncodeError, binascii.Error, InvalidTag):
            return None
        position = int.from_bytes(plain, "big")
        return position if position <= _MAX_POSITION else None

    def reader(self, surface: Surface, reader: int) -> ReaderPositions:
        """Return the sealer/opener of one reader on one surface."""
        return ReaderPositions(self, surface, reader)

    def delivery_digest(self, data: bytes) -> bytes:
        """Return a keyed 32-byte digest of ``data`` (stable across processes on one database)."""
        return hmac.new(self._mac_key, data, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ReaderPositions:
    """Positions of one reader on one surface."""

    positions: Positions
    surface: Surface
    reader_id: int

    def seal(self, position: int) -> str:
        """Return a fresh opaque token of ``position``."""
        return self.positions.seal(self.surface, self.reader_id, position)

    def open(self, token: str) -> int | None:
        """Return the position of a token of this reader and surface, else None."""
        return self.positions.open(self.surface, self.reader_id, token)
