"""The periods of a ledger: whole UTC days grouped by day, ISO week or calendar month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pacte.errors import Detail, InvalidInput
from pacte.stix.timestamps import format_key

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
MAX_DAYS = 400  # a ledger covers at most this many days in one answer


@dataclass(frozen=True, slots=True)
class Span:
    """One period of a ledger: its label and its first and last day (inclusive, clipped to the range asked)."""

    label: str
    first: date
    last: date


def label_of(day: date, period: Period) -> str:
    """Return the label of the period holding ``day`` (``2026-12-08``, ``2026-W50``, ``2026-12``)."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def spans(period: Period, since: date, until: date) -> list[Span]:
    """Return the periods covering the days [since, until], in order."""
    out: list[Span] = []
    day = since
    while day <= until:
        label = label_of(day, period)
        if out and out[-1].label == label:
            out[-1] = Span(label, out[-1].first, day)
        else:
            out.append(Span(label, day, day))
        day += timedelta(days=1)
    return out


def default_range(today: date) -> tuple[date, date]:
    """Return the first and last day of the month holding ``today``."""
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def parse_day(value: str, name: str) -> date:
    """Return the day of ``YYYY-MM-DD`` (or of an RFC 3339 timestamp); InvalidInput otherwise."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise InvalidInput(f"invalid {name}", [Detail(reason="a day such as 2026-12-01", field=name)]) from None


def check_range(since: date, until: date) -> None:
    """Raise InvalidInput unless [since, until] is an ordered range of at most :data:`MAX_DAYS` days."""
    if until < since:
        raise InvalidInput("until is before since", [Detail(reason="until is the last day, on or after since",
                                                            field="until")])
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidInput("the range is too long", [Detail(reason=f"at most {MAX_DAYS} days", field="until")])


def day_key(day: date) -> str:
    """Return the store time key of the start of a UTC day."""
    return format_key(datetime(day.year, day.month, day.day, tzinfo=UTC))


def resolve(today: date, since: str | None, until: str | None) -> tuple[date, date]:
    """Return the days a ledger covers: those given (``YYYY-MM-DD``, both included), else the month of ``today``."""
    first, last = default_range(today)
    start = parse_day(since, "since") if since else first
    end = parse_day(until, "until") if until else max(start, last)
    check_range(start, end)
    return start, end
