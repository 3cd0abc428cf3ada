"""Countries, major cities and regions named in English, French, Spanish, German, Russian or Arabic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_AR_PREFIXES = ("و", "ب", "ل", "ف", "وب", "ول", "لل", "ك")
# Russian case endings that follow a stem (Россия -> России, Китай -> Китая, Иран -> Ираном).
_RU_ENDINGS = ("", "а", "я", "ы", "и", "е", "у", "ю", "ой", "ей", "ом", "ем", "ию", "ии", "ия", "ью")
_RU_STEM_DROP = "аяйьыи"


@dataclass(frozen=True)
class Place:
    """A gazetteer entry: ISO country code (or region name), kind and the preferred English name."""

    code: str
    kind: str
    name: str


@dataclass(frozen=True)
class PlaceMatch:
    """A mention of a gazetteer place in a text."""

    start: int
    end: int
    surface: str
    place: Place


@dataclass
class _Gazetteer:
    latin: Any
    russian: re.Pattern[str] | None
    russian_names: dict[str, Place]
    entries: dict[str, Place]


def _russian_stem(name: str) -> str:
    words = name.split()
    last = words[-1]
    stem = last[:-1] if len(last) > 4 and last[-1] in _RU_STEM_DROP else last
    return " ".join([*words[:-1], stem])


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    """Load the place list shipped with Pacte and build its matchers once."""
    raw = resources.files("pacte.analysis").joinpath("data/places.tsv").read_text(encoding="utf-8")
    latin = ahocorasick.Automaton()
    entries: dict[str, Place] = {}
    russian: dict[str, Place] = {}
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, kind, names = line.split("\t")
        alternatives = [n.strip() for n in names.split("|") if n.strip()]
        place = Place(code, kind, alternatives[0])
        for name in alternatives:
            if _CYRILLIC.search(name) and not name.isupper():
                russian.setdefault(_russian_stem(name), place)
                continue
            if name not in entries:
                entries[name] = place
                latin.add_word(name, name)
        if kind in ("country", "region"):
            # Headlines in capitals ("ACTIVITY FROM BRAZIL-TARGETED MALSPAM") name countries and regions too;
            # city names in capitals are too often ordinary words (NICE, READING) to be matched so.
            for name in alternatives:
                caps = name.upper()
                if caps != name and len(caps) == len(name) and sum(c.isalpha() for c in name) >= 4 \
                        and caps not in entries:
                    entries[caps] = place
                    latin.add_word(caps, caps)
    latin.make_automaton()
    pattern = None
    if russian:
        stems = "|".join(re.escape(s) for s in sorted(russian, key=len, reverse=True))
        endings = "|".join(sorted((e for e in _RU_ENDINGS if e), key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w])(?P<stem>{stems})(?:{endings})?(?![\w])")
    return _Gazetteer(latin, pattern, russian, entries)


def word_bounded(text: str, start: int, end: int, arabic: bool) -> bool:
    """Tell whether a span is a whole word (Arabic spans may carry a one-letter clitic prefix)."""
    after_ok = end >= len(text) or not (
        text[end].isalnum() or text[end] == "_" or (text[end] == "-" and not text[end + 1 : end + 2].isalpha())
    )
    if not after_ok:
        return False
    if start == 0:
        return True
    prev = text[start - 1]
    if not (prev.isalnum() or prev == "_"):
        return True
    if arabic:
        for prefix in _AR_PREFIXES:
            p0 = start - len(prefix)
            if p0 >= 0 and text[p0:start] == prefix and (p0 == 0 or not text[p0 - 1].isalnum()):
                return True
    return False


def _capitals_word(text: str, start: int, end: int) -> bool:
    """Tell whether a two-letter code ("US", "UK") stands in a line written in capitals ("CONTACT US")."""
    if end - start > 2 or not text[start:end].isupper():
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return sum(c.isupper() for c in line) >= 0.8 * sum(c.isalpha() for c in line)


def find_places(text: str) -> list[PlaceMatch]:
    """Find countries, major cities and regions from the shipped gazetteer, with their codes."""
    gaz = _gazetteer()
    found: list[PlaceMatch] = []
    for end_idx, name in gaz.latin.iter_long(text):
        end = end_idx + 1
        start = end - len(name)
        if word_bounded(text, start, end, bool(_ARABIC.match(name))) and not _capitals_word(text, start, end):
            found.append(PlaceMatch(start, end, name, gaz.entries[name]))
    if gaz.russian is not None and _CYRILLIC.search(text):
        for m in gaz.russian.finditer(text):
            found.append(PlaceMatch(m.start(), m.end(), m.group(0), gaz.russian_names[m.group("stem")]))
    found.sort(key=lambda p: (p.start, -(p.end - p.start)))
    out: list[PlaceMatch] = []
    last_end = -1
    for p in found:
        if p.start >= last_end:
            out.append(p)
            last_end = p.end
    return out


def lookup_place(name: str) -> Place | None:
    """Return the gazetteer entry for an exact place name, if there is one."""
    gaz = _gazetteer()
    if name in gaz.entries:
        return gaz.entries[name]
    m = gaz.russian.fullmatch(name) if gaz.russian is not None else None
    return gaz.russian_names[m.group("stem")] if m else None
