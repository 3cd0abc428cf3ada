"""HTTP credentials: ``Authorization: Bearer <token>`` or HTTP Basic with the token as password."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from pacte.errors import Forbidden
from pacte.hub import Hub, Principal
from pacte.policy import Role


def token_from_header(value: str | None) -> str | None:
    """Return the token secret carried by an Authorization header value, if any."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return rest.strip() or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None


def hub_of(request: Request) -> Hub:
    """Return the hub the application serves."""
    hub: Hub = request.app.state.hub
    return hub


def principal(request: Request) -> Principal:
    """Authenticate the request (on every request: revocations apply at once)."""
    return hub_of(request).authenticate(token_from_header(request.headers.get("authorization")))


def require_admin(p: Principal) -> None:
    """Raise Forbidden unless the token has the admin role."""
    if p.role is not Role.ADMIN:
        raise Forbidden("this needs an admin token of your organisation")
