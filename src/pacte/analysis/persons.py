"""Well-known persons (heads of state and government, ministers) named in threat reports, in six languages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from pacte.analysis.places import word_bounded

_ARABIC = re.compile(r"[\u0600-\u06FF]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_RU_ENDING = re.compile(r"[\u0430-\u044F\u0451]{1,3}(?![\w])")  # Путина, Путиным, Меркель -> Меркелью


@dataclass(frozen=True)
class PersonMatch:
    """A mention of a listed person: where, as written, and the preferred name."""

    start: int
    end: int
    surface: str
    name: str


@lru_cache(maxsize=1)
def _automaton() -> tuple[Any, dict[str, str]]:
    """Load the person list shipped with Pacte and build its matcher once."""
    raw = resources.files("pacte.analysis").joinpath("data/persons.tsv").read_text(encoding="utf-8")
    automaton = ahocorasick.Automaton()
    entries: dict[str, str] = {}
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        names = [n.strip() for n in line.split("|") if n.strip()]
        for name in names:
            if name not in entries:
                entries[name] = names[0]
                automaton.add_word(name, name)
    automaton.make_automaton()
    return automaton, entries


def find_persons(text: str) -> list[PersonMatch]:
    """Find listed persons, whole words only (Russian case endings allowed), longest match first."""
    automaton, entries = _automaton()
    found: list[PersonMatch] = []
    last_end = -1
    for end_idx, name in automaton.iter_long(text):
        end = end_idx + 1
        start = end - len(name)
        if start < last_end:
            continue
        if _CYRILLIC.match(name[-1]):
            ending = _RU_ENDING.match(text, end)
            if ending is not None:
                end = ending.end()
        if not word_bounded(text, start, end, bool(_ARABIC.match(name))):
            continue
        found.append(PersonMatch(start, end, text[start:end], entries[name]))
        last_end = end
    return found
