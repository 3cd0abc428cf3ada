"""New malware and tool families: coined names that a report states to be malicious software.

Knowledge matching finds the families the hub already holds; vendors name new ones in every report
("GoldenDealer", "BingoShell", "YK0130"). These rules take a coined name (CamelCase or letters with digits, not
an ordinary word, a listed organisation, a place or a well-known product) only where the text says what it is:
in the description column of an indicator table, or in a sentence that calls it a backdoor, a loader, a tool.
Their confidence is below that of knowledge matches: a reviewer confirms a new family.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pacte.analysis.knowledge import is_common_word, is_dictionary_word
from pacte.analysis.malrules import is_unlikely_statement, needs_second_cue, says_legitimate
from pacte.analysis.organizations import is_listed_organization
from pacte.analysis.places import lookup_place
from pacte.analysis.scan import positions

TABLE_CONFIDENCE = 45
STATED_CONFIDENCE = 45

# Protocol, cipher, hash, encoding and platform tokens: technical terms that look like coined names.
TECHNICAL_TOKEN = re.compile(
    r"(?i:(?:E?SMTP|LMTP|IMAP|POP3|HTTP|FTP|SSH|TLS|SSL|DNS|DoH|RDP|SMB|LDAP|NTLM|TCP|UDP|ICMP|QUIC)S?A?(?:v?\d+(?:\.\d+)?)?|"
    r"(?:RSA|DSA|ECDSA|EdDSA|ECDH|DH)(?:-\w+)?|(?:AES|DES|3DES|RC[2456]|SHA|MD[245]|HMAC|CRC|Blake)[\-\d]*|"
    r"X25519|X448|Ed25519|ChaCha\d*|Salsa\d*|Base(?:16|32|58|64|85)|Win(?:16|32|64)|x(?:86|64)|x86-64|ARM\d*|"
    r"AArch64|IPv[46]|UTF-?(?:8|16|32)|ASCII|Unicode|PKCS\d*|PSS|OAEP|CBC|GCM|ECB|CTR|XOR|ROT13|JSON|XML|"
    r"YAML|HTML\d?|CSS\d?|PE|PE32\+?|PE64|ELF\d*|COFF|MSIL|UPX|C2|C&C|IP|URL|URI|API|SDK|DLL|EXE|CPU|GPU)"
)
_TECHNICAL_FULL = re.compile(rf"(?:{TECHNICAL_TOKEN.pattern})(?:[\-/ ](?:{TECHNICAL_TOKEN.pattern}))*")

# Words that say what kind of malware it is, not which: origins, languages and platforms ("a Golang backdoor",
# "the Russian malware", "a Discord stealer").
DESCRIPTORS = frozenset([
    "Russian", "Chinese", "Iranian", "Korean", "Ukrainian", "American", "Israeli", "Turkish", "Vietnamese",
    "Pakistani", "Indian", "Belarusian", "Syrian", "Lebanese", "Palestinian", "Emirati", "Saudi", "German", "French",
    "British", "Brazilian", "Spanish", "Italian", "Polish", "Japanese", "Taiwanese", "Nigerian", "Mexican", "Latin",
    "European", "Asian", "African", "Arabic", "Persian", "Western", "Eastern", "Soviet", "Hebrew", "Russia",
    "Golang", "Rust", "Delphi", "Bash", "Lua", "Nim", "Perl", "Ruby", "Kotlin", "Swift", "Haskell", "Erlang", "Zig",
    "Node", "NodeJS", "Electron", "Dart", "Flutter", "Pascal", "Assembly", "Batch", "Shell", "Visual", "Basic",
    "Discord", "Telegram", "Teams", "Slack", "Zoom", "WhatsApp", "Signal", "Steam", "Minecraft", "Roblox", "Outlook",
    "Edge", "Safari", "Opera", "Brave", "Mac", "MacOS", "macOS", "Unix", "Solaris", "FreeBSD", "ESXi", "VMware",
    "Docker", "Kubernetes", "Cloud", "Web", "Browser", "Crypto", "Bitcoin", "Ethereum", "Wallet", "Router", "IoT",
    "Server", "Desktop", "Enterprise", "Corporate", "Government", "Financial", "Banking", "Mirai-based",
    "Austrian", "Swiss", "Dutch", "Belgian", "Swedish", "Finnish", "Norwegian", "Danish", "Czech", "Slovak",
    "Hungarian", "Romanian", "Bulgarian", "Serbian", "Croatian", "Greek", "Georgian", "Armenian", "Azerbaijani",
    "Kazakh", "Uzbek", "Afghan", "Iraqi", "Jordanian", "Egyptian", "Libyan", "Tunisian", "Algerian", "Moroccan",
    "Qatari", "Kuwaiti", "Yemeni", "Omani", "Thai", "Malaysian", "Indonesian", "Filipino", "Singaporean",
    "Australian", "Canadian", "Colombian", "Venezuelan", "Argentine", "Chilean", "Peruvian", "Cuban",
    "JScript", "VBScript", "VBA", "AutoIt", "AutoHotkey", "TypeScript", "CoffeeScript", "Groovy", "Scala",
])
# Legitimate software and platforms written as coined names that reports cite beside malware (the packer, the
# service abused, the product imitated). General knowledge, not taken from any labelled text.
WELL_KNOWN_PRODUCTS = frozenset(w.lower() for w in (
    "PyInstaller", "PyArmor", "Nuitka", "PowerShell", "JavaScript", "TypeScript", "CoffeeScript", "VBScript",
    "JScript", "AutoIt", "AutoHotkey", "NodeJS", "GitHub", "GitLab", "BitBucket", "OneDrive", "SharePoint",
    "OneNote", "PowerPoint", "WordPress", "YouTube", "LinkedIn", "WhatsApp", "WeChat", "TikTok", "iCloud",
    "iPhone", "iPad", "iOS", "macOS", "MacOS", "PayPal", "MetaMask", "TeamViewer", "AnyDesk", "ScreenConnect",
    "ConnectWise", "WinRAR", "WinZip", "FileZilla", "PuTTY", "WinSCP", "OpenSSL", "OpenSSH", "OpenVPN",
    "WireGuard", "VMware", "VirtualBox", "MySQL", "PostgreSQL", "MongoDB", "SQLite", "NetScaler", "FortiGate",
    "FortiOS", "FortiClient", "GlobalProtect", "PanOS", "VirusTotal", "DropBox", "GoogleDrive", "MediaFire",
    "PixelDrain", "GoFile", "AnonFiles", "PasteBin", "BitTorrent", "uTorrent", "DirectX", "DotNet", "WebView",
    "WebSocket", "WebDAV", "ActiveX", "ActiveDirectory", "AzureAD", "EntraID", "CloudFlare", "DigitalOcean",
    "NameCheap", "GoDaddy", "HuggingFace", "ChatGPT", "OpenAI", "DeepSeek", "JetBrains", "IntelliJ", "VSCode",
    "NotePad", "WinDbg", "IdaPro", "YARA", "CyberChef", "WinAPI", "WinHTTP", "WinINet", "NtDll", "LibreOffice",
    "OpenOffice", "ThunderBird", "RoundCube", "SquirrelMail", "MailEnable", "CPanel", "PhpMyAdmin", "ProtonMail",
    "ProtonVPN", "NordVPN", "ExpressVPN", "TrueCrypt", "VeraCrypt", "BitLocker", "KeePass", "LastPass",
    "BitWarden", "PowerToys", "SysInternals", "ProcDump", "ProcMon", "PsExec", "BloodHound", "SharpHound",
))
_CAMEL = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z]+[a-z0-9]+)+[A-Z]?")  # GoldenDealer, BingoShell, GoldenUsbGo
_ALNUM = re.compile(r"[A-Z][A-Za-z]{1,7}\d{2,6}[A-Za-z]{0,3}")  # YK0130, NSPX30
_ACRONYM_WORD = re.compile(r"(?P<prefix>[A-Z]{2,4})[A-Z][a-z]{2,}(?:[A-Z][a-z0-9]+)*")  # XDDown, ODAgent, PNGLoader
_CAPITALS = re.compile(r"[A-Z]{6,}")  # TONESHELL, PUBLOAD: some vendors write family names in capitals
_COINED = re.compile(
    rf"(?<![\w\-./\\])(?:{_CAMEL.pattern}|{_ALNUM.pattern}|{_ACRONYM_WORD.pattern.replace('?P<prefix>', '')}|"
    rf"{_CAPITALS.pattern})(?![\w\-/\\]|\.\w)"
)
# Nouns that say a name is a piece of malicious software (after the name in a cell or phrase, or as its class).
MALWARE_NOUNS = (
    r"backdoor|loader|stealer|infostealer|RAT|implant|dropper|downloader|wiper|botnet|ransomware|trojan|"
    r"rootkit|bootkit|worm|keylogger|exfiltrator|spyware|web ?shell|reverse shell|shell|payload|beacon|agent|"
    r"toolkit|toolset|tool|framework|malware|module|plugin|injector|launcher|miner|proxy|tunneler|scanner"
)
# Words that after a name say it qualifies another one ("WavyExfiller PixelDrain variant").
QUALIFIER_AFTER = re.compile(r"\s+(?:variant|version|type|sample|build|edition|component)\b", re.I)


@dataclass(frozen=True)
class FamilyMention:
    """A coined family name the text states to be malicious software."""

    name: str
    start: int
    end: int
    confidence: int
    rule: str


def is_technical_token(name: str) -> bool:
    """Tell whether a name is a protocol, cipher, hash, encoding or platform token ("RSA-PSS", "ESMTPS", "C2 IP").

    Mail headers, TLS parameters and network notes are full of capitalised technical terms that models and
    patterns take for names; they name no organisation and no malware.
    """
    return _TECHNICAL_FULL.fullmatch(name.strip()) is not None


def is_capitals_name(name: str) -> bool:
    """Tell whether a word in capitals is a coined name (PUBLOAD), not a word or an initialism in capitals."""
    return (_CAPITALS.fullmatch(name) is not None and not is_dictionary_word(name) and not is_kind_word(name)
            and not is_technical_token(name) and not is_listed_organization(name) and lookup_place(name) is None)


def is_kind_word(name: str) -> bool:
    """Tell whether a name is a word that says what kind of thing it is: an origin, language, platform, product.

    "Golang", "Russian", "Discord", "PyInstaller": they qualify malware and name no organisation or person.
    """
    return name in DESCRIPTORS or name.lower() in WELL_KNOWN_PRODUCTS


def is_coined_name(name: str) -> bool:
    """Tell whether a token is a coined name: CamelCase or letters with digits, not a word, product or place.

    New families are named by joining words ("GoldenDealer"), by letters and a number ("YK0130") or by an
    initialism and a word ("XDDown", not "HTTPServer"); ordinary words, technical tokens, well-known products,
    listed organisations and places are not.
    """
    acronym = _ACRONYM_WORD.fullmatch(name)
    if acronym is not None and is_technical_token(acronym.group("prefix")):
        return False  # "HTTPServer", "DNSQuery": a protocol's part, not a family
    if not (_CAMEL.fullmatch(name) or _ALNUM.fullmatch(name) or acronym):
        return False
    if name.lower() in WELL_KNOWN_PRODUCTS or is_technical_token(name) or is_common_word(name):
        return False
    return not is_listed_organization(name) and lookup_place(name) is None


_HASH_HEADER = re.compile(r"(?i)\b(?:sha-?1|sha-?256|md5|hash(?:es)?|sha256 hash|sha-1 hash)\b")
_NAME_HEADER = re.compile(r"(?i)^\s*(?:description|malware|family|name|malware family|comment|details?)\s*$")
_TABLE_LINE = re.compile(r"^[ \t]*\|", re.M)
_CELL = re.compile(r"\|(?P<cell>[^|]*)")
_CELL_TAIL = re.compile(
    rf"\s*(?:[.;,]|\s-+\s.*|\s+(?:{MALWARE_NOUNS}|reverse tunnel|tunnel)\b.*|\s+\S+\s+(?:variant|version|type|sample|build)\b.*)?\s*$",
    re.I | re.S,
)


# What may come before a family's name in its cell: nothing, or one or two words naming a packer or language
# ("PyInstaller DropFlop.", "Python GoldRush"), never a preposition or a word that makes it a legitimate product.
_CELL_HEAD = re.compile(
    r"\s*(?:(?!(?i:by|from|of|for|with|to|in|on|at|via|and|or|signed|used|trojani[sz]ed|fake|legitimate|modified|"
    r"patched|cracked|clean|benign|original|copy|abused|vulnerable|unsigned|config|configuration)\b)"
    r"[A-Z][\w\-]*\s+){0,2}"
)


def _table_blocks(text: str) -> list[tuple[int, int, int, int]]:
    """Return (body start, body end, column count, description column) for indicator tables with a name column."""
    out: list[tuple[int, int, int, int]] = []
    if "|" not in text:
        return out  # no bar, no table (the common case, decided at C speed)
    pos = 0
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        pos += len(line)
        i += 1
        if not _TABLE_LINE.match(line) or not _HASH_HEADER.search(line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        col = next((k for k, c in enumerate(cells) if _NAME_HEADER.match(c)), None)
        if col is None or len(cells) < 2 or not any(_HASH_HEADER.search(c) for c in cells[:col]):
            continue
        body_start = pos
        while i < len(lines) and lines[i].strip() and not re.match(r"^\s*\|={3,}", lines[i]):
            pos += len(lines[i])
            i += 1
        out.append((body_start, pos, len(cells), col))
    return out


_DASH_BEFORE = re.compile(r"\S.*\s[-\u2013\u2014]\s+$", re.S)


def is_dash_named(head: str, tail: str) -> bool:
    """Tell whether a cell names its sample's family last, after a dash ("Group downloader - DuskHarp").

    Vendors describe a sample, then give its family after a dash; the name ends the cell (a version may follow)
    and the description before it calls nothing legitimate ("Fake installer - X" names the imitated product).
    """
    return (_DASH_BEFORE.fullmatch(head) is not None and not says_legitimate(head)
            and re.fullmatch(r"\s*(?:v?\d+(?:\.\d+)*)?\s*[.;]?\s*", tail) is not None)


def find_table_families(text: str) -> list[FamilyMention]:
    """Find coined names in the description column of indicator tables ("| <sha-1> | x.exe | ... | GoldenDealer").

    ESET and other vendors list each sample with the family it belongs to; a cell that is a coined name, alone
    or followed by a malware noun ("YK0130 reverse shell.", "BingoShell."), names a family.
    """
    out: list[FamilyMention] = []
    for body_start, body_end, ncols, col in _table_blocks(text):
        body = text[body_start:body_end]
        cells = [m for m in _CELL.finditer(body) if not re.fullmatch(r"\s*:?-{3,}:?\s*", m.group("cell"))]
        markdown = all(ln.rstrip().endswith("|") for ln in body.splitlines() if ln.strip())
        rows: list[list[re.Match[str]]] = []
        if markdown:  # "| a | b |": one row per line, the last pipe closes it
            for ln_match in re.finditer(r"[^\n]+", body):
                row = [m for m in cells if ln_match.start() <= m.start() < ln_match.end()]
                rows.append([m for m in row if m.group("cell").strip() or m.end() < ln_match.end()])
        else:  # AsciiDoc: a row is `ncols` cells, which may span lines
            rows = [cells[k : k + ncols] for k in range(0, len(cells), ncols)]
        for row in rows:
            if len(row) <= col:
                continue
            cell = row[col]
            value = cell.group("cell")
            offset = body_start + cell.start("cell")
            for m in _COINED.finditer(value):
                name = m.group(0)
                qualifies_another = QUALIFIER_AFTER.match(value, m.end()) and value[: m.start()].strip()
                if qualifies_another or not (is_coined_name(name) or is_capitals_name(name)):
                    continue  # "WavyExfiller PixelDrain variant": PixelDrain only qualifies the variant
                if not _CELL_TAIL.match(value, m.end()) and not QUALIFIER_AFTER.match(value, m.end()):
                    continue  # the name is not the cell's subject ("GoldenDealer config for X")
                head = value[: m.start()]
                if not _CELL_HEAD.fullmatch(head) and not is_dash_named(head, value[m.end() :]):
                    continue  # "Signed by X", "Trojanized X", "Loader for X": X is no family of this sample
                out.append(FamilyMention(name, offset + m.start(), offset + m.end(), TABLE_CONFIDENCE, "table"))
    return out


# "BingoShell is a backdoor", "OneDoor, a new backdoor that", "a backdoor (called|named|dubbed) DropFlop".
_ADJECTIVES = (r"(?:(?!(?:that|which|who|with|using|uses?|used|of|for|by|in|on|to|and|or|a|an|the|group|actor|"
               r"threat|team|company|vendor)\b)[\w\-+#.]+\s+){0,3}?")
_NOUNS = rf"(?i:{MALWARE_NOUNS})(?![\w\-])"
_SHAPE = r"[A-Z](?:[a-z0-9]+[A-Z][A-Za-z0-9]*|[A-Za-z]{1,7}\d{2,6}[A-Za-z]{0,3}|[A-Z]{1,3}[A-Z][a-z]{2,}[A-Za-z0-9]*)"
# Statements are found from their verb or comma (str.find, at C speed), then read on both sides.
_ANCHORS = (", a", " is ", " was ", " as ", "\nis ", "\nwas ")
_STATED_TAIL = re.compile(
    rf"(?i:,\s+(?:a|an)|\s+(?:is|was|as)\s+(?:a|an|the|our|its|their))\s+{_ADJECTIVES}{_NOUNS}"
)
_NAME_BEFORE = re.compile(rf"(?<![\w\-])(?P<a>{_SHAPE})(?:\s+\((?:[^()\n]{{1,40}})\))?$")
# "a backdoor (that we) named X": the naming word first, then the noun before it.
_NAMING_WORDS = ("called ", "named ", "dubbed ", "tracked as ", "known as ")
_NAMED = re.compile(rf"(?P<b>{_SHAPE})(?![\w\-])")
_NOUN_BEFORE = re.compile(rf"(?<![\w\-]){_NOUNS}\s+(?i:(?:that\s+)?(?:we|ESET|researchers?)\s+)?$")


def find_stated_families(text: str) -> list[FamilyMention]:
    """Find coined names that a sentence says are malicious software ("X is a downloader", "a backdoor named X").

    Reports introduce each new family once with what it is; a coined name in that position is a family even
    when no hub knows it yet.
    """
    low = text.lower()
    spans: dict[int, tuple[str, int]] = {}
    for anchor in _ANCHORS:
        for pos in positions(low, anchor):
            tail = _STATED_TAIL.match(text, pos)
            if tail is None or is_unlikely_statement(tail.group(0), text[tail.end() : tail.end() + 40]):
                continue  # "X is a legitimate tool", "X, a malware research group", "X is a plugin of Y"
            m = _NAME_BEFORE.search(text, max(0, pos - 80), pos)
            if m is not None and not needs_second_cue(tail.group(0), m.group("a"), text,
                                                      text[tail.end() : tail.end() + 40]):
                spans[m.start("a")] = (m.group("a"), m.end("a"))
    for word in _NAMING_WORDS:
        for pos in positions(low, word):
            m = _NAMED.match(text, pos + len(word))
            if m is None or (pos > 0 and low[pos - 1].isalnum()):
                continue
            noun = _NOUN_BEFORE.search(text, max(0, pos - 40), pos)
            phrase = text[max(0, pos - 40) : noun.start() + len(noun.group(0).split()[0])] if noun else ""
            if noun is not None and not is_unlikely_statement(phrase, text[m.end() : m.end() + 40]) and \
                    not needs_second_cue(phrase, m.group("b"), text):
                spans[m.start("b")] = (m.group("b"), m.end("b"))
    return [FamilyMention(name, start, end, STATED_CONFIDENCE, "stated")
            for start, (name, end) in sorted(spans.items()) if is_coined_name(name)]


_HEADING = re.compile(r"(?:={2,6}|#{2,6})[ \t]*(?P<name>[^\n]{3,60}?)[ \t]*#*$", re.M)
_HEADING_NAME = re.compile(rf"(?P<name>\w+)(?:[ \t]+(?i:{MALWARE_NOUNS}|tunnel))?")
_HASH_LINE = re.compile(r"^[ \t*|`\-]*(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\b", re.M)
_DELIMITER = re.compile(r"[ \t]*(?:-{4,}|\.{4,}|`{3}\w*|\[[^\]\n]*\]|\|={3,}|)[ \t]*")


def _is_plain_name(name: str) -> bool:
    """Tell whether a capitalised word is no English word, kind word, listed organisation or place."""
    return (name[:1].isupper() and name.isalpha() and len(name) >= 4 and not is_dictionary_word(name)
            and not is_kind_word(name) and not is_listed_organization(name) and lookup_place(name) is None)


def find_heading_families(text: str) -> list[FamilyMention]:
    """Find coined names that head a list of samples ("==== DuskHarp" over SHA-1 lines) or of its detections.

    ESET's indicator pages group the samples of each family under a heading that is the family's name; a coined
    name heading a block of hashes, or a name (coined, or a capitalised word no dictionary holds) that the
    section's detection names repeat ("MSIL/DuskHarp.A"), is a family.
    """
    out: list[FamilyMention] = []
    starts = sorted({p + 1 for mark in ("\n==", "\n##") for p in positions(text, mark)})
    if not starts:
        return out  # no heading (the common case outside indicator pages), decided at C speed
    heads = [h for h in (_HEADING.match(text, p) for p in starts) if h is not None]
    levels = [len(h.group(0)) - len(h.group(0).lstrip("=#")) for h in heads]
    for k, h in enumerate(heads):
        hm = _HEADING_NAME.fullmatch(h.group("name"))
        if hm is None:
            continue
        name = hm.group("name")
        coined = is_coined_name(name) or is_capitals_name(name)
        if not (coined or _is_plain_name(name)):
            continue
        section_end = next((heads[j].start() for j in range(k + 1, len(heads)) if levels[j] <= levels[k]), len(text))
        first = text[h.end() : section_end].lstrip("\n").split("\n", 3)
        lines = [ln for ln in first[:3] if not _DELIMITER.fullmatch(ln)]
        over_hashes = bool(lines) and _HASH_LINE.match(lines[0]) is not None
        detected = re.search(rf"/(?:[\w\-]+\.)?{re.escape(name)}(?:\.|\b)", text[h.end() : section_end]) is not None
        if (coined and over_hashes) or detected:  # a plain word ("Deadglyph") needs its detection name
            start = h.start("name") + hm.start("name")
            out.append(FamilyMention(name, start, start + len(name), TABLE_CONFIDENCE, "heading"))
    return out


def find_families(text: str) -> list[FamilyMention]:
    """Find new family names stated in tables, headings and sentences, first mention first."""
    found = {(f.start, f.end): f for f in (*find_table_families(text), *find_heading_families(text),
                                           *find_stated_families(text))}
    return sorted(found.values(), key=lambda f: f.start)
