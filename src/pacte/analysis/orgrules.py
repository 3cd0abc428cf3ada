"""Repairs of organisation spans: what the small NER model and the lists get wrong about organisation names.

Each rule is a small function with its reason in its docstring; :func:`repair_named_entities` applies the span
rules to the NER output, and the entity finder calls the mention rules on every organisation it keeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pacte.analysis.families import QUALIFIER_AFTER, is_kind_word, is_technical_token
from pacte.analysis.knowledge import is_common_word
from pacte.analysis.ner import NamedEntity
from pacte.analysis.organizations import is_listed_organization
from pacte.analysis.orgpatterns import extend_over_preposition
from pacte.analysis.persons import find_persons
from pacte.analysis.places import lookup_place

# Nouns that head a public body named after its country ("Polish Ministry of Foreign Affairs").
INSTITUTION_HEADS = (
    "Ministry", "Department", "Embassy", "Consulate", "Office", "Agency", "Directorate", "Government", "Parliament",
    "Police", "Army", "Navy", "Air Force", "Armed Forces", "Council", "Bureau", "Service", "Services", "Committee",
    "Court", "Prosecutor", "Senate", "Presidency", "Cabinet", "Central Bank", "National Bank", "Defence", "Defense",
)
# Nouns that end the name of a team or division of an organisation ("Unit 42 Managed Services").
UNIT_HEADS = ("Services", "Group", "Team", "Division", "Unit", "Department", "Center", "Centre", "Office")
# Nouns after which a name is a product, not its maker ("Atera Agent", "FortiClient EMS", "MSI Installer").
PRODUCT_NOUNS = (
    "Installer", "Client", "Agent", "Browser", "EMS", "Server", "App", "Apps", "Registry", "Edition", "Plugin",
    "Plug-in", "Extension", "Driver", "Drivers", "SDK", "Console", "Updater", "Launcher", "Toolkit", "Firmware",
    "Service Pack", "ATT&CK",
)
# Nouns that make a run of ordinary words an organisation's name, in the languages with a NER model or list.
ORGANIZATION_NOUNS = frozenset(w.lower() for w in (
    *INSTITUTION_HEADS, *UNIT_HEADS,
    "Company", "Corporation", "Corp", "Inc", "Ltd", "LLC", "GmbH", "AG", "SA", "Co", "Holdings", "Bank", "Banks",
    "University", "College", "School", "Institute", "Academy", "Association", "Foundation", "Society", "Union",
    "Federation", "Commission", "Authority", "Board", "Party", "Front", "Movement", "Alliance", "Coalition",
    "Organization", "Organisation", "Forces", "Guard", "Corps", "Command", "Regiment", "Brigade", "Battalion",
    "Hospital", "Clinic", "Church", "Press", "News", "Times", "Post", "Journal", "Herald", "Tribune", "Gazette",
    "Radio", "Television", "TV", "Media", "Networks", "Systems", "Technologies", "Technology", "Solutions",
    "Software", "Security", "Labs", "Lab", "Laboratory", "Research", "Intelligence", "Consulting", "Partners",
    "Airlines", "Airways", "Motors", "Energy", "Telecom", "Communications", "Industries", "Enterprises",
    "Exchange", "Fund", "Trust", "Club", "Assembly", "Congress", "Senate", "Ministry", "Secretariat", "Mission",
    "Ministère", "Agence", "Direction", "Gendarmerie", "Parquet", "Tribunal", "Banque", "Université",
    "Institut", "Conseil", "Assemblée", "Sénat", "Parti", "Groupe", "Société", "Comité", "Armée", "Préfecture",
    "Ministerio", "Agencia", "Policía", "Guardia", "Partido", "Banco", "Universidad", "Instituto", "Comisión",
    "Consejo", "Gobierno", "Grupo", "Fiscalía", "Ejército", "Empresa",
    "Ministerium", "Bundesamt", "Amt", "Behörde", "Polizei", "Partei", "Universität", "Kommission", "Rat",
    "Regierung", "Gruppe", "Bundeswehr", "Gericht", "Staatsanwaltschaft", "Verband", "Stiftung",
))
_FUNCTION_WORDS = frozenset(["of", "and", "for", "the", "on", "in", "at", "to", "de", "des", "du", "la", "le", "les", "et", "del", "y", "el", "los", "las", "und", "der", "die", "das", "für", "von", "zu"])
# Further nouns that end a product's name when the model tags it whole ("NetScaler Gateway", "Active Directory");
# after a maker's name they do not make it a product ("Fortinet VPN" may speak of the company).
PRODUCT_END_NOUNS = (
    *PRODUCT_NOUNS, "Gateway", "Gateways", "VPN", "SSL-VPN", "Firewall", "Router", "Routers", "Appliance",
    "Appliances", "Controller", "Controllers", "Protocol", "Servers", "Directory", "Auditor", "Advisory",
    "Advisories", "Bulletin", "Whitepaper", "Framework", "Module", "Modules", "Library", "Package", "Packages",
)
_HEADS = "|".join(re.escape(h) for h in INSTITUTION_HEADS)
_INSTITUTION = re.compile(rf"(?:{_HEADS})\b")
_UNIT_TAIL = re.compile(
    r"(?P<tail>(?:[ \t]+(?:[A-Z][\w&\-]*|\d+)){0,2}[ \t]+(?:" + "|".join(UNIT_HEADS) + r"))(?![\w\-])"
)
_PRODUCT_AFTER = re.compile(
    r"[ \t]+(?:(?:" + "|".join(re.escape(p) for p in PRODUCT_NOUNS) + r")(?![\w\-])|"
    r"(?!(?:19|20)\d\d\b)\d{3,}\b|(?i:detection names?\b))"
)
_PRODUCT_END = re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(p) for p in PRODUCT_END_NOUNS) + r")$")
_TRAILING_CODE = re.compile(r"(?:\s+\S*\d\S*)+$")  # "Windows Server 2019", "Advisory AA24-207A"
_CAMEL = re.compile(r"^[A-Za-z][a-z0-9]+[A-Z][A-Za-z0-9]*$")
_POSSESSIVE = re.compile(r"['’]s\s+")


def merge_nationality(text: str, entities: list[NamedEntity]) -> list[NamedEntity]:
    """Join a country or demonym written just before a public body: "Polish" + "Ministry of Foreign Affairs".

    Ministries, embassies and agencies are named by their country; the small model tags the country (GPE) or
    demonym (NORP) apart, leaving a nameless "Ministry of Foreign Affairs".
    """
    out: list[NamedEntity] = []
    by_end = {e.end: e for e in entities if e.kind in ("nationality", "location")}
    merged: set[int] = set()
    for e in entities:
        if e.kind == "organization" and _INSTITUTION.match(e.text):
            before = by_end.get(e.start - 1)
            if before is not None and text[e.start - 1] == " ":
                out.append(NamedEntity(before.start, e.end, text[before.start : e.end], "organization"))
                merged.add(before.start)
                continue
        out.append(e)
    return [e for e in out if not (e.kind != "organization" and e.start in merged)]


def split_possessive(entity: NamedEntity) -> list[NamedEntity]:
    """Split "Recorded Future's Insikt Group" into the company and its team, both organisations.

    A possessive inside an organisation span names the parent and one of its units; each is an organisation.
    """
    if entity.kind != "organization":
        return [entity]
    m = _POSSESSIVE.search(entity.text)
    if m is None:
        return [entity]
    head, tail = entity.text[: m.start()], entity.text[m.end() :]
    out = []
    if head[:1].isupper():
        out.append(NamedEntity(entity.start, entity.start + len(head), head, "organization"))
    if tail[:1].isupper() and tail.split()[-1] in UNIT_HEADS:
        start = entity.start + m.end()
        out.append(NamedEntity(start, start + len(tail), tail, "organization"))
    return out


def is_product_name(name: str) -> bool:
    """Tell whether an organisation span names a product: it ends in a product noun ("MSI Installer").

    Reports name software by maker and component ("FortiClient EMS", "ScreenConnect Client"); the small model
    tags those as organisations.
    """
    return bool(_PRODUCT_END.search(_TRAILING_CODE.sub("", name)))


def is_camel_case_product(name: str) -> bool:
    """Tell whether a one-word name in CamelCase (ClickFix, SpringShell) is a product rather than an organisation.

    In threat reports a single CamelCase token is far more often a malware, tool, technique or product than a
    company; companies written that way (CrowdStrike, SentinelOne) are in the organisation lists.
    """
    return " " not in name and bool(_CAMEL.match(name)) and not is_listed_organization(name)


def is_product_mention(text: str, end: int) -> bool:
    """Tell whether the organisation name ending at `end` is used as a product's name, not as the organisation.

    "Atera Agent", "Intel 80386", "MITRE ATT&CK", "ESET Detection name": the maker's name qualifies a product,
    a model number or a detection label.
    """
    return bool(_PRODUCT_AFTER.match(text, end))


def division_end(text: str, end: int) -> int:
    """Return where an organisation's name ends when a division follows it ("Unit 42 Managed Services").

    A listed name followed by capitalised words ending in a unit noun names a division of it; the whole name
    is the organisation the report speaks of.
    """
    m = _UNIT_TAIL.match(text, end)
    if m is None or "\n" in m.group("tail"):
        return end
    if len(m.group("tail").split()) < 2:
        return end  # "Microsoft Group" alone is too weak a sign
    return m.end()


def is_headline_phrase(text: str, entity: NamedEntity) -> bool:
    """Tell whether a span is ordinary words in a Title-Case headline ("... Letters via Postal Service").

    In a headline every word is capitalised, so capitals say nothing of a name: a span made only of ordinary
    words there is a common noun phrase, not an organisation or a person.
    """
    line_start = text.rfind("\n", 0, entity.start) + 1
    line_end = text.find("\n", entity.end)
    rest = text[line_start : entity.start] + " " + text[entity.end : line_end if line_end >= 0 else len(text)]
    words = re.findall(r"[^\W\d_]{4,}", rest)  # the words of the line around the span
    if len(words) < 3 or sum(w[0].isupper() for w in words) < 0.8 * len(words):
        return False
    return all(is_common_word(w) for w in re.findall(r"[^\W\d_]+", entity.text))


def is_ordinary_term(name: str) -> bool:
    """Tell whether a span is ordinary words without an organisation noun ("Remote Desktop Protocol", "Tags").

    Organisation names made of ordinary words carry a noun that says so ("Atomic Red Team", "Postal Service");
    without one, a capitalised run of ordinary words is a term or a heading. Companies named by ordinary words
    (Deep Instinct, Red Canary) are in the organisation lists.
    """
    if is_listed_organization(name):
        return False
    words: list[str] = []
    for token in name.split():
        parts = token.strip(",;:()").split("-")
        if not all(part.isalpha() for part in parts):
            return False  # a number, an initialism with dots or a code in the name: not an ordinary term
        words.extend(part for part in parts if part.lower() not in _FUNCTION_WORDS)
    if len(words) == 1 and " " not in name.strip():
        return is_common_word(words[0])  # "Software", "Tags": one ordinary word, even an organisation noun
    if not words or any(w.lower() in ORGANIZATION_NOUNS for w in words):
        return False
    return all(is_common_word(w) for w in words)


def is_cut_name(name: str) -> bool:
    """Tell whether an organisation span stops on a function word ("Cyber Army of"): the model cut the name."""
    last = name.split()[-1] if name.split() else ""
    return last.lower() in _FUNCTION_WORDS or last in ("&", "or")


# Nouns for things that a person's name does not hold ("Android Trojan", "Bitcoin Wallet", "Boot Record").
_THING_WORDS = frozenset([
    "trojan", "malware", "ransomware", "backdoor", "loader", "stealer", "wallet", "record", "text", "protector",
    "exploit", "payload", "botnet", "worm", "virus", "elf", "android", "linux", "windows", "bitcoin", "server",
    "client", "scope", "data", "file", "files", "app", "browser", "driver", "kernel", "module", "plugin", "token",
])


def _in_lower_case(text: str, word: str) -> bool:
    """Tell whether a text also writes a word in lower case, as an ordinary word."""
    return re.search(rf"(?<![\w-]){re.escape(word.lower())}(?![\w-])", text) is not None


def is_unlikely_person(text: str, name: str) -> bool:
    """Tell whether a person span is rather a word, a product or an organisation ("Outlook", "Win32", "WeTransfer").

    Names of people hold no digits, are not CamelCase tokens and hold no organisation noun; a one-word "person"
    is rather a word, a coin or a product ("Bitcoin", "Tox": reports name people in full, and the heads of state
    named by one word are in the person list), and several ordinary words that the text also writes in lower case
    are words too ("Malicious Update").
    """
    if any(c.isdigit() for c in name) or is_camel_case_product(name):
        return True
    words = name.split()
    if len(words) > 1 and any(w.lower() in ORGANIZATION_NOUNS for w in words[1:]):
        return True
    if any(is_kind_word(w) or is_technical_token(w) or w.lower() in _THING_WORDS for w in words):
        return True  # "Android Trojan", "Bitcoin Wallet", "Linux ELF"
    if len(words) > 1 and all(_in_lower_case(text, w) and is_common_word(w) for w in words):
        return True  # "Malicious Update": ordinary words the text also writes in lower case
    if len(words) > 1:
        return False
    listed = find_persons(name)  # reports name a person in full; one word is a product, a coin, a nickname
    return not (listed and listed[0].surface == name)


def names_a_variant(text: str, end: int) -> bool:
    """Tell whether a name is followed by "variant", "version", "sample" ("Malicious Update variant 1").

    A person or organisation has no variants; a span followed by such a noun names a thing (a sample, a
    build), which headings of indicator lists do.
    """
    return QUALIFIER_AFTER.match(text, end) is not None


# Nouns that end the name of an event, not of an organisation ("Worldwide Developers' Conference").
EVENT_NOUNS = frozenset(["Incident", "Conference", "Summit", "Expo", "Convention", "Symposium", "Workshop", "Hackathon",
                         "Olympics", "Games", "Championship", "Championships", "Festival", "Week", "Day", "Awards",
                         "Conférence", "Sommet", "Salon", "Congreso", "Cumbre", "Konferenz", "Gipfel", "Messe"])
_DESCRIBED_PRODUCT = re.compile(
    r"[ \t]+(?:[a-z][a-z\-]+[ \t]+){0,2}(?:client|app|application|browser|software|program|extension|plug-?in|"
    r"installer|library|package|messenger|editor|player|utility|add-?on)s?\b"
)
_SEPARATOR = re.compile(
    r"\s+(?:--|—|–)\s+|\s*\|\s*|\s*\((?![^()]*\))|,\s+(?!(?:Inc|LLC|Ltd|GmbH|Corp|S\.A|B\.V|PLC|Co)\b)|:\s+"
)


def is_technical_name(name: str) -> bool:
    """Tell whether an organisation or person span is a protocol, cipher or network term ("RSA-PSS", "C2 IP").

    Mail headers and TLS parameters (ESMTPS, X25519, RSA-PSS) and notes on infrastructure ("C2 IP") are
    capitalised terms that the small model tags as organisations.
    """
    return is_technical_token(name)


# Platforms and products whose names open names of their features ("Windows Management Instrumentation").
_PLATFORM_HEADS = frozenset([
    "Windows", "Linux", "Android", "macOS", "iOS", "Office", "Chrome", "Firefox", "Outlook", "SharePoint", "Azure",
    "PowerShell", "Active", "Exchange", "OneDrive", "Teams", "Edge", "Safari", "Ubuntu", "Debian", "Kubernetes",
    "Docker", "VMware", "vSphere", "ESXi", "Citrix", "NetScaler", "FortiOS", "PAN-OS", "Junos", "Cisco IOS",
])


def is_platform_feature(name: str) -> bool:
    """Tell whether an organisation span opens with a platform's name ("Windows Management Instrumentation").

    Features and components of operating systems and products are named after the platform; the small model
    tags them as organisations, and the platforms themselves are no organisation either.
    """
    words = name.split()
    return len(words) >= 1 and words[0] in _PLATFORM_HEADS


def is_event_name(name: str) -> bool:
    """Tell whether a span names an event ("Worldwide Developers' Conference"): it ends in an event noun.

    Conferences, summits and festivals are organised by an organisation but are none; the small model tags
    them as organisations.
    """
    words = re.sub(r"(?:\s+\d+)+$", "", name).split()  # "Winter Olympics 2018"
    return len(words) >= 2 and words[-1] in EVENT_NOUNS


def is_described_product(text: str, end: int) -> bool:
    """Tell whether a name is followed by a product description in lower case ("Pidgin chat client").

    "the Pidgin chat client", "the Zoom video app": a name before a lower-case product noun is the product's
    name, not an organisation.
    """
    return bool(_DESCRIBED_PRODUCT.match(text, end))


def cut_at_separator(entity: NamedEntity) -> NamedEntity:
    """Cut a span at a title separator ("CeranaKeeper -- Separating the bee"): the model ran over it.

    A dash between spaces or a table bar ends a name; what follows is a title or another cell. So does an
    opening bracket the span does not close ("Distributed Component Object Model (DCOM") and a comma that
    is not before a corporate suffix ("WeTransfer, TransferNow" is a list), and a colon before a space ("Whiskers:
    Ballistic Bobcat" runs over a title's colon).
    """
    m = _SEPARATOR.search(entity.text)
    if m is None:
        return entity
    head = entity.text[: m.start()]
    return NamedEntity(entity.start, entity.start + len(head), head, entity.kind)


def is_capitals_word(text: str, start: int, end: int) -> bool:
    """Tell whether a listed name that is an ordinary word ("FIRST") is written in a line of capitals.

    In a heading or column title written in capitals ("FILE NAME - FIRST SEEN DATE") an ordinary word in
    capitals is that word, not the organisation that the list spells the same way.
    """
    surface = text[start:end]
    if not surface.isupper() or not all(is_common_word(w) for w in re.findall(r"[^\W\d_]+", surface)):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 2 * len(surface) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def is_unlikely_stated_organization(text: str, entity: NamedEntity, is_known: Callable[[str], bool]) -> bool:
    """Tell whether a name that a phrase calls an organisation is rather a place, a known threat or a product.

    The phrase ("registered through X", "X, Inc.") is strong evidence, so fewer checks apply than to model
    output: CamelCase and ordinary-looking names stay, but not places, technical terms or known malware.
    """
    name = entity.text
    return (is_known(name) or lookup_place(name) is not None or is_technical_name(name) or is_product_name(name)
            or is_product_mention(text, entity.end) or is_described_product(text, entity.end))


def repair_named_entities(
    text: str, entities: Iterable[NamedEntity], is_known: Callable[[str], bool] = lambda _: False
) -> list[NamedEntity]:
    """Apply the span and type rules to NER output; `is_known` says whether a name is a known malware/tool/actor."""
    merged = merge_nationality(text, list(entities))
    out: list[NamedEntity] = []
    for e in merged:
        e = extend_over_preposition(text, cut_at_separator(e))
        if not e.text.strip():
            continue
        for part in split_possessive(e):
            if part.kind in ("organization", "person") and is_known(part.text):
                continue  # the hub knows it as malware, a tool or an actor: "Meterpreter" is no person
            if part.kind == "organization" and (
                is_camel_case_product(part.text) or is_product_mention(text, part.end)
            ):
                continue
            if part.kind in ("organization", "person") and (
                is_product_name(part.text) or is_headline_phrase(text, part)
            ):
                continue  # "Tor Browser" is no person either
            if part.kind == "organization" and (is_ordinary_term(part.text) or is_cut_name(part.text)):
                continue  # "Remote Desktop Protocol", "Tags", "Cyber Army of"
            if part.kind in ("organization", "person") and (is_technical_name(part.text) or is_event_name(part.text)):
                continue  # "RSA-PSS", "C2 IP", "Worldwide Developers' Conference"
            if part.kind == "organization" and (is_kind_word(part.text) or is_platform_feature(part.text)):
                continue  # "Golang", "Kubernetes", "Uyghur"-like descriptors name no organisation
            if part.kind == "organization" and is_described_product(text, part.end):
                continue  # "the Pidgin chat client"
            if part.kind == "person" and (is_unlikely_person(text, part.text) or names_a_variant(text, part.end)):
                continue
            if part.kind == "organization" and lookup_place(part.text) is not None:
                continue
            out.append(part)
    return out
