"""The one exception tree of Pacte.

Every error that Pacte raises on purpose is a :class:`PacteError`. The HTTP layer renders
them in exactly one place (``pacte.api.errors`` for the native API, ``pacte.taxii`` for
TAXII routes) and the CLI prints ``error: <message>`` and exits non-zero.

    PacteError                      500 internal
    ├── InvalidInput                400 invalid_input        (details name the field path and reason)
    │   ├── InvalidJSON             400 invalid_json
    │   ├── InvalidSTIX             400 invalid_stix
    │   ├── TooDeep                 400 too_deep
    │   └── TooLarge                413 too_large
    ├── UnsupportedMediaType        415 unsupported_media_type
    ├── NotAcceptable               406 not_acceptable
    ├── Unauthenticated             401 unauthenticated
    ├── Forbidden                   403 forbidden
    │   └── PolicyRefused           403 policy_refused      (the sharing policy refused a write)
    ├── NotFound                    404 not_found           (hidden and missing look the same)
    ├── MethodNotAllowed            405 method_not_allowed
    ├── Conflict                    409 conflict
    ├── UnprocessableEntity         422 unprocessable
    ├── TooManyRequests             429 too_many_requests   (a concurrency bound; rendered with Retry-After)
    └── StorageError                503 storage_error       (database errors, translated at the store boundary)
        └── IntegrityError          409 integrity_error
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Detail:
    """One precise problem: which object, which field path, and why."""

    reason: str
    field: str | None = None
    object_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the detail as a JSON-ready dict without empty keys."""
        out: dict[str, Any] = {"reason": self.reason}
        if self.field is not None:
            out["field"] = self.field
        if self.object_id is not None:
            out["id"] = self.object_id
        return out


@dataclass
class PacteError(Exception):
    """Base of every error Pacte raises on purpose."""

    message: str = "internal error"
    details: list[Detail] = field(default_factory=list)
    status = 500
    code = "internal"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        first = self.details[0]
        where = " ".join(
            p for p in (f"object {first.object_id}" if first.object_id else "",
                        f"field {first.field}" if first.field else "") if p
        )
        return f"{self.message} ({where}: {first.reason})" if where else f"{self.message} ({first.reason})"

    def as_dict(self) -> dict[str, Any]:
        """Return the one JSON error shape used outside TAXII routes."""
        return {
            "error": {
                "status": self.status,
                "code": self.code,
                "message": self.message,
                "details": [d.as_dict() for d in self.details],
            }
        }


class InvalidInput(PacteError):
    """The request or file is not acceptable input."""

    status = 400
    code = "invalid_input"


class InvalidJSON(InvalidInput):
    """The body is not well-formed JSON."""

    code = "invalid_json"


class InvalidSTIX(InvalidInput):
    """The body is JSON but not valid STIX 2.1."""

    code = "invalid_stix"


class TooDeep(InvalidInput):
    """The JSON nests deeper than the configured limit."""

    code = "too_deep"


class TooLarge(InvalidInput):
    """The body is over the configured size limit."""

    status = 413
    code = "too_large"


class UnsupportedMediaType(PacteError):
    """The request's Content-Type is not one the endpoint accepts."""

    status = 415
    code = "unsupported_media_type"


class NotAcceptable(PacteError):
    """The request's Accept header names no media type the endpoint serves."""

    status = 406
    code = "not_acceptable"


class Unauthenticated(PacteError):
    """No valid credentials were presented."""

    status = 401
    code = "unauthenticated"


class Forbidden(PacteError):
    """The caller is known but its role or membership does not allow the action."""

    status = 403
    code = "forbidden"


class PolicyRefused(Forbidden):
    """The sharing policy refuses this write (e.g. TLP:RED into community)."""

    code = "policy_refused"


class NotFound(PacteError):
    """The thing does not exist, or the caller may not know that it exists."""

    status = 404
    code = "not_found"


class MethodNotAllowed(PacteError):
    """The path exists but not with this HTTP method."""

    status = 405
    code = "method_not_allowed"


class Conflict(PacteError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class UnprocessableEntity(PacteError):
    """The request is well-formed but cannot be processed as asked."""

    status = 422
    code = "unprocessable"


@dataclass
class TooManyRequests(PacteError):
    """Too many requests of this kind are running; retry after ``retry_after`` seconds."""

    retry_after: int = 5
    status = 429
    code = "too_many_requests"


class StorageError(PacteError):
    """The database failed; raised by the store in place of driver exceptions."""

    status = 503
    code = "storage_error"


class IntegrityError(StorageError):
    """A uniqueness or reference constraint of the database was violated."""

    status = 409
    code = "integrity_error"
