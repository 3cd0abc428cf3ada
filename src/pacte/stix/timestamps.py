"""STIX timestamps: strict parsing and a sortable normal form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_TS = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(?:\.(\d{1,9}))?Z$"
)


def normalize(value: object) -> str | None:
    """Return a STIX timestamp in sortable form (9 fraction digits), or None if invalid."""
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac = m.groups()
    if day > "28":
        try:
            datetime(int(year), int(month), int(day))
        except ValueError:
            return None
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{(frac or '').ljust(9, '0')}Z"


def format_dt(dt: datetime) -> str:
    """Return a datetime as a STIX timestamp with millisecond precision."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def format_key(dt: datetime) -> str:
    """Return a datetime in the sortable normal form used by the store."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


def parse(value: str) -> datetime:
    """Return the UTC datetime of a valid STIX timestamp; raise ValueError otherwise."""
    key = normalize(value)
    if key is None:
        raise ValueError(f"not a STIX timestamp: {value!r}")
    return datetime.strptime(key[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
