"""What the hub already knows: names and aliases of its threat actors, malware, tools and campaigns, matched fast."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from pacte.errors import InvalidInput

# Types whose names and aliases are matched, best first when two objects share an alias.
MATCHED_TYPES = ("intrusion-set", "threat-actor", "campaign", "malware", "tool", "identity", "location")
_ALIAS_KEYS = ("aliases", "x_mitre_aliases")
_WORD = re.compile(r"\w", re.UNICODE)
# Words near a single-word name that show the text speaks of a threat, in the languages the hub reads.
_CUE = re.compile(
    r"(?i:malware|ransomware|backdoor|trojan|\bRAT\b|loader|stealer|implant|botnet|worm|wiper|rootkit|"
    r"spyware|payload|dropper|downloader|beacon|\bC2\b|c&c|group|actor|\bAPT\b|campaign|"
    r"operation|threat|famil|variant|hack|attack|intrusion|exploit|infect|"
    r"logiciel|maliciel|rançongiciel|groupe|acteur|menace|campagne|attaque|"
    r"grupo|actor|amenaza|campaña|ataque|programa malicioso|"
    r"schadsoftware|gruppe|akteur|bedrohung|kampagne|angriff|"
    r"вредонос|вирус|троян|группировк|групп|хакер|атак|кампани|угроз|"
    r"برمجي|خبيث|مجموعة|قراصنة|هجوم|حملة|تهديد)"
)


# Malware nouns and delivery verbs that, right beside a family named by an ordinary word, show the word names
# the family ("the Mango backdoor", "Solar C2", "dropping Mango", "ransomware called Royal").
_FAMILY_NOUN = (
    r"malware|ransomware|backdoor|trojan|RAT|loader|stealer|infostealer|implant|botnet|worm|wiper|rootkit|bootkit|"
    r"spyware|payload|dropper|downloader|beacon|C2|C&C|family|families|variant|variants|sample|samples|"
    r"logiciel malveillant|maliciel|rançongiciel|programa malicioso|Schadsoftware|Trojaner|вредонос\w*|троян\w*|"
    r"шифровальщик\w*|برمجية خبيثة"
)
_FAMILY_AFTER = re.compile(rf"[\"'”’»)]?(?:\s+\(?[\w.\-]+\)?){{0,2}}?\s+(?i:{_FAMILY_NOUN})(?![\w])")
_STATED_AFTER = re.compile(
    rf"\s+(?:v?\d+(?:\.\d+)+\b|(?:is|was|are)\s+(?:[\w\-]+\s+){{0,6}}?(?i:{_FAMILY_NOUN})(?![\w]))"
)
_FAMILY_BEFORE = re.compile(
    rf"(?<![\w])(?i:{_FAMILY_NOUN}|drops?|dropping|deploy(?:s|ed|ing)?|load(?:s|ed|ing)|download(?:s|ed|ing)|"
    rf"install(?:s|ed|ing)|deliver(?:s|ed|ing)?|inject(?:s|ed|ing)|push(?:es|ed|ing)|called|named|dubbed)"
    rf"[,:]?(?:\s+[\w.\-]+){{0,2}}?\s+[\"'“‘«]?$"
)


_FAMILY_WORD = re.compile(rf"(?<![\w])(?i:{_FAMILY_NOUN})(?![\w])")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n\s*\n|\n[ \t]*[|*\-=#•]")


def _sentence(text: str, start: int, end: int) -> str:
    """Return the sentence, list item or table row around a span (at most 240 characters each side)."""
    lo = max(0, start - 240)
    ends = list(_SENTENCE_END.finditer(text, lo, start))
    lo = ends[-1].end() if ends else lo
    nxt = _SENTENCE_END.search(text, end, min(len(text), end + 240))
    hi = nxt.start() if nxt is not None else min(len(text), end + 240)
    return text[lo:start] + " " + text[end:hi]


def names_a_family_nearby(text: str, start: int, end: int) -> bool:
    """Tell whether a family named by an ordinary word has a malware noun or delivery verb right beside it.

    "Mango", "Solar" or "Royal" name families only where the text says so next to them ("the Mango backdoor",
    "Solar C2", "dropping Mango", "ransomware called Royal", "Joker is one of the well-known malware families",
    "Zeus 2.0.8.9") or in the same sentence, where it is written in capitals in a sentence ("SUPERNOVA"), or
    where it stands alone in a table cell, list item or heading; a threat word ("attack", "group") somewhere in
    the paragraph is not enough in a report that speaks of threats throughout.
    """
    if _FAMILY_AFTER.match(text, end) is not None or _FAMILY_BEFORE.search(text, max(0, start - 48), start):
        return True
    if _STATED_AFTER.match(text, end) is not None:
        return True  # "Joker is one of the most well-known malware families", "Zeus 2.0.8.9"
    if _FAMILY_WORD.search(_sentence(text, start, end)):
        return True  # "Oyster has been spread to support ransomware intrusions"
    surface = text[start:end]
    if surface.isupper() and len(surface) > 3:
        line = text[text.rfind("\n", 0, start) + 1 : text.find("\n", end) % (len(text) + 1)]
        if any(c.islower() for c in line):
            return True  # "SUPERNOVA" in a sentence: a name written in capitals, not a headline
    lo = max(text.rfind("\n", 0, start), text.rfind("|", 0, start)) + 1
    hi_line, hi_bar = text.find("\n", end), text.find("|", end)
    hi = min(h for h in (hi_line, hi_bar, len(text)) if h >= 0)
    return text[lo:hi].strip(" \t`*=#-.:") == text[start:end]  # alone in its cell, item or heading


_LIST_GAP = re.compile(r"\s*(?:[,;/&]|\band\b|\bor\b|,\s*(?:and|or)\b)\s*")


def listed_with_families(text: str, pending: list[EntityMatch], found: list[EntityMatch]) -> list[EntityMatch]:
    """Return the pending ordinary-word families that a list joins to families found ("Hive, Play, Royal and X").

    A list of ransomware names holds ordinary words ("Play", "Royal") beside coined ones; joined by commas or
    "and" to a family the text names for sure, the word is a family too.
    """
    families = sorted((m.start, m.end) for m in found if m.entity.stix_type in ("malware", "tool"))
    out: list[EntityMatch] = []
    changed = True
    while changed and pending:
        changed = False
        for m in list(pending):
            if any(_LIST_GAP.fullmatch(text, min(e, m.end), max(s, m.start))
                   for s, e in families if e <= m.start or m.end <= s):
                out.append(m)
                pending.remove(m)
                families.append((m.start, m.end))
                changed = True
    return out


@dataclass(frozen=True)
class KnownEntity:
    """One object the hub holds that a name in a text can refer to."""

    stix_id: str
    stix_type: str
    name: str
    identity_class: str | None = None


@dataclass(frozen=True)
class EntityMatch:
    """A mention of a known entity in a text."""

    start: int
    end: int
    surface: str
    entity: KnownEntity
    confidence: int


_COMMON_ZIPF = 3.0  # words at least this frequent (about once per 1,000,000 words) are ordinary words


@lru_cache(maxsize=65536)
def is_common_word(word: str) -> bool:
    """Tell whether a word is an ordinary word in English, French, Spanish or German (wordfreq lists)."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # without the word lists every single-word name is treated as ordinary
        return True
    low = word.lower()
    return any(zipf_frequency(low, lang, wordlist="small") >= _COMMON_ZIPF for lang in ("en", "fr", "es", "de"))


@lru_cache(maxsize=65536)
def is_dictionary_word(word: str) -> bool:
    """Tell whether a word is in the English word list at all, even a rare one ("decrypted", "obfuscated")."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        return True
    return zipf_frequency(word.lower(), "en", wordlist="best") >= 2.0


def _is_ambiguous(alias: str) -> bool:
    """Tell whether an alias is one ordinary word (Silence, Royal, STOP) that needs context to count."""
    return alias.isalpha() and " " not in alias and is_common_word(alias)


_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_AR_CLITICS = "وبلفك"
_RU_ENDING = re.compile(r"[\u0430-\u044F\u0451]{1,3}(?![\w])")


def _whole_word(text: str, start: int, end: int) -> int | None:
    """Return the end of a match that is a whole word (with a Russian case ending or an Arabic clitic), or None."""
    if start > 0 and (_WORD.match(text[start - 1]) or text[start - 1] in "-_/"):
        clitic = text[start - 1] in _AR_CLITICS and _ARABIC.match(text[start])
        if not clitic or (start > 1 and _WORD.match(text[start - 2])):
            return None
    if end < len(text) and (_WORD.match(text[end]) or text[end] == "_"):
        ending = _RU_ENDING.match(text, end) if _CYRILLIC.match(text[end - 1]) else None
        if ending is None:
            return None
        return ending.end()
    if end < len(text) and text[end] == "-" and not text[end + 1 : end + 2].isalpha():
        return None  # "APT28-1" is another name; "Sandworm-Gruppe", "Gafgyt-based" are compounds
    return end


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _list(value: object) -> list[Any]:
    """Return a property's value if it is a list, else an empty list (a member's object may hold anything)."""
    return value if isinstance(value, list) else []


class Knowledge:
    """Names and aliases of the hub's STIX objects, with an Aho-Corasick matcher over them."""

    def __init__(self) -> None:
        self._by_alias: dict[str, KnownEntity] = {}
        self._aliases: dict[str, str] = {}
        self._techniques: dict[str, str] = {}
        self._vulnerabilities: dict[str, str] = {}
        self._objects: dict[str, Mapping[str, Any]] = {}
        self._places: dict[str, KnownEntity] = {}
        self._automaton: Any = None

    @classmethod
    def from_objects(cls, objects: Iterable[Mapping[str, Any]]) -> Knowledge:
        """Build the matcher from STIX objects (intrusion sets, malware, tools, campaigns, attack patterns)."""
        kb = cls()
        rank = {t: i for i, t in enumerate(MATCHED_TYPES)}
        revoked_techniques: dict[str, str] = {}
        revoked_by: dict[str, str] = {}
        for obj in objects:
            if obj.get("type") == "relationship" and obj.get("relationship_type") == "revoked-by":
                revoked_by[str(obj.get("source_ref"))] = str(obj.get("target_ref"))
                continue
            if obj.get("revoked"):
                if obj.get("type") == "attack-pattern":
                    for ref in _list(obj.get("external_references")):
                        ext = ref.get("external_id") if isinstance(ref, Mapping) else None
                        if isinstance(ext, str):
                            revoked_techniques[ext] = str(obj.get("id"))
                continue
            stype = obj.get("type")
            sid = obj.get("id")
            if not isinstance(stype, str) or not isinstance(sid, str):
                continue
            if stype == "attack-pattern":
                # Deprecated techniques still resolve (older reports cite them), unless a current one has the id.
                for ref in _list(obj.get("external_references")):
                    ext = ref.get("external_id") if isinstance(ref, Mapping) else None
                    if (isinstance(ext, str) and re.fullmatch(r"T\d{4}(?:\.\d{3})?", ext)
                            and (ext not in kb._techniques or not obj.get("x_mitre_deprecated"))):
                        kb._techniques[ext] = sid
                        kb._objects[sid] = obj
            if obj.get("x_mitre_deprecated"):
                continue
            elif stype == "vulnerability":
                name = obj.get("name")
                if isinstance(name, str) and name.upper().startswith("CVE-"):
                    kb._vulnerabilities[name.upper()] = sid
            if stype == "location":
                kb._index_place(obj, sid)
            if stype not in rank or not isinstance(obj.get("name"), str):
                continue
            identity_class = obj.get("identity_class") if stype == "identity" else None
            entity = KnownEntity(sid, stype, str(obj["name"]),
                                 identity_class if isinstance(identity_class, str) else None)
            kb._objects[sid] = obj
            names = [entity.name]
            for key in _ALIAS_KEYS:
                names.extend(a for a in _list(obj.get(key)) if isinstance(a, str))
            for alias in names:
                alias = alias.strip()
                if len(alias) < 3 or alias.isdigit():
                    continue
                key = _lower_same_length(alias)
                current = kb._by_alias.get(key)
                if current is None or rank[stype] < rank[current.stix_type]:
                    kb._by_alias[key] = entity
                    kb._aliases[key] = alias
        # A revoked technique id (T1574.002 in ATT&CK v17+) resolves to the technique that replaced it.
        for ext, old in revoked_techniques.items():
            new = revoked_by.get(old)
            if ext not in kb._techniques and new is not None and new in kb._objects:
                kb._techniques[ext] = new
        kb._build()
        return kb

    @classmethod
    def from_bundle_file(cls, path: Path) -> Knowledge:
        """Build the matcher from a STIX bundle (or a JSON list of objects) stored in a file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"cannot read knowledge bundle {path}: {exc}") from exc
        objects = data.get("objects", []) if isinstance(data, dict) else data
        if not isinstance(objects, list):
            raise InvalidInput(f"knowledge bundle {path} has no list of objects")
        return cls.from_objects(o for o in objects if isinstance(o, dict))

    def _index_place(self, obj: Mapping[str, Any], sid: str) -> None:
        """File a location under its country code or region, so gazetteer places link to it (named or not)."""
        code = obj.get("country") or obj.get("region")
        if isinstance(code, str) and code and not any(obj.get(k) for k in ("city", "administrative_area")):
            key = code.upper() if len(code) == 2 else code.lower()
            name = obj.get("name")
            self._places.setdefault(key, KnownEntity(sid, "location", name if isinstance(name, str) else key))

    def _build(self) -> None:
        automaton = ahocorasick.Automaton()
        for key in self._by_alias:
            automaton.add_word(key, key)
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton

    def __len__(self) -> int:
        return len(self._by_alias)

    def lookup(self, name: str, stix_types: tuple[str, ...] = MATCHED_TYPES) -> KnownEntity | None:
        """Return the hub's object with this exact name or alias (any case), if it is of one of the given types."""
        entity = self._by_alias.get(_lower_same_length(name.strip()))
        return entity if entity is not None and entity.stix_type in stix_types else None

    def alias_of(self, surface: str) -> str:
        """Return the alias of the hub's objects that a matched surface stands for, as the hub writes it."""
        return self._aliases.get(_lower_same_length(surface), surface)

    def is_known_name(self, name: str) -> bool:
        """Tell whether a name is one of the hub's actors, campaigns, malware or tools (not an identity or place)."""
        return self.lookup(name, MATCHED_TYPES[:5]) is not None

    def place(self, code: str) -> KnownEntity | None:
        """Return the hub's location object for a country code (ISO 3166-1 alpha-2) or region, if it holds one."""
        return self._places.get(code.upper() if len(code) == 2 else code.lower())

    def technique_id(self, technique: str) -> str | None:
        """Return the id of the hub's attack-pattern for an ATT&CK technique id, if it holds one."""
        return self._techniques.get(technique)

    def technique_name(self, technique: str) -> str | None:
        """Return the name of the hub's attack-pattern for an ATT&CK technique id, if it holds one."""
        sid = self._techniques.get(technique)
        name = self._objects[sid].get("name") if sid else None
        return name if isinstance(name, str) else None

    def vulnerability_id(self, cve: str) -> str | None:
        """Return the id of the hub's vulnerability object named by a CVE id, if it holds one."""
        return self._vulnerabilities.get(cve.upper())

    def match(self, text: str, *, blocked: Iterable[tuple[int, int]] = ()) -> list[EntityMatch]:
        """Find mentions of known entities, whole words only, longest first, outside the blocked spans."""
        if self._automaton is None:
            return []
        low = _lower_same_length(text)
        spans = sorted(blocked)
        found: list[EntityMatch] = []
        pending: list[EntityMatch] = []
        for end_idx, key in self._automaton.iter_long(low):
            end = end_idx + 1
            start = end - len(key)
            bounded_end = _whole_word(text, start, end)
            if bounded_end is None:
                continue
            end = bounded_end
            if any(s < end and start < e for s, e in spans):
                continue
            surface = text[start:end]
            alias = self._aliases[key]
            confidence = 85
            if _is_ambiguous(alias):
                if surface != alias and not (surface.isupper() and len(surface) > 3):
                    continue
                lo, hi = max(0, start - 120), min(len(text), end + 120)
                if not _CUE.search(text, lo, hi):
                    continue
                confidence = 60
                family = self._by_alias[key].stix_type in ("malware", "tool")
                if family and not names_a_family_nearby(text, start, end):
                    pending.append(EntityMatch(start, end, surface, self._by_alias[key], confidence))
                    continue  # "Solar panels", "a Mango season" in a text about threats, unless listed below
            elif surface.islower() and not alias.islower():
                confidence = 60
            found.append(EntityMatch(start, end, surface, self._by_alias[key], confidence))
        return found + listed_with_families(text, pending, found) if pending else found
