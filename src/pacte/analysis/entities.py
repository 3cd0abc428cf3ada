"""Entities of a report: known actors, malware, tools and campaigns, codenames, places, persons, organisations, dates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pacte.analysis.dates import find_dates
from pacte.analysis.families import DESCRIPTORS, find_families, is_kind_word, is_technical_token
from pacte.analysis.hosts import FILE_EXTENSIONS
from pacte.analysis.knowledge import Knowledge, is_dictionary_word
from pacte.analysis.malrules import (
    ends_a_longer_name,
    in_detection_name,
    is_legitimate_software,
    is_network_service,
    names_an_operation,
)
from pacte.analysis.ner import find_named_entities
from pacte.analysis.organizations import find_organizations, is_listed_organization
from pacte.analysis.orgcontext import corporate_suffix_end, in_address_field, in_file_path, is_field_label
from pacte.analysis.orgpatterns import find_stated_organizations
from pacte.analysis.orgrules import (
    division_end,
    is_capitals_word,
    is_product_mention,
    is_unlikely_stated_organization,
    repair_named_entities,
)
from pacte.analysis.persons import find_persons
from pacte.analysis.places import find_places, lookup_place
from pacte.analysis.scan import anchored_matches, positions

ENTITY_KINDS = ("threat_actor", "malware", "tool", "campaign", "organization", "person", "location", "date")
_STIX_TO_KIND = {
    "intrusion-set": "threat_actor", "threat-actor": "threat_actor", "malware": "malware", "tool": "tool",
    "campaign": "campaign", "identity": "organization", "location": "location",
}


@dataclass(frozen=True)
class Entity:
    """One mention of an entity: what it is, its canonical name, where, how sure, and what it links to."""

    kind: str
    name: str
    start: int
    end: int
    surface: str
    confidence: int
    source: str
    stix_id: str | None = None
    stix_type: str | None = None
    code: str | None = None


# Vendor naming schemes for threat actors: numbered codenames and the animal, weather and star families.
_ACTOR_FAMILIES = (
    "Panda", "Bear", "Kitten", "Chollima", "Spider", "Tiger", "Jackal", "Buffalo", "Leopard", "Hawk", "Typhoon",
    "Blizzard", "Sandstorm", "Sleet", "Tempest", "Hail", "Cyclone", "Ursa", "Serpens", "Libra", "Taurus", "Pisces",
    "Scorpius", "Draco", "Lynx", "Aquarius", "Virgo", "Orion", "Wolf", "Werewolf", "Columba", "Vulpes", "Lupus",
    "Pegasus", "Hydra", "Cygnus", "Corvus", "Cassiopeia",
)
_ACTOR_CODENAME = re.compile(
    r"(?<![\w\-])(?:APT ?\d{1,3}|APT-C-\d{2}|UNC\d{3,5}|TA\d{3,4}|FIN\d{1,2}|Storm-\d{4}|DEV-\d{4}|TAG-\d{2,3}|"
    r"UAC-\d{4}|(?:TGR|CL)-(?:STA|CRI|UNK|MIX)-\d{4}|"
    rf"(?:[A-Z][a-z]+ )(?:{'|'.join(_ACTOR_FAMILIES)}))(?![\w\-])"
)
# Where an actor codename can start: its numbered prefixes, and the word before a family word (" Panda").
_ACTOR_PREFIXES = ("APT", "UNC", "TA", "FIN", "Storm-", "DEV-", "TAG-", "UAC-", "TGR-", "CL-")
_WORD_START = re.compile(r"(?<![\w\-])[A-Z][a-z]+$")
_MALWARE_CUE = re.compile(
    r"[ \t](?P<cue>ransomware|stealer|infostealer|backdoor|RAT|loader|trojan|botnet|wiper|implant|rootkit|"
    r"downloader|dropper|spyware|malware family|malware)(?![\w\-])"
)
_NAME_BEFORE_CUE = re.compile(r"(?<![\w\-])(?P<name>[A-Z][a-z0-9]*[A-Z0-9][A-Za-z0-9]*|[A-Z][a-z]{3,}[0-9]*)[ \t]*$")
_MALWARE_BEFORE = re.compile(
    # The lookahead lists the first letters of the cue words: a cheap test at each position (x2 faster).
    r"(?=[rRlLmMcCpPeEsStT\u0432\u0412\u0442\u0422\u0448\u0428\u0431\u0411\u0628])"
    r"(?i:rançongiciel|logiciel malveillant|maliciel|cheval de Troie|porte dérobée|programa malicioso|"
    r"el ransomware|el malware|la familia|Schadsoftware|Ransomware|Trojaner|вредоносн\w+ (?:ПО|программ\w+)|"
    r"троян\w*|шифровальщик\w*|бэкдор\w*|برمجية خبيثة|برنامج الفدية|the malware|the backdoor|the ransomware)"
    r"[ \t]+(?:«[ \t]*|\"|“)?(?P<name>[A-Z][a-z0-9]*[A-Z0-9\-][A-Za-z0-9\-]*|[A-Z][a-z]{3,}[0-9]*)"
)
# "DarkBeatC2 is the latest attack framework", "X is a new backdoor": a name stated to be malicious software.
_STATED_MALWARE = re.compile(
    r"(?<![\w\-])(?P<name>[A-Z][a-z0-9]*[A-Z0-9][A-Za-z0-9]*)\s+(?:is|was|as)\s+(?:a|an|the)\s+"
    r"(?:(?:new|latest|novel|custom|modular|previously unknown|undocumented)\s+)?"
    r"(?:(?:attack|C2|command-and-control|post-exploitation|malware)\s+)?"
    r"(?:framework|backdoor|loader|stealer|infostealer|RAT|implant|toolkit|dropper|downloader|wiper|botnet|"
    r"ransomware|trojan|rootkit)(?![\w\-])"
)
_STATED_VERB = re.compile(r"\s(?:is|was|as)\s")
_STATED_NAME_END = re.compile(r"(?<![\w\-])[A-Z][a-z0-9]*[A-Z0-9][A-Za-z0-9]*\s+$")
# The phrases that open _MALWARE_BEFORE, lower-cased: found with str.find, then the pattern is matched there
# (x5 faster than letting the regex engine try every position of a 10 kB text).
_MALWARE_BEFORE_PHRASES = (
    "rançongiciel", "logiciel malveillant", "maliciel", "cheval de troie", "porte dérobée", "programa malicioso",
    "el ransomware", "el malware", "la familia", "schadsoftware", "ransomware", "trojaner", "вредоносн", "троян",
    "шифровальщик", "бэкдор", "برمجية خبيثة", "برنامج الفدية", "the malware", "the backdoor", "the ransomware",
)
_CAMPAIGN_WORDS = ("Operation", "Opération", "Operación", "Операция", "عملية")
_CAMPAIGN = re.compile(r"(?<![\w\-])(?:Operation|Opération|Operación|Operation|Операция|عملية)\s+"
                       r"(?P<name>[A-Z][\w\-]+(?:\s[A-Z][\w\-]+)?)")
# "Name (Alias)" and "Name, also known as Alias" right after a name: the alias takes that name's kind.
_ALIAS_TAIL = re.compile(
    r"\s*(?:\(|,?\s+(?:also known as|aka|a\.k\.a\.|alias|dit|également appelé|también conocido como|"
    r"auch bekannt als|также известн\w+ как|المعروفة باسم)\s+)"
    r"(?P<alias>[A-Z][A-Za-z0-9\-]{2,}(?: [A-Z][A-Za-z0-9\-]+)?)\)?"
)
# Capitalised words that the patterns above must not take for names.
_NOT_NAMES = frozenset(
    ["The", "This", "That", "These", "Those", "New", "Our", "Their", "Its", "His", "Her", "Windows", "Linux", "Android", "Microsoft", "Google", "Apple", "Python", "PowerShell", "JavaScript", "Java", "Office", "Word", "Excel", "Chrome", "Firefox", "Known", "Custom", "Initial", "Other", "Additional", "Malicious", "Related", "Unknown", "Such", "Another", "Many", "Several", "Some", "Each", "Any", "All", "Mobile", "Remote", "Banking", "Android", "Commodity", "Modular", "Sophisticated", "First", "Second", "Final", "Legitimate", "Open", "Source", "Generic", "Updated", "Previous", "Fake", "Payload", "Wiper", "Implant", "Backdoor", "Dropper", "Loader", "Sample", "Variant", "Module", "Plugin", "Este", "Esta", "Ese", "Esa", "Der", "Die", "Das", "Ein", "Eine", "Le", "La", "Les", "Un", "Une", "Ce", "Cette"]
)


# Words that follow "Ransomware", "the malware" without being a name: groups, reports, dates.
_NOT_FOLLOWERS = frozenset([
    "Gang", "Group", "Groups", "Team", "Operators", "Operator", "Actors", "Actor", "Attack", "Attacks", "Campaign",
    "Campaigns", "Family", "Families", "Variant", "Variants", "Report", "Analysis", "Activity", "Incident",
    "Protection", "Detection", "Defense", "Defence", "Response", "Recovery", "Removal", "Decryptor", "Tracker",
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
])


def is_descriptor(text: str, start: int, name: str) -> bool:
    """Tell whether a word before a malware noun says what kind of malware it is, not which one.

    "a Golang backdoor", "the Russian malware", "an ISO dropper", "a .NET loader", "a Discord stealer": origins,
    languages, platforms, file types and technical tokens qualify the noun; a name cut from a longer one ("the
    Cobalt Strike loader" -> "Strike") is no name either.
    """
    if name in DESCRIPTORS or is_technical_token(name) or (name.isupper() and name.lower() in FILE_EXTENSIONS):
        return True
    if start > 0 and text[start - 1] == ".":
        return True  # ".NET"
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if before is None or before.group(1) in _NOT_NAMES:
        return False
    opening = text[max(0, before.start(1) - 40) : before.start(1)]
    return _OPENING.search(opening) is None  # a capitalised word mid-sentence: the name goes on to the left


_WORD_BEFORE = re.compile(r"(?<![\w\-'’])([A-Z][\w\-]*)[ \t]$")


class _Taken:
    """Spans of a text already taken, as a mask of its characters (an overlap test is one C-speed scan)."""

    def __init__(self, size: int, spans: Iterable[tuple[int, int]] = ()) -> None:
        self.mask = bytearray(size + 1)
        for start, end in spans:
            self.add(start, end)

    def add(self, start: int, end: int) -> None:
        """Take a span."""
        self.mask[start:end] = b"\x01" * max(0, end - start)

    def hits(self, start: int, end: int) -> bool:
        """Tell whether a span overlaps a taken one."""
        return end > start and self.mask.find(1, start, end) >= 0


def _matches_from(rx: re.Pattern[str], text: str, starts: Iterable[int]) -> list[re.Match[str]]:
    """Return the matches of a pattern tried only at the given starts, without overlaps, as finditer would."""
    out: list[re.Match[str]] = []
    end = 0
    for pos in sorted(set(starts)):
        if pos < end:
            continue
        m = rx.match(text, pos)
        if m is not None:
            out.append(m)
            end = max(m.end(), pos + 1)
    return out


def actor_codenames(text: str) -> list[re.Match[str]]:
    """Find vendor codenames of actors ("APT28", "UNC4736", "Mustang Panda"), tried only where one can start.

    The codename pattern tried at every position of a text costs more than finding its prefixes and family
    words with str.find (C speed) and trying it at those places (same matches).
    """
    starts = [p for prefix in _ACTOR_PREFIXES for p in positions(text, prefix)]
    for family in _ACTOR_FAMILIES:
        for p in positions(text, " " + family):
            w = _WORD_START.search(text, max(0, p - 40), p)
            if w is not None:
                starts.append(w.start())
    return _matches_from(_ACTOR_CODENAME, text, starts)


def stated_malware(text: str) -> list[re.Match[str]]:
    """Find "X is a new backdoor" statements, tried only before "is", "was" and "as" (same matches as finditer)."""
    starts = []
    for v in _STATED_VERB.finditer(text):
        n = _STATED_NAME_END.search(text, max(0, v.start() - 64), v.start() + 1)
        if n is not None:
            starts.append(n.start())
    return _matches_from(_STATED_MALWARE, text, starts)


def _pattern_entities(text: str, blocked: _Taken) -> list[Entity]:
    """Find actors, malware and campaigns that the hub does not know yet, from naming patterns."""
    out: list[Entity] = []
    for m in actor_codenames(text):
        if not blocked.hits(m.start(), m.end()):
            out.append(Entity("threat_actor", m.group(0), m.start(), m.end(), m.group(0), 60, "pattern"))
    candidates: list[tuple[str, int, int, str | None, int]] = []
    for cm in _MALWARE_CUE.finditer(text):
        nm = _NAME_BEFORE_CUE.search(text, max(0, cm.start() - 48), cm.start())
        if nm is not None:
            candidates.append((nm.group("name"), nm.start("name"), nm.end("name"), cm.group("cue"), cm.end()))
    for m in anchored_matches(_MALWARE_BEFORE, text, _MALWARE_BEFORE_PHRASES, lower=True):
        candidates.append((m.group("name"), m.start("name"), m.end("name"), None, m.end()))
    for m in stated_malware(text):
        candidates.append((m.group("name"), m.start("name"), m.end("name"), None, m.end("name")))
    for name, s, e, cue, cue_end in candidates:
        if name in _NOT_NAMES or blocked.hits(s, e) or lookup_place(name) is not None:
            continue
        if is_sentence_initial_word(text, s, name):
            continue  # "Persistent loader.", "Decrypted backdoor.": an adjective, not a name
        if is_kind_word(name) or name in _NOT_FOLLOWERS:
            continue  # "Austrian spyware", "Ransomware Gang", "Ransomware November 29"
        if cue is not None and (is_descriptor(text, s, name) or ends_a_longer_name(text, s, name)):
            continue  # "a Golang backdoor", "an ISO dropper", "the Cobalt Strike loader", "Ballistic Bobcat backdoor"
        if cue and cue.lower() == "stealer" and name[-1:].islower():
            out.append(Entity("malware", f"{name} {cue}", s, cue_end, text[s:cue_end], 50, "pattern"))
            continue
        out.append(Entity("malware", name, s, e, name, 50, "pattern"))
    for m in anchored_matches(_CAMPAIGN, text, _CAMPAIGN_WORDS):
        if not blocked.hits(m.start(), m.end()):
            out.append(Entity("campaign", m.group(0), m.start(), m.end(), m.group(0), 60, "pattern"))
    return out


_OPENING = re.compile(r"(?:^|[\n|]|[.!?:]\s|^\s*[-*•]\s)\s*$")


def is_sentence_initial_word(text: str, start: int, name: str) -> bool:
    """Tell whether a one-word name before a malware noun is an ordinary word opening a sentence or a cell.

    At the start of a sentence, a list item or a table cell every word is capitalised, so "Persistent loader"
    or "Decrypted backdoor" is an adjective and a noun; in mid-sentence a capitalised ordinary word before the
    noun ("the Prestige ransomware") still names a family.
    """
    if not name.isalpha() or not is_dictionary_word(name):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    return _OPENING.search(text[max(line_start - 1, start - 40, 0) : start]) is not None


_CLASS_NOUNS = frozenset([
    "wiper", "wipers", "ransomware", "backdoor", "backdoors", "loader", "loaders", "stealer", "stealers", "trojan",
    "trojans", "worm", "worms", "dropper", "droppers", "downloader", "implant", "rootkit", "botnet", "spyware",
    "keylogger", "rat", "malware", "virus", "webshell", "miner", "cryptominer", "infostealer", "bootkit",
    "trojaner", "schadsoftware", "rançongiciel", "maliciel",
])


def is_class_noun(surface: str) -> bool:
    """Tell whether a known name is only the noun for a class of malware ("Wiper", "Backdoor", "Loader").

    Knowledge bases hold a few families named by their class; in a text the word names the class, all the more in
    German where every noun is capitalised ("der Wiper").
    """
    return surface.lower() in _CLASS_NOUNS


def in_file_name(text: str, start: int, end: int) -> bool:
    """Tell whether a known name is part of a file name ("1675.ps1", "zUpdater.exe", "Solar.exe").

    "zUpdater.exe" or the extension ".ps1" name a file on disk, not the family the hub calls ZUpdater or PS1;
    even written as the family's name, a file name is what the sample was called (droppers name their files
    after legitimate programs and other families), and a family the report speaks of is named outside it too.
    """
    if start > 0 and text[start - 1] == "." and start > 1 and (text[start - 2].isalnum() or text[start - 2] in "_-"):
        return True  # an extension
    m = re.match(r"\.(\w{1,5})(?![\w.])", text[end : end + 7])
    return m is not None and m.group(1).lower() in FILE_EXTENSIONS


_COLLECTIVE = re.compile(
    r"(?i:\b(?:cyber ?army|cyber ?team|cyber ?front|hackers?|hacktivists?|hacker group|ransomware gang|"
    r"hack(?:ing)? crew|hacking group)\b)"
)


def is_hacker_collective(name: str) -> bool:
    """Tell whether an organisation the model found is a hacker collective ("Russian Cyber Army Team").

    Hacktivist and criminal groups name themselves like organisations (army, team, front); a name saying it is
    a group of hackers is a threat actor, unless the organisation lists hold it (a company named "Hacking Team")
    or it only says where the hackers come from ("Chinese Hackers" is no name).
    """
    if _COLLECTIVE.search(name) is None or is_listed_organization(name):
        return False
    rest = _COLLECTIVE.sub(" ", name).split()
    return any(w not in DESCRIPTORS and w not in ("North", "South", "The", "Pro-Russian") for w in rest)


def _out_of_prose(text: str, start: int, end: int) -> bool:
    """Tell whether a span is a folder of a path, a field label of a dump or in the street field of an address."""
    return in_file_path(text, start, end) or is_field_label(text, start, end) or in_address_field(text, start)


def _inside_longer(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Tell whether a span lies inside a longer one of the list."""
    return any(s <= start and end <= e and e - s > end - start for s, e in spans)


def _organization_first(surface: str, name: str, stix_type: str) -> bool:
    """Tell whether a known malware/tool/actor alias is rather a listed organisation ("UPS", "SWIFT", "McAfee").

    Knowledge bases give some families and groups aliases that are company names; a listed organisation that
    is not the family's or group's own name, as written, is the organisation.
    """
    return stix_type not in ("identity", "location") and surface != name and is_listed_organization(surface)


def _known_identity(knowledge: Knowledge | None, *names: str) -> str | None:
    """Return the id of the hub's identity named like a found organisation or person, so it links to it."""
    if knowledge is None:
        return None
    for name in names:
        known = knowledge.lookup(name, ("identity",))
        if known is not None:
            return known.stix_id
    return None


def _aliases(text: str, found: list[Entity], blocked: _Taken) -> list[Entity]:
    """Find aliases given beside a known actor or malware name: "Bling Libra (ShinyHunters)"."""
    out: list[Entity] = []
    for main in found:
        if main.kind not in ("threat_actor", "malware", "tool"):
            continue
        m = _ALIAS_TAIL.match(text, main.end)
        if m is None:
            continue
        s, e = m.start("alias"), m.end("alias")
        alias = m.group("alias")
        if alias in _NOT_NAMES or blocked.hits(s, e) or lookup_place(alias) is not None:
            continue
        if alias.split()[0] in _NOT_FOLLOWERS or alias in DESCRIPTORS or alias.split()[0].lower() == "aka":
            continue
        if any(f.start <= s < f.end for f in found):
            continue
        out.append(Entity(main.kind, alias, s, e, alias, 55, "alias", stix_type=main.stix_type))
    return out


def find_entities(
    text: str,
    *,
    lang: str,
    knowledge: Knowledge | None,
    blocked: Iterable[tuple[int, int]] = (),
    ner: bool = True,
) -> list[Entity]:
    """Find every entity of a cleaned report; spans in `blocked` (indicators) are never entities."""
    spans = sorted(blocked)
    found: list[Entity] = []
    silenced: list[tuple[int, int]] = []  # known names that are no entity of the report, and no other name either
    if knowledge is not None:
        for km in knowledge.match(text, blocked=spans):
            if _organization_first(km.surface, km.entity.name, km.entity.stix_type):
                continue
            if km.entity.stix_type in ("malware", "tool") and is_legitimate_software(km.entity.name, km.surface):
                silenced.append((km.start, km.end))  # "AnyDesk", "PsExec": not a family, nor an organisation
                continue
            if km.entity.stix_type in ("malware", "tool") and (
                in_file_name(text, km.start, km.end)
                or is_class_noun(km.surface)
                or in_detection_name(text, km.start, km.end)
                or is_network_service(text, km.end)
                or names_an_operation(text, km.start)
            ):
                continue
            kind = _STIX_TO_KIND[km.entity.stix_type]
            if km.entity.identity_class == "individual":
                kind = "person"
            found.append(Entity(kind, km.entity.name, km.start, km.end, km.surface, km.confidence, "knowledge",
                                km.entity.stix_id, km.entity.stix_type))
    spans = sorted([*spans, *silenced])
    blocked_only = _Taken(len(text), spans)
    taken = _Taken(len(text), [*spans, *((e.start, e.end) for e in found)])
    known_only = _Taken(len(text), [(f.start, f.end) for f in found])
    for e in _pattern_entities(text, taken):
        if not known_only.hits(e.start, e.end):
            found.append(e)
            known_only.add(e.start, e.end)
    for f in find_families(text):
        if not known_only.hits(f.start, f.end) and not taken.hits(f.start, f.end):
            found.append(Entity("malware", f.name, f.start, f.end, f.name, f.confidence, f"family-{f.rule}"))
            known_only.add(f.start, f.end)
    found.extend(_aliases(text, found, blocked_only))
    taken = _Taken(len(text), [*spans, *((e.start, e.end) for e in found)])
    places = find_places(text)
    place_spans = [(p.start, p.end) for p in places]
    for o in find_organizations(text):
        if taken.hits(o.start, o.end) or _inside_longer(place_spans, o.start, o.end):
            continue  # "Emirates" in "United Arab Emirates" is the country
        if is_capitals_word(text, o.start, o.end):
            continue  # "FIRST SEEN DATE": the word, not the organisation
        if in_file_path(text, o.start, o.end) or in_address_field(text, o.start):
            taken.add(o.start, o.end)  # "C:\Program Files\Contoso\", 'street = "Contoso Park"'
            continue
        if is_product_mention(text, o.end):
            taken.add(o.start, o.end)  # "Atera Agent", "ESET Detection name": no organisation named
            continue
        end = division_end(text, o.end)
        name, surface = (o.name, o.surface) if end == o.end else (text[o.start : end], text[o.start : end])
        if end == o.end:
            end = corporate_suffix_end(text, o.end)  # "Contoso Limited": the legal name, the same organisation
            surface = text[o.start : end]
        stix_id = _known_identity(knowledge, name, o.surface)
        found.append(Entity("organization", name, o.start, end, surface, 75, "gazetteer", stix_id,
                            "identity" if stix_id else None))
    for pm in find_persons(text):
        if not taken.hits(pm.start, pm.end):
            stix_id = _known_identity(knowledge, pm.name, pm.surface)
            found.append(Entity("person", pm.name, pm.start, pm.end, pm.surface, 75, "gazetteer", stix_id,
                                "identity" if stix_id else None))
    for e in found:
        taken.add(e.start, e.end)
    is_known = knowledge.is_known_name if knowledge is not None else (lambda _: False)
    named = repair_named_entities(text, find_named_entities(text, lang), is_known) if ner else []
    # A long organisation name that holds a place ("Czech Republic Ministry of Foreign Affairs") stays whole.
    long_orgs = [(n.start, n.end) for n in named if n.kind == "organization" and len(n.text.split()) >= 3
                 and not taken.hits(n.start, n.end)]
    for p in places:
        inside_org = any(s <= p.start and p.end <= e and (p.start, p.end) != (s, e) for s, e in long_orgs)
        if not taken.hits(p.start, p.end) and not inside_org:
            known = knowledge.place(p.place.code) if knowledge is not None else None
            found.append(Entity("location", p.place.name, p.start, p.end, p.surface, 80, "gazetteer",
                                known.stix_id if known else None, "location" if known else p.place.kind,
                                code=p.place.code))
            taken.add(p.start, p.end)
    known_names = {e.surface.lower() for e in found} | {e.name.lower() for e in found}
    for ne in named:
        if ne.kind == "nationality" or taken.hits(ne.start, ne.end) or ne.text.lower() in known_names:
            continue
        if ne.kind == "organization" and _out_of_prose(text, ne.start, ne.end):
            continue  # a folder of a path, a field label of a dump, a street of an address
        if re.search(r"\.\w{2,4}$", ne.text):
            continue
        place = lookup_place(ne.text) if ne.kind == "location" else None
        if place is not None:
            known = knowledge.place(place.code) if knowledge is not None else None
            found.append(Entity("location", place.name, ne.start, ne.end, ne.text, 75, "ner+gazetteer",
                                known.stix_id if known else None, "location" if known else place.kind,
                                code=place.code))
        elif ne.kind == "location":
            continue  # places the gazetteer cannot resolve get no code, and small models guess them poorly
        elif ne.kind == "organization" and is_hacker_collective(ne.text):
            found.append(Entity("threat_actor", ne.text, ne.start, ne.end, ne.text, 50, "ner+collective"))
        else:
            stix_id = _known_identity(knowledge, ne.text, ne.text)
            found.append(Entity(ne.kind, ne.text, ne.start, ne.end, ne.text, 55, "ner", stix_id,
                                "identity" if stix_id else None))
    named_mask = _Taken(len(text), [(n.start, n.end) for n in named])
    for so in find_stated_organizations(text):
        if taken.hits(so.start, so.end) or named_mask.hits(so.start, so.end) or so.text.lower() in known_names:
            continue
        if _out_of_prose(text, so.start, so.end):
            continue
        if is_unlikely_stated_organization(text, so, is_known):
            continue
        stix_id = _known_identity(knowledge, so.text, so.text)
        found.append(Entity("organization", so.text, so.start, so.end, so.text, 55, "pattern", stix_id,
                            "identity" if stix_id else None))
        taken.add(so.start, so.end)
    for d in find_dates(text):
        found.append(Entity("date", d.value, d.start, d.end, d.surface, 80, "pattern"))
    found.sort(key=lambda e: e.start)
    return found
