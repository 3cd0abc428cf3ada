"""Dates and periods mentioned in a report, in the languages the hub reads, normalised to ISO 8601."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan janvier janv enero ene januar jän январь января январе يناير كانون الثاني",
        "february feb février févr fevrier febrero febr februar февраль февраля феврале فبراير شباط",
        "march mar mars marzo märz marz март марта марте مارس آذار",
        "april apr avril abril апрель апреля апреле أبريل ابريل نيسان",
        "may mai mayo май мая мае مايو أيار",
        "june jun juin junio juni июнь июня июне يونيو حزيران",
        "july jul juillet juil julio juli июль июля июле يوليو تموز",
        "august aug août aout agosto августа август августе أغسطس آب",
        "september sep sept septembre septiembre setiembre сентябрь сентября сентябре سبتمبر أيلول",
        "october oct octobre octubre oktober okt октябрь октября октябре أكتوبر اكتوبر تشرين الأول",
        "november nov novembre noviembre ноябрь ноября ноябре نوفمبر تشرين الثاني",
        "december dec déc décembre diciembre dezember dez декабрь декабря декабре ديسمبر كانون الأول",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_YEAR = r"(?P<y>(?:19|20)\d{2})"
_DATE_PATTERNS = (
    re.compile(r"(?<![\d\-])(?P<y>(?:19|20)\d{2})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01])(?![\d\-])"),
    re.compile(
        rf"(?<!\w)(?P<d>[0-3]?\d)(?:er|st|nd|rd|th|\.)?(?:\s+de)?\s+(?P<mn>{_MONTH_ALT})\.?(?:\s+de)?,?\s+{_YEAR}(?!\d)",
        re.IGNORECASE,
    ),
    re.compile(rf"(?<!\w)(?P<mn>{_MONTH_ALT})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,\s+{_YEAR}(?!\d)", re.IGNORECASE),
    re.compile(rf"(?<!\w)(?P<mn>{_MONTH_ALT})\.?(?:\s+de)?\s+{_YEAR}(?!\d)", re.IGNORECASE),
    re.compile(r"(?<![\d/.])(?P<d>[0-3]?\d)[/.](?P<m>[01]?\d)[/.](?P<y>(?:19|20)\d{2})(?![\d/.])"),
)
_QUARTER = re.compile(r"(?<!\w)(?:Q(?P<q>[1-4])|(?P<h>H[12]))\s+(?P<y>(?:19|20)\d{2})(?!\d)")


@dataclass(frozen=True)
class DateMention:
    """A date or period named in a text; value is YYYY-MM-DD, YYYY-MM or YYYY-Qn."""

    start: int
    end: int
    surface: str
    value: str


def _month(name: str) -> int | None:
    return _MONTHS.get(name.lower().rstrip("."))


_YEAR_ANCHOR = re.compile(r"(?<![\w\-])(?:19|20)\d{2}(?!\w)")


_REACH = 48  # longer than any date's text before or after its year ("Wednesday, 29 September " is 24)


def _year_lines(text: str) -> list[tuple[int, int]]:
    """Return the spans around each year, within its line: only they can hold a date."""
    spans: list[tuple[int, int]] = []
    for m in _YEAR_ANCHOR.finditer(text):
        # A date holds its year: search the year's line, at most _REACH characters either side of it.
        start = max(text.rfind("\n", 0, m.start()) + 1, m.start() - _REACH)
        end = text.find("\n", m.end())
        end = min(len(text) if end < 0 else end, m.end() + _REACH)
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def find_dates(text: str) -> list[DateMention]:
    """Find dates (day, month or quarter precision) mentioned in a text."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    lines = _year_lines(text)
    for rx in _DATE_PATTERNS:
        for m in (m for lo, hi in lines for m in rx.finditer(text, lo, hi)):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            groups = m.groupdict()
            month = int(groups["m"]) if groups.get("m") else _month(groups.get("mn") or "")
            year = int(groups["y"])
            if month is None or not 1 <= month <= 12:
                continue
            if groups.get("d"):
                try:
                    value = date(year, month, int(groups["d"])).isoformat()
                except ValueError:
                    continue
            else:
                value = f"{year:04d}-{month:02d}"
            found.append(DateMention(m.start(), m.end(), m.group(0), value))
            taken.append((m.start(), m.end()))
    for m in (m for lo, hi in lines for m in _QUARTER.finditer(text, lo, hi)):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        period = f"Q{m.group('q')}" if m.group("q") else m.group("h")
        found.append(DateMention(m.start(), m.end(), m.group(0), f"{m.group('y')}-{period}"))
    found.sort(key=lambda d: d.start)
    return found
