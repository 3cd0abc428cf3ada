"""Well-known organisations (security vendors, agencies, international bodies, news agencies) in six languages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from pacte.analysis.places import word_bounded

_ARABIC = re.compile(r"[\u0600-\u06FF]")


@dataclass(frozen=True)
class OrganizationMatch:
    """A mention of a listed organisation: where, as written, and its preferred name and kind."""

    start: int
    end: int
    surface: str
    name: str
    kind: str


@lru_cache(maxsize=1)
def _automaton() -> tuple[Any, dict[str, tuple[str, str]]]:
    """Load the organisation list shipped with Pacte and build its matcher once."""
    raw = resources.files("pacte.analysis").joinpath("data/organizations.tsv").read_text(encoding="utf-8")
    automaton = ahocorasick.Automaton()
    entries: dict[str, tuple[str, str]] = {}
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, names = line.split("\t")
        alternatives = [n.strip() for n in names.split("|") if n.strip()]
        for name in alternatives:
            if name not in entries:
                entries[name] = (alternatives[0], kind)
                automaton.add_word(name, name)
    automaton.make_automaton()
    return automaton, entries


def find_organizations(text: str) -> list[OrganizationMatch]:
    """Find listed organisations, whole words only, longest match first."""
    automaton, entries = _automaton()
    found: list[OrganizationMatch] = []
    last_end = -1
    for end_idx, name in automaton.iter_long(text):
        end = end_idx + 1
        start = end - len(name)
        if start < last_end or not word_bounded(text, start, end, bool(_ARABIC.match(name))):
            continue
        preferred, kind = entries[name]
        found.append(OrganizationMatch(start, end, name, preferred, kind))
        last_end = end
    return found
