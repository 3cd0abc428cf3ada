"""Fast scanning helpers: find a pattern only where its opening words occur (str.find runs at C speed)."""

from __future__ import annotations

import re


def positions(hay: str, needle: str) -> list[int]:
    """Return every position of a literal in a text."""
    out = []
    pos = hay.find(needle)
    while pos >= 0:
        out.append(pos)
        pos = hay.find(needle, pos + 1)
    return out


def anchored_matches(rx: re.Pattern[str], text: str, literals: tuple[str, ...],
                     lower: bool = False) -> list[re.Match[str]]:
    """Return the matches of a pattern that starts with one of `literals`, as finditer would, found from them.

    str.find runs at C speed; the regex engine trying a pattern at each character does not. Every match of the
    pattern must start with one of the literals (lower-cased when `lower`).
    """
    hay = text.lower() if lower else text
    if len(hay) != len(text):  # a lower-case form of another length: offsets would not line up
        return list(rx.finditer(text))
    starts: set[int] = set()
    for literal in literals:
        starts.update(positions(hay, literal))
    out: list[re.Match[str]] = []
    end = 0
    for pos in sorted(starts):
        if pos < end:
            continue  # finditer does not return overlapping matches
        m = rx.match(text, pos)
        if m is not None:
            out.append(m)
            end = max(m.end(), pos + 1)
    return out
