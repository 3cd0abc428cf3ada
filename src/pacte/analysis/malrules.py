"""Precision rules for malware and tool names: where a known or stated name does not mention a family.

Knowledge bases list names that reports use for other things (the Tor network, the families an antivirus
detection is named after), and the sentence that states a new family can speak of a legitimate tool, a research
group or a part of another program. Each rule below says why such a mention is no family.
"""

from __future__ import annotations

import re

# Antivirus detection names: ESET's "Win32/Agent.AGKQ", "Python/Riskware.LdapDump.A", Microsoft's
# "Trojan:Win32/Foo.A!dha", Kaspersky's "HEUR:Trojan.Win32.Foo.gen", "Backdoor.Win64.Foo.a".
_PLATFORMS = (
    r"Win(?:16|32|64)|MSIL|Python|Linux|Android|OSX|MacOS|iOS|JS|VBS|VBA|PowerShell|BAT|HTML|Java|PHP|WinGo|"
    r"NSIS|Perl|Ruby|Lua|Shell|Unix|Multi|Generik|Script|O97M|W97M|X97M|PDF|LNK|DOS|ELF|Nodejs|AutoIt|Rust|Go"
)
_DETECTION = re.compile(
    rf"(?:[A-Za-z]+:)?(?:{_PLATFORMS})/[\w\-]+(?:\.[\w\-]+)*(?:![\w]+)?"
    rf"|(?:HEUR:|UDS:|not-a-virus:)?[A-Z][\w\-]+\.(?:{_PLATFORMS})\.[\w\-]+(?:\.[\w\-]+)*"
)
_DETECTION_CHARS = re.compile(r"[\w.:/!\-]+")


def in_detection_name(text: str, start: int, end: int) -> bool:
    """Tell whether a name lies inside an antivirus detection name ("Win32/Spy.Agent.AH", "Trojan.Win32.X.a").

    Vendors name detections after a family, a packer or a generic class ("Riskware.Tool", "Kryptik"); the
    report lists the detection beside a sample, so the name inside it is the vendor's label, not a mention of
    the family (the family, when it is one, is named in the text or the description cell as well).
    """
    lo = start
    while lo > 0 and _DETECTION_CHARS.fullmatch(text[lo - 1]):
        lo -= 1
    hi = end
    while hi < len(text) and _DETECTION_CHARS.fullmatch(text[hi]):
        hi += 1
    token = text[lo:hi].rstrip(".:!-")
    if "/" not in token and not re.search(r"\.(?:" + _PLATFORMS + r")\.", token):
        return False
    m = _DETECTION.fullmatch(token)
    return m is not None and (start, end) != (lo, lo + len(token))


_SERVICE_AFTER = re.compile(
    r"[ \t]+(?:network|browser|relays?|exit[ \t]+(?:nodes?|relays?)|nodes?|onion|hidden[ \t]+services?|"
    r"bridges?|circuits?|proxies)\b",
    re.I,
)


def is_network_service(text: str, end: int) -> bool:
    """Tell whether a known tool name is followed by a word that makes it a network or browser ("Tor network").

    Knowledge bases list Tor and similar anonymity software as tools; "the Tor network", "Tor exit nodes",
    "the Tor Browser" name the public infrastructure the traffic crosses, which is no family in the report.
    """
    return _SERVICE_AFTER.match(text, end) is not None


# Words that after a malware noun make that noun a qualifier of another head: "a malware research group",
# "a ransomware negotiation firm", "an anti-malware tool vendor".
_HEAD_AFTER = re.compile(
    r"\s+(?:research(?:ers?)?|group|groups|team|company|companies|firm|vendor|vendors|analysts?|labs?|"
    r"hunters?|community|developers?|authors?|experts?|analysis|detection|protection|removal|negotiat\w*|"
    r"sandbox|scanner|database|repository|forum|market(?:place)?|service|industry|landscape|ecosystem)\b",
    re.I,
)
# Adjectives that make the thing stated a legitimate or defensive program ("X is a legitimate remote tool"); not
# "open-source" or "commercial": open-source ransomware and commercial stealers are families all the same.
_LEGITIMATE = re.compile(
    r"(?i:\b(?:legitimate|legit|benign|security|antivirus|anti-virus|anti-malware|antimalware|defensive|official|"
    r"genuine|trusted|monitoring|backup|trojani[sz]ed|fake|abused|vulnerable)\b)"
)
# Nouns that name a part of another program or a generic role rather than a family.
_PART_NOUNS = re.compile(r"(?i:module|plugin|plug-in|component|payload|agent|proxy|scanner|launcher|tool)s?")
_OF_AFTER = re.compile(r"\s+(?i:of|within|inside|loaded by|belonging to)\s+(?:the\s+)?[A-Z]")


def says_legitimate(phrase: str) -> bool:
    """Tell whether a phrase calls a program legitimate or defensive ("a legitimate tool", "Trojanized installer").

    What the text calls legitimate, benign, an antivirus or a backup program is software the attackers used or
    imitated, not a family of theirs.
    """
    return _LEGITIMATE.search(phrase) is not None


def is_unlikely_statement(phrase: str, after: str) -> bool:
    """Tell whether "X is a <phrase>" does not state a malware family, from the phrase and the words after it.

    `phrase` runs from the article to the malware noun ("a legitimate remote tool"), `after` is the text that
    follows the noun. The noun only qualifies another head ("a malware research group"), the adjectives make the
    program legitimate or defensive ("a legitimate tool", "an antivirus scanner"), or a part noun is followed by
    what it belongs to ("a plugin of Y", "a module of the Y framework": a part of Y, named in Y's description).
    """
    if _HEAD_AFTER.match(after) or _LEGITIMATE.search(phrase):
        return True
    noun = phrase.split()[-1] if phrase.split() else ""
    return _PART_NOUNS.fullmatch(noun) is not None and _OF_AFTER.match(after) is not None


# Legitimate software that knowledge bases list as tools or malware because attackers abuse it: remote
# management and support programs, system and Sysinternals utilities, archivers, packers, file transfer and
# tunnelling services, anonymity networks. General knowledge, not names of any labelled text. Offensive tools
# (Mimikatz, Impacket, Cobalt Strike, Chisel) and malicious builds of legitimate programs ("NetSupport RAT")
# are not here.
LEGITIMATE_SOFTWARE = frozenset(n.lower() for n in (
    "AnyDesk", "TeamViewer", "ScreenConnect", "ConnectWise", "ConnectWise Control", "Atera", "Atera Agent",
    "Splashtop", "LogMeIn", "GoToAssist", "RustDesk", "Quick Assist", "Microsoft Quick Assist", "Remote Utilities",
    "Ammyy Admin", "SimpleHelp", "MeshCentral", "MeshAgent", "Tactical RMM", "PDQ Deploy", "PDQ Inventory",
    "Zoho Assist", "ManageEngine", "Radmin", "TightVNC", "UltraVNC", "RealVNC", "N-able", "Kaseya", "Action1",
    "Syncro", "Pulseway", "NinjaOne", "Level RMM", "DWAgent", "Supremo",
    "PsExec", "PsTools", "ProcDump", "Process Explorer", "Process Hacker", "System Informer", "Sysinternals",
    "BITSAdmin", "certutil", "NirCmd", "PowerShell", "7-Zip", "WinRAR", "PuTTY", "Plink", "WinSCP", "FileZilla",
    "Rclone", "MEGAsync", "ngrok", "Cloudflared", "Tor", "PyInstaller", "UPX", "CCleaner", "Advanced IP Scanner",
    "Advanced Port Scanner", "Angry IP Scanner", "SoftPerfect Network Scanner",
))


def is_legitimate_software(*names: str) -> bool:
    """Tell whether a known tool or malware is legitimate software that attackers abuse (AnyDesk, PsExec, Tor).

    Hubs import such programs from tool lists so that their abuse can be recorded, but a report naming them
    names the software the attackers used, not a malware family of theirs; the reviewer adds them if needed.
    """
    return any(n.lower() in LEGITIMATE_SOFTWARE for n in names)


_WEAK_NOUN = re.compile(r"(?i:tools?|toolkit|toolset|framework|module|plug-?in|component|payload|agent|proxy|scanner|"
                        r"launcher|beacon|utility)")
_STRONG_AFTER = re.compile(r"\W{0,3}(?:\w+\W+){0,2}?(?i:backdoor|RAT|trojan|stealer|implant|rootkit|ransomware|malware|"
                           r"spyware|keylogger|wiper|loader|dropper|downloader)\b")
_MALICIOUS = re.compile(
    r"(?i:\b(?:malicious|custom|new|novel|undocumented|unknown|proprietary|bespoke|private|non-public|"
    r"post-exploitation|offensive|hacking|attack|espionage|spying|exfiltration|reconnaissance|backdoor|"
    r"remote access|remote administration|credential|password|stealing|harvesting|tunneling|tunnelling|hack|"
    r"surveillance|spy)\b)"
)


def needs_second_cue(phrase: str, name: str, text: str, after: str = "") -> bool:
    """Tell whether a statement with only a weak noun ("X is a tool") lacks a second cue that X is malicious.

    Tools, modules, plugins and agents are as often legitimate as malicious; the statement names a family when
    it also says the thing is malicious, custom or new ("a custom tool", "a new module"), or when the report
    comes back to the name (a product mentioned once in passing is no family of the report).
    """
    words = phrase.split()
    if not words or _WEAK_NOUN.fullmatch(words[-1]) is None:
        return False
    if _MALICIOUS.search(phrase) is not None or _STRONG_AFTER.match(after) is not None:
        return False  # "a custom tool", "a remote administration tool (RAT)", "a web shell backdoor"
    return text.count(name) < 2


_OPERATION_BEFORE = re.compile(r"(?:Operation|Opération|Operación|Operação|Operazione|Операция|Operatie)[ \t]+$")


def names_an_operation(text: str, start: int) -> bool:
    """Tell whether a known family's name follows "Operation" ("Operation Aurora"): the campaign's name.

    Vendors name operations after words that are also families' names; "Operation X" names the campaign, which
    the campaign pattern reports, not the family X.
    """
    return _OPERATION_BEFORE.search(text, max(0, start - 16), start) is not None


_CAPITALISED_BEFORE = re.compile(r"(?<![\w\-])([A-Z][a-z]+)[ \t]+$")


def ends_a_longer_name(text: str, start: int, name: str) -> bool:
    """Tell whether a name before a malware noun is the last word of a two-word name the text repeats.

    "Ballistic Bobcat backdoor" at the start of a cell: "Ballistic Bobcat" names the group elsewhere in the
    text, so "Bobcat" is no family; a capitalised word that only opens the cell ("Decrypted X") repeats nowhere.
    """
    m = _CAPITALISED_BEFORE.search(text, max(0, start - 30), start)
    return m is not None and text.count(f"{m.group(1)} {name}") >= 2
