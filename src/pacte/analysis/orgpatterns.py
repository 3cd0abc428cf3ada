"""Organisations that the text itself says are organisations, for names no list holds and the model misses.

Each rule is a small pattern with its reason in its docstring: a corporate suffix ("Ultrahost, Inc."), a
registrar or host named by what it did ("registered through NameCo"), a name in apposition to an organisation
noun ("the research organization ACME"), and a name that runs on past a preposition before its organisation
noun ("the Stand with Ukraine Foundation"). Found names are checked like model output (not a place, not a
technical term, not only ordinary words) by the caller.
"""

from __future__ import annotations

import re

from pacte.analysis.knowledge import is_common_word
from pacte.analysis.ner import NamedEntity
from pacte.analysis.scan import anchored_matches, positions

_NAME = r"[A-Z][\w&\-]*(?:[ \t]+[A-Z][\w&\-]*){0,3}"
_SUFFIXES = ("Inc", "LLC", "L.L.C", "Ltd", "Limited", "GmbH", "Corp", "S.A", "SAS", "SARL", "B.V", "BV", "PLC",
             "Pty", "S.r.l", "OOO", "ООО", "JSC", "Co., Ltd", "Co. Ltd")
_SUFFIX_AT = re.compile(r"(?:" + "|".join(re.escape(s) for s in _SUFFIXES) + r")(?![\w])")
_NAME_BEFORE_SUFFIX = re.compile(rf"(?<![\w\-.])(?P<name>{_NAME}),?[ \t]+$")
_REGISTERED_WORDS = ("registered ", "bought ", "purchased ", "hosted ", "parked ")
_REGISTERED = re.compile(
    r"(?i:(?:registered|bought|purchased|hosted|parked)[ \t]+(?:through|with|via|at|by|from|using))"
    rf"[ \t]+(?P<name>{_NAME})"
)
_APPOSITION_NOUNS = ("organization", "organisation", "company", "firm", "vendor", "registrar", "provider",
                     "non-profit", "nonprofit", "think tank", "ngo", "charity", "foundation", "institute", "agency",
                     "newspaper", "broadcaster", "bank")
_APPOSITION = re.compile(
    r"(?i:(?:organi[sz]ation|company|firm|vendor|registrar|provider|non-?profit|think tank|"
    r"nonprofit|NGO|charity|foundation|institute|agency|newspaper|broadcaster|bank)s?)"
    rf"[ \t]+(?P<name>{_NAME})"
)
# Nouns that close an organisation's name strongly enough to carry a preposition inside it.
_STRONG_HEADS = (
    "Foundation", "Institute", "Association", "Society", "Federation", "Fund", "Alliance", "Coalition", "Movement",
    "Council", "Committee", "Center", "Centre", "Agency", "University", "Academy", "Organization", "Organisation",
)
_INNER_PREPOSITION = re.compile(
    r"(?:^|(?<=\s))(?i:the)[ \t]+(?P<head>[A-Z][\w\-]*(?:[ \t]+[A-Z][\w\-]*)?)[ \t]+"
    r"(?:with|for|of|against|in|on|and)[ \t]+$"
)


def _is_name(name: str) -> bool:
    """Tell whether a captured run is a name: not only ordinary words (initialisms in capitals are names)."""
    words = name.split()
    if not words:
        return False
    return any((w.isupper() and len(w) >= 2) or not is_common_word(w) for w in words)


def corporate_names(text: str) -> list[NamedEntity]:
    """Find names followed by a corporate suffix ("Ultrahost, Inc.", "Northwind GmbH"): companies.

    Hosting lines and WHOIS notes name companies by their legal form; a capitalised name before "Inc", "LLC",
    "Ltd" or "GmbH" is a company even when no list or model knows it. The name is kept without the suffix.
    """
    out = []
    for suffix in _SUFFIXES:
        for pos in positions(text, suffix):
            if not _SUFFIX_AT.match(text, pos):
                continue
            m = _NAME_BEFORE_SUFFIX.search(text, max(0, pos - 60), pos)
            if m is not None and _is_name(m.group("name")):
                out.append(NamedEntity(m.start("name"), m.end("name"), m.group("name"), "organization"))
    return out


def registrar_names(text: str) -> list[NamedEntity]:
    """Find the registrar or host of infrastructure ("registered through NameCo", "hosted by Hostly"): companies.

    Notes on attacker domains say through whom they were registered or where they are hosted; that name is the
    company, not an indicator.
    """
    out = []
    for m in anchored_matches(_REGISTERED, text, _REGISTERED_WORDS, lower=True):
        name = m.group("name")
        if _is_name(name) and not re.match(r"\.[a-z]{2,}", text[m.end("name") : m.end("name") + 8]):
            out.append(NamedEntity(m.start("name"), m.end("name"), name, "organization"))
    return out


def apposition_names(text: str) -> list[NamedEntity]:
    """Find a name right after an organisation noun ("the research organization ACME"): that organisation.

    "the non-profit X", "the registrar X", "the company X": the noun says what the following name is.
    """
    out = []
    for m in anchored_matches(_APPOSITION, text, _APPOSITION_NOUNS, lower=True):
        if m.start() > 0 and text[m.start() - 1].isalnum():
            continue  # inside a word
        name = m.group("name")
        if _is_name(name):
            out.append(NamedEntity(m.start("name"), m.end("name"), name, "organization"))
    return out


def extend_over_preposition(text: str, entity: NamedEntity) -> NamedEntity:
    """Extend "Ukraine Foundation" to "Stand with Ukraine Foundation" after "the": the model cut the name.

    Names of foundations and movements hold prepositions ("Stand with Ukraine Foundation", "Doctors for Peace
    Institute"); after "the", capitalised words and a preposition before an organisation name are part of it.
    """
    if entity.kind != "organization" or entity.text.split()[-1] not in _STRONG_HEADS:
        return entity
    m = _INNER_PREPOSITION.search(text, max(0, entity.start - 60), entity.start)
    if m is None:
        return entity
    start = m.start("head")
    return NamedEntity(start, entity.end, text[start : entity.end], "organization")


def find_stated_organizations(text: str) -> list[NamedEntity]:
    """Find organisations named by a corporate suffix, a registrar or host phrase, or an organisation noun."""
    found = {(e.start, e.end): e for e in (*corporate_names(text), *registrar_names(text), *apposition_names(text))}
    return sorted(found.values(), key=lambda e: e.start)
