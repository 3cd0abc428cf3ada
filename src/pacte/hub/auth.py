"""Tokens: creation, hashing and authentication. Secrets are never stored, only SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from pacte.errors import Unauthenticated
from pacte.policy import Role
from pacte.store.base import Org, Store, Token

TOKEN_PREFIX = "pacte_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a member organisation through one of its tokens."""

    org: Org
    token: Token

    @property
    def role(self) -> Role:
        """Return the token's role."""
        return self.token.role


def new_secret() -> str:
    """Return a new token secret (256 bits of randomness)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Return the stored form of a secret.

    A fast hash is right here: secrets are 256-bit random strings, not passwords, so no
    brute force of the hash is feasible and per-request authentication stays cheap.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def authenticate(store: Store, secret: str | None) -> Principal:
    """Return the principal for a token secret; raise Unauthenticated for a bad or revoked one."""
    if not secret:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    found = store.token_by_hash(hash_secret(secret))
    if found is None:
        raise Unauthenticated("invalid or revoked token")
    token, org = found
    return Principal(org=org, token=token)
