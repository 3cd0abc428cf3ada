"""Indicators of compromise in text: extraction, refanging, and the rules that say what is not one."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from pacte.analysis import hosts
from pacte.analysis.wallets import find_wallets
from pacte.stix.defang import AT, COLON, DOT, SCHEME, SCHEME_SEP, is_defanged, refang

IOC_KINDS = (
    "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "cve", "attack_technique",
    "crypto_wallet",
)


@dataclass(frozen=True)
class Observable:
    """One indicator found in a text, refanged, with where it was."""

    kind: str
    value: str
    start: int
    end: int
    raw: str
    defanged: bool
    confidence: int
    note: str = ""


@dataclass(frozen=True)
class Rejected:
    """A candidate that a rule turned down, kept so that the choice can be reviewed and tested."""

    kind: str
    value: str
    start: int
    end: int
    rule: str


@dataclass
class Extraction:
    """What the observable extractor found: indicators, rejected candidates and reference links."""

    observables: list[Observable] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def values(self, kind: str) -> list[str]:
        """Return the distinct values of one kind, in order of first appearance."""
        seen: dict[str, None] = {}
        for o in self.observables:
            if o.kind == kind:
                seen.setdefault(o.value, None)
        return list(seen)

    def rejected_by(self, rule: str) -> list[str]:
        """Return the values that one rule rejected."""
        return [r.value for r in self.rejected if r.rule == rule]


@lru_cache(maxsize=1)
def _psl() -> tldextract.TLDExtract:
    # The public-suffix snapshot bundled with tldextract; never fetched from the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


@lru_cache(maxsize=8192)
def registrable_domain(host: str) -> str | None:
    """Return the registrable domain of a host name under the public-suffix list, or None."""
    ext = _psl()(host)
    if not ext.suffix or not ext.domain:
        return None
    return f"{ext.domain}.{ext.suffix}"


_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
# At most 32 labels: with no cap, a long run such as "ab.cd-ab.cd-..." was one chain tried from every label (quadratic).
_LABELS = rf"(?:{_LABEL}{DOT}){{1,31}}{_LABEL}"
_URL_RE = re.compile(
    rf"(?<![\w])(?P<url>{SCHEME}{SCHEME_SEP}"
    r"(?:[^\s<>\"'\[\]{}|\\^`(]|\[\s?\.\s?\]|\[dot\]|\[:\]|\(\s?\.\s?\)|\([^\s()]*\))+)",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(
    rf"(?<![\w.%+\-])(?P<local>[a-z0-9][a-z0-9._%+\-]{{0,63}}){AT}(?P<domain>{_LABELS})"
    rf"(?![\w\-]|{DOT}[a-z0-9])",
    re.IGNORECASE,
)
_DOMAIN_RE = re.compile(
    rf"(?<![\w\-@])(?P<domain>{_LABELS})(?![\w\-]|{DOT}[a-z0-9]|@)",
    re.IGNORECASE,
)
_IPV4_RE = re.compile(rf"(?<![\w.])(?P<ip>(?:\d{{1,3}}{DOT}){{3}}\d{{1,3}})(?![\w]|{DOT}\d)")
_IPV6_RE = re.compile(
    rf"(?<![\w:\[])(?P<ip>(?:[0-9a-f]{{1,4}}|){COLON}(?:(?:[0-9a-f]{{1,4}}|){COLON}){{1,6}}[0-9a-f]{{0,4}})"
    r"(?![\w:])",
    re.IGNORECASE,
)
_HASH_RE = re.compile(r"(?<![0-9a-zA-Z_\-])(?P<hash>[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})(?![0-9a-zA-Z_\-])")
_CVE_RE = re.compile(r"(?<![\w\-])CVE[\-‐‑–](?P<year>(?:19|20)\d{2})[\-‐‑–](?P<num>\d{4,7})(?!\d)", re.IGNORECASE)
# Every ATT&CK technique id is T1xxx (T9000, T5000 are malware names, not techniques).
_ATTACK_RE = re.compile(r"(?<![\w\-/.])(?P<tid>T1\d{3}(?:\.\d{3})?)(?![\w\-])")

_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}
_LONG_HEX_RE = re.compile(r"[0-9a-fA-F]{33,}")
_FILE_HASH_LABEL = r"md5|sha-?1|sha-?256|sha256sum|sha1sum|md5sum|file hash|hash(?:es)?|empreinte|huella"
_OTHER_HASH_LABEL = (
    r"imp-?hash|import hash|ssdeep|tlsh|ssh(?: host)?(?: key)?|fingerprint|jarm|ja3s?|ja4\w*|pdb|guid|uuid|"
    r"mutex|serial(?: number)?|thumbprint|certificate|cert|authentihash|rich ?(?:header )?hash|pehash|vhash|"
    r"telfhash|simhash|tx(?:id)?|transaction"
)
_HASH_LABEL_RE = re.compile(rf"\b(?:(?P<file>{_FILE_HASH_LABEL})|(?P<other>{_OTHER_HASH_LABEL}))\b", re.IGNORECASE)
_REFERENCE_HEADING = re.compile(
    r"^\s*(?:#+\s*|=+\s*|\*\*)?(?:references?|sources?|further reading|see also|links|read more|"
    r"références?|sources et références|referencias|fuentes|quellen|weiterführende links|"
    r"источники|ссылки|المراجع|المصادر)\s*:?\s*(?:\*\*)?\s*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*(?:#+\s+\S.*|[^\s\-*•a-z][^a-z]{2,80}:?|=+\s*\S.*|[^\n]{2,60}:)\s*$")
# "Real domain: x[.]org", "legitimate site": the genuine site a look-alike imitates, named beside the indicator.
_COUNTERPART_BEFORE = re.compile(
    r"(?i:\b(?:real|legitimate|genuine|official|original|authentic|impersonated|imitated|spoofed)\s+"
    r"(?:domains?|sites?|web ?sites?|urls?|hosts?|addresse?s?)\s*(?:is|was|were|are)?\s*[:=\-]?\s*)$"
)
_PARTIAL_BEFORE = re.compile(rf"[\w\-]{DOT}$", re.IGNORECASE)
_LIST_URL_LINE = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|\[\d+\])?\s*(?:[-*•]+\s*)?\S+://\S+\s*$")
_VERSION_BEFORE = re.compile(r"(?:\bversion|\bv|\bver\.?|\bbuild)\s*$", re.IGNORECASE)


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, (len(text) if end < 0 else end)


def _reference_spans(text: str) -> list[tuple[int, int]]:
    """Return the character spans of sections headed "References", "Sources" and the like."""
    spans: list[tuple[int, int]] = []
    pos = 0
    open_at: int | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if _REFERENCE_HEADING.match(stripped):
            if open_at is not None:
                spans.append((open_at, pos))
            open_at = pos
        elif open_at is not None and stripped and _HEADING.match(stripped) and "://" not in stripped:
            spans.append((open_at, pos))
            open_at = None
        pos += len(line)
    if open_at is not None:
        spans.append((open_at, pos))
    return spans


def _inside(spans: Iterable[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _hash_label(text: str, start: int) -> str | None:
    """Return "file" or "other" for the label that names a hash, looking on its line then at its list heading."""
    line_start, line_end = _line_bounds(text, start)
    before = list(_HASH_LABEL_RE.finditer(text, max(line_start, start - 80), start))
    if before:
        return "file" if before[-1].group("file") else "other"
    after = _HASH_LABEL_RE.search(text, start, min(line_end, start + 90))
    if after and after.group("other") and text[after.start() - 1 : after.start()] == "(":
        return "other"
    # A bare list item: the heading above the list names what the items are.
    pos = line_start
    for _ in range(40):
        if pos <= 0:
            break
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        prev = text[prev_start : pos - 1].strip()
        pos = prev_start
        if not prev or prev[:1] in "-*•" or _HASH_RE.fullmatch(prev):
            continue
        m = _HASH_LABEL_RE.search(prev)
        if m is None:
            return None
        return "file" if m.group("file") else "other"
    return None


class _Finder:
    """One pass over one text: candidates in a fixed order, each kind blind to spans already taken."""

    def __init__(self, text: str, publisher_domains: Iterable[str]) -> None:
        self.text = text
        self.publishers = {d.lower().removeprefix("www.") for d in publisher_domains if d}
        self.out = Extraction()
        self.taken: list[tuple[int, int]] = []
        self.mask = bytearray(len(text) + 1)  # 1 where a taken span covers the character
        self.references = _reference_spans(text)
        self.report_defangs = False

    def keep(self, kind: str, value: str, start: int, end: int, confidence: int, note: str = "") -> None:
        """Record an indicator and take its span."""
        raw = self.text[start:end]
        self.out.observables.append(
            Observable(kind, value, start, end, raw, is_defanged(raw), confidence, note)
        )
        self.take(start, end)

    def take(self, start: int, end: int) -> None:
        """Take a span: later candidates that overlap it are skipped."""
        self.taken.append((start, end))
        self.mask[start:end] = b"\x01" * (end - start)

    def reject(self, kind: str, value: str, start: int, end: int, rule: str, take: bool = True) -> None:
        """Record a candidate that a rule turned down (taking its span unless told not to)."""
        self.out.rejected.append(Rejected(kind, value, start, end, rule))
        if take:
            self.take(start, end)

    def overlaps(self, start: int, end: int) -> bool:
        """Tell whether a span overlaps one already taken (one C-speed scan of the span's characters)."""
        if end <= start:
            return any(s < end and start < e for s, e in self.taken)
        return self.mask.find(1, start, end) >= 0

    def is_reference_host(self, host: str, raw: str) -> str | None:
        """Return the rule that makes a plain (not defanged) host a reference rather than an indicator."""
        bare = host.lower().removeprefix("www.")
        reg = registrable_domain(bare) or bare
        if bare in self.publishers or reg in self.publishers:
            return "publisher-link"
        if hosts.is_documentation_host(bare):
            return "documentation-domain"
        if is_defanged(raw):
            return None
        if self.report_defangs:
            return "plain-in-defanged-report"
        if hosts.is_reference_host(bare):
            return "reference-host"
        return None

    def run(self) -> Extraction:
        """Run every extractor in order and return what they found."""
        text = self.text
        self.report_defangs = any(
            is_defanged(m.group(0)) for rx in (_URL_RE, _DOMAIN_RE, _IPV4_RE) for m in rx.finditer(text)
        )
        self.urls()
        self.reference_siblings()
        self.emails()
        self.wallets()
        self.ipv6()
        self.ipv4()
        self.domains()
        self.hashes()
        self.cves()
        self.techniques()
        self.out.observables.sort(key=lambda o: o.start)
        return self.out

    def urls(self) -> None:
        """Find URLs (scheme-led, plain or defanged) and sort indicators from references."""
        for m in _URL_RE.finditer(self.text):
            raw = m.group("url")
            start = m.start("url")
            while raw and raw[-1] in ".,;:!?'\"”’>»":
                raw = raw[:-1]
            if raw.endswith(")") and raw.count("(") < raw.count(")"):
                raw = raw[:-1]
            end = start + len(raw)
            value = refang(raw)
            try:
                parts = urlsplit(value)
                host = parts.hostname or ""
            except ValueError:
                self.reject("url", value, start, end, "unparsable-url")
                continue
            scheme = parts.scheme.lower()
            value = f"{scheme}:{value[len(parts.scheme) + 1 :]}".replace(parts.netloc, parts.netloc.lower(), 1)
            if not _valid_host(host):
                self.reject("url", value, start, end, "invalid-host")
                continue
            if _non_public_ip(host):
                self.reject("url", value, start, end, "non-public-address")
                continue
            if _reference := (
                "reference-section" if _inside(self.references, start, end) and not is_defanged(raw) else None
            ) or self.is_reference_host(host, raw):
                self.reject("url", value, start, end, _reference)
                self.out.references.append(value)
                continue
            self.keep("url", value, start, end, 90 if is_defanged(raw) else 60)

    def reference_siblings(self) -> None:
        """Turn a plain URL listed among reference links into a reference ("-- https://vendor/blog/post").

        A run of list lines that each hold one plain link, at least one of them to a known source site, is a
        list of sources; its links to sites the lists do not know are sources too, not infrastructure.
        """
        text = self.text
        ref_lines = {_line_bounds(text, r.start)[0] for r in self.out.rejected
                     if r.kind == "url" and r.rule in ("reference-host", "reference-section", "publisher-link")}
        if not ref_lines:
            return
        kept: list[Observable] = []
        for o in self.out.observables:
            if o.kind == "url" and not o.defanged and self._in_reference_list(o, ref_lines):
                self.out.rejected.append(Rejected("url", o.value, o.start, o.end, "reference-list"))
                self.out.references.append(o.value)
                continue
            kept.append(o)
        self.out.observables = kept

    def _in_reference_list(self, o: Observable, ref_lines: set[int]) -> bool:
        """Tell whether a URL's line is a bare link in a run of bare-link lines that holds a reference link."""
        text = self.text
        start, end = _line_bounds(text, o.start)
        if not _LIST_URL_LINE.match(text[start:end]):
            return False
        for step in (-1, 1):  # walk the run of bare-link lines up, then down
            s, e = start, end
            while (s > 0) if step < 0 else (e < len(text)):
                s, e = _line_bounds(text, s - 1) if step < 0 else _line_bounds(text, e + 1)
                if not _LIST_URL_LINE.match(text[s:e]):
                    break
                if s in ref_lines:
                    return True
        return False

    def emails(self) -> None:
        """Find e-mail addresses whose domain is under a public suffix."""
        for m in _EMAIL_RE.finditer(self.text):
            if self.overlaps(m.start(), m.end()):
                continue
            local, domain = refang(m.group(0)).rsplit("@", 1)
            domain = domain.lower()
            value = f"{local}@{domain}"  # the local part may be case-sensitive (RFC 5321); the domain is not
            if registrable_domain(domain) is None:
                self.reject("email", value, m.start(), m.end(), "invalid-domain", take=False)
                continue
            if hosts.is_documentation_host(domain):
                self.reject("email", value, m.start(), m.end(), "documentation-domain")
                continue
            if domain in self.publishers or (registrable_domain(domain) or "") in self.publishers:
                self.reject("email", value, m.start(), m.end(), "publisher-link")
                continue
            self.keep("email", value, m.start(), m.end(), 85 if is_defanged(m.group(0)) else 70)

    def wallets(self) -> None:
        """Find cryptocurrency wallet addresses."""
        for w in find_wallets(self.text):
            if self.overlaps(w.start, w.end):
                continue
            self.keep("crypto_wallet", w.address, w.start, w.end, 90 if w.checksum_ok else 60, w.currency)

    def ipv6(self) -> None:
        """Find public IPv6 addresses."""
        for m in _IPV6_RE.finditer(self.text):
            if self.overlaps(m.start(), m.end()):
                continue
            raw = m.group("ip")
            if raw.count(":") + raw.count("[:]") < 2 or ("::" not in refang(raw) and refang(raw).count(":") < 7):
                continue
            try:
                addr = ipaddress.IPv6Address(refang(raw))
            except ValueError:
                continue
            if not addr.is_global or addr.is_multicast:
                self.reject("ipv6", str(addr), m.start(), m.end(), "non-public-address")
                continue
            self.keep("ipv6", addr.compressed, m.start(), m.end(), 90)

    def ipv4(self) -> None:
        """Find public IPv4 addresses in dotted-quad form."""
        for m in _IPV4_RE.finditer(self.text):
            if self.overlaps(m.start(), m.end()):
                continue
            value = refang(m.group("ip"))
            octets = value.split(".")
            if any(len(o) > 1 and o.startswith("0") for o in octets):
                self.reject("ipv4", value, m.start(), m.end(), "obfuscated-address")
                continue
            try:
                addr = ipaddress.IPv4Address(value)
            except ValueError:
                continue
            if _VERSION_BEFORE.search(self.text, max(0, m.start() - 12), m.start()):
                self.reject("ipv4", value, m.start(), m.end(), "version-number")
                continue
            if not addr.is_global or addr.is_multicast:
                self.reject("ipv4", value, m.start(), m.end(), "non-public-address")
                continue
            self.keep("ipv4", value, m.start(), m.end(), 90 if is_defanged(m.group(0)) else 75)

    def domains(self) -> None:
        """Find domain names under a public suffix that no exclusion rule turns down."""
        text = self.text
        for m in _DOMAIN_RE.finditer(text):
            start, end = m.start("domain"), m.end("domain")
            if self.overlaps(start, end):
                continue
            raw = m.group("domain")
            value = refang(raw).lower()
            if registrable_domain(value) is None:
                continue
            defanged = is_defanged(raw)
            rule = _domain_rule(text, start, raw, value, defanged)
            listed = rule in (None, "capitalised-product-name") and is_listed_indicator(text, start, end)
            if listed:
                rule = None  # "* `Infoafrica.top`" among the listed hosts: an indicator, whatever its case
            if rule is None and not defanged and text[end : end + 1] == "(":
                rule = "code-expression"  # req.open(...), hashArray.map(...): a method call, not a host
            if rule is None and _PARTIAL_BEFORE.search(text, max(0, start - 8), start):
                rule = "partial-host"  # "qq.com" of "dl_dir.qq.com": the tail of a longer name
            # The phrase is short: searching back to the line start made one long line quadratic.
            if rule is None and _COUNTERPART_BEFORE.search(text, max(_line_bounds(text, start)[0], start - 120),
                                                           start):
                rule = "legitimate-counterpart"  # "Real domain: x[.]org" beside the look-alike
            if rule is None and not listed:
                rule = self.is_reference_host(value, raw)
                if rule is not None:
                    self.out.references.append(value)
            if rule is not None:
                self.reject("domain", value, start, end, rule)
                continue
            self.keep("domain", value, start, end, 90 if defanged else 60)

    def hashes(self) -> None:
        """Find MD5, SHA-1 and SHA-256 file hashes."""
        text = self.text
        longer_hex = [h.lower() for h in _LONG_HEX_RE.findall(text)]
        for m in _HASH_RE.finditer(text):
            start, end = m.start("hash"), m.end("hash")
            value = m.group("hash").lower()
            kind = _HASH_KINDS[len(value)]
            if self.overlaps(start, end):
                self.reject(kind, value, start, end, "inside-other-indicator", take=False)
                continue
            if text[max(0, start - 2) : start].lower() == "0x":
                self.reject(kind, value, start, end, "hex-literal-or-wallet")
                continue
            if value.isdigit() or not any(c.isdigit() for c in value):
                self.reject(kind, value, start, end, "not-hash-like")
                continue
            if any(len(h) > len(value) and h.startswith(value) for h in longer_hex):
                self.reject(kind, value, start, end, "truncated-copy")  # a cut copy of a longer value
                continue
            label = _hash_label(text, start)
            if label == "other":
                self.reject(kind, value, start, end, "non-file-hash")
                continue
            line_start, line_end = _line_bounds(text, start)
            legit = re.search(r"\blegitimate|\blégitime|\blegítim|\blegitim", text[line_start:line_end], re.I)
            self.keep(kind, value, start, end, 50 if legit else 90)

    def cves(self) -> None:
        """Find CVE identifiers."""
        for m in _CVE_RE.finditer(self.text):
            if self.overlaps(m.start(), m.end()):
                continue
            self.keep("cve", f"CVE-{m.group('year')}-{m.group('num')}", m.start(), m.end(), 95)

    def techniques(self) -> None:
        """Find ATT&CK technique identifiers."""
        for m in _ATTACK_RE.finditer(self.text):
            if self.overlaps(m.start(), m.end()):
                continue
            self.keep("attack_technique", m.group("tid"), m.start(), m.end(), 85)


def _valid_host(host: str) -> bool:
    """Tell whether a URL host is a public-suffix domain or an IP address."""
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", host):
        return False
    return registrable_domain(host) is not None


def _non_public_ip(host: str) -> bool:
    """Tell whether a URL host is an IP address outside the public unicast ranges."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not addr.is_global or addr.is_multicast


_LIST_HOST = re.compile(r"[ \t]*[*\-\u2022][ \t]+[`+]*[\w\-]+(?:(?:\.|\[\.\]|\(\.\))[\w\-]+)+[`+]*[ \t]*")


def is_listed_indicator(text: str, start: int, end: int) -> bool:
    """Tell whether a host stands alone in a list item next to other list items that are hosts or addresses.

    Indicator pages list their hosts one per bullet; a host there written plainly among defanged ones
    ("365downloading.com") or capitalised ("Infoafrica.top") is one of them, not a reference or a product name.
    """
    line_start, line_end = _line_bounds(text, start)
    if not _LIST_HOST.fullmatch(text, line_start, line_end):
        return False
    before = text.rfind("\n", 0, max(0, line_start - 1)) + 1
    after_end = text.find("\n", line_end + 1)
    neighbours = ((before, line_start - 1), (line_end + 1, len(text) if after_end < 0 else after_end))
    return any(lo < hi and _LIST_HOST.fullmatch(text, lo, hi) for lo, hi in neighbours)


def _domain_rule(text: str, start: int, raw: str, value: str, defanged: bool) -> str | None:
    """Return the rule that says a domain-looking string is not a domain, or None if it is one."""
    before = text[max(0, start - 40) : start]
    labels = value.split(".")
    if hosts.is_detection_name(labels, before):
        return "detection-name"
    if before.endswith(("\\", "/", "%")) and not defanged:
        return "file-path"
    if not defanged and hosts.looks_like_file_name(labels, before):
        return "file-name"
    if hosts.is_documentation_host(value):
        return "documentation-domain"
    if labels[0] in hosts.REVERSE_DNS_HEADS and len(labels) >= 2:
        return "reverse-dns-identifier"
    if not defanged and hosts.is_dos_command(labels):
        return "file-name"
    if not defanged and raw != raw.lower():
        return "capitalised-product-name"  # Amazon.com, ASP.NET, VB.NET: names, not indicators
    return None


def extract_observables(text: str, *, publisher_domains: Iterable[str] = ()) -> Extraction:
    """Find the indicators in a text, refanged, and the candidates that the exclusion rules turned down."""
    return _Finder(text, publisher_domains).run()
