"""TAXII 2.1 query parameters: ``match[...]``, ``added_after``, ``limit`` and the opaque ``next``.

``next`` is only a position (the share id of the last item of the previous page), sealed for
the caller (:mod:`pacte.hub.positions`: opaque, bound to the reader and to TAXII, refused with
400 for anyone else or if altered); it carries no permission. Every page re-runs the full query,
so the sharing policy is re-applied on each use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pacte.errors import Detail, InvalidInput
from pacte.hub.positions import ReaderPositions
from pacte.stix import timestamps

SPEC_VERSIONS = ("2.1",)  # what the hub stores (the write path accepts STIX 2.1 only)
KEYWORDS = ("last", "first", "all")
_SPEC = re.compile(r"^\d+\.\d+$")


@dataclass(slots=True)
class Filters:
    """The parsed filters of one TAXII request."""

    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)  # subset of last / first / all
    version_keys: list[str] = field(default_factory=list)  # exact versions, normalised
    spec_matches: bool = True  # False when match[spec_version] names no version the hub holds
    added_after: str | None = None
    limit: int = 100
    after_seq: int = 0


def _bad(name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"invalid {name}", [Detail(reason=reason, field=name)])


def _values(params: Mapping[str, str], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    values = raw.split(",")
    if any(not v for v in values):
        raise _bad(name, "comma-separated values without spaces or empty items")
    return values


def encode_next(cursors: ReaderPositions, seq: int) -> str:
    """Return the opaque ``next`` value of a position for the caller."""
    return cursors.seal(seq)


def decode_next(cursors: ReaderPositions, value: str | None) -> int:
    """Return the position of a ``next`` value (0 when absent); raise InvalidInput unless the caller got it."""
    if not value:
        return 0
    seq = cursors.open(value)
    if seq is None:
        raise _bad("next", "use the 'next' value of the previous page, with the same filters")
    return seq


def parse_versions(values: Sequence[str], default: str) -> tuple[list[str], list[str]]:
    """Return (keywords, normalised exact versions) for ``match[version]`` values."""
    if not values:
        return [default], []
    if len(set(values)) != len(values):
        raise _bad("match[version]", "each version value may occur only once")
    if "all" in values and len(values) > 1:
        raise _bad("match[version]", "'all' cannot be combined with other version values")
    keywords = [v for v in values if v in KEYWORDS]
    keys: list[str] = []
    for v in values:
        if v in KEYWORDS:
            continue
        key = timestamps.normalize(v)
        if key is None:
            raise _bad("match[version]", f"{v!r} is neither last, first, all nor a STIX timestamp")
        keys.append(key)
    return keywords, keys


def parse_filters(params: Mapping[str, str], cursors: ReaderPositions, *, default_limit: int, max_limit: int,
                  allowed: Sequence[str] = ("id", "type", "version", "spec_version"),
                  default_version: str = "last") -> Filters:
    """Return the filters of a request; raise InvalidInput naming the bad parameter.

    ``match`` fields the endpoint does not define are ignored, as TAXII allows.
    """
    f = Filters()
    if "id" in allowed:
        f.ids = _values(params, "match[id]")
    if "type" in allowed:
        f.types = _values(params, "match[type]")
    if "version" in allowed:
        f.keywords, f.version_keys = parse_versions(_values(params, "match[version]"), default_version)
    else:
        f.keywords = [default_version]
    specs = _values(params, "match[spec_version]") if "spec_version" in allowed else []
    for s in specs:
        if not _SPEC.match(s):
            raise _bad("match[spec_version]", f"{s!r} is not a version such as 2.1")
    f.spec_matches = not specs or any(s in SPEC_VERSIONS for s in specs)
    added_after = params.get("added_after")
    if added_after is not None:
        key = timestamps.normalize(added_after)
        if key is None:
            raise _bad("added_after", "a timestamp such as 2024-01-31T00:00:00.000000Z")
        # date_added is shown truncated to the microsecond: "added after T" means shown later than T
        f.added_after = key[:26] + "999Z"
    raw_limit = params.get("limit")
    f.limit = default_limit
    if raw_limit is not None:
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise _bad("limit", "a positive integer")
        f.limit = min(int(raw_limit), max_limit)
    f.after_seq = decode_next(cursors, params.get("next"))
    return f
