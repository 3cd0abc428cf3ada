"""Word lists that tell hosts from look-alikes: file names, detection names, reference and documentation hosts."""

from __future__ import annotations

import re

# Extensions of files that are also top-level domains, or that malware reports often name.
FILE_EXTENSIONS = frozenset(
    ["exe", "dll", "sys", "scr", "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "lnk", "msi", "msp", "msix", "appx", "iso", "img", "vhd", "vhdx", "zip", "rar", "7z", "gz", "tar", "tgz", "bz2", "xz", "cab", "jar", "war", "apk", "ipa", "dmg", "pkg", "deb", "rpm", "elf", "bin", "so", "dylib", "py", "pyc", "pl", "sh", "bash", "rb", "php", "asp", "aspx", "jsp", "doc", "docx", "docm", "dot", "dotm", "xls", "xlsx", "xlsm", "xlsb", "ppt", "pptx", "pptm", "pdf", "rtf", "txt", "log", "csv", "json", "xml", "yml", "yaml", "html", "htm", "css", "md", "ini", "cfg", "conf", "dat", "db", "sqlite", "sql", "tmp", "bak", "one", "chm", "inf", "reg", "pif", "mov", "mp4", "mp3", "avi", "png", "jpg", "jpeg", "gif", "svg", "ico", "app", "ts", "rs", "go", "c", "cpp", "h", "cs", "vb", "ocx", "cpl", "drv", "efi", "com.exe", "mui", "tlb", "lib", "obj", "pdb", "ax"]
)
# Top-level domains that collide with extensions: a plain "name.ext" with these is a file, not a host.
_AMBIGUOUS_TLDS = frozenset(["zip", "mov", "md", "py", "sh", "pl", "rs", "so", "ps", "app", "cc", "ai", "pm", "sys", "dat", "inf", "ini", "one", "tmp", "ts", "go", "cs", "ax"])

# Platform tokens and categories that antivirus detection names are made of.
_DETECTION_PLATFORMS = frozenset(
    ["win32", "win64", "w32", "w64", "msil", "linux", "elf", "js", "vbs", "vba", "html", "andr", "android", "osx", "macos", "macosx", "php", "java", "unix", "script", "doc", "xml", "pdf", "x97m", "w97m", "o97m", "x2km", "ps", "powershell", "bat", "python", "perl", "multi", "generic", "win", "os2", "symbos", "j2me", "apple", "iphoneos", "msoffice", "office"]
)
_DETECTION_CATEGORIES = frozenset(
    ["trojan", "backdoor", "worm", "virus", "ransom", "ransomware", "hacktool", "riskware", "exploit", "pua", "pup", "adware", "spyware", "trojandownloader", "trojandropper", "trojanspy", "trojan-spy", "trojan-downloader", "trojan-dropper", "trojan-psw", "trojan-banker", "trojan-ransom", "heur", "heuristic", "gen", "generic", "malware", "downloader", "dropper", "infostealer", "stealer", "not-a-virus", "application", "keylogger", "rootkit", "banker", "psw", "packed", "suspicious", "exp", "troj", "mal", "bkdr", "tspy", "hktl", "riskware", "exploit.cve", "virtool", "monitor", "constructor", "flooder", "spam", "email-worm", "net-worm", "im-worm", "p2p-worm", "trojware"]
)
_DETECTION_PREFIX = re.compile(
    r"(?:\b(?:" + "|".join(sorted(_DETECTION_PLATFORMS | _DETECTION_CATEGORIES, key=len, reverse=True))
    + r")[:/!.])$",
    re.IGNORECASE,
)

# Hosts whose plain links in a report are references (sources, social media, knowledge bases), not indicators.
_REFERENCE_HOSTS = frozenset(
    ["twitter.com", "x.com", "t.co", "linkedin.com", "github.com", "githubusercontent.com", "gitlab.com", "attack.mitre.org", "mitre.org", "cve.mitre.org", "cve.org", "nvd.nist.gov", "nist.gov", "cisa.gov", "us-cert.gov", "cert.gov.ua", "cert.ssi.gouv.fr", "ssi.gouv.fr", "bsi.bund.de", "ncsc.gov.uk", "malpedia.caad.fkie.fraunhofer.de", "virustotal.com", "bazaar.abuse.ch", "urlhaus.abuse.ch", "threatfox.abuse.ch", "abuse.ch", "any.run", "app.any.run", "hybrid-analysis.com", "joesandbox.com", "youtube.com", "youtu.be", "facebook.com", "instagram.com", "medium.com", "reddit.com", "wikipedia.org", "archive.org", "web.archive.org", "google.com", "microsoft.com", "learn.microsoft.com", "docs.microsoft.com", "apple.com", "welivesecurity.com", "unit42.paloaltonetworks.com", "paloaltonetworks.com", "proofpoint.com", "recordedfuture.com", "mandiant.com", "crowdstrike.com", "kaspersky.com", "securelist.com", "securelist.ru", "eset.com", "symantec.com", "broadcom.com", "trendmicro.com", "sophos.com", "talosintelligence.com", "cisco.com", "fortinet.com", "checkpoint.com", "research.checkpoint.com", "sentinelone.com", "bleepingcomputer.com", "thehackernews.com", "therecord.media", "zdnet.com", "zdnet.fr", "lemonde.fr", "elpais.com", "heise.de", "spiegel.de", "securitylab.ru", "ria.ru", "aljazeera.net", "bbc.com", "bbc.co.uk", "reuters.com", "nytimes.com", "washingtonpost.com", "misp-project.org", "exploit-db.com", "hexacorn.com", "mdsec.co.uk", "deepinstinct.com", "opencti.io", "oasis-open.org", "mozilla.org", "googleapis.com",
     "visualstudio.com", "jetbrains.com", "pastebin.com", "hastebin.com", "bitbucket.org", "dropbox.com", "box.com",
     "live.com", "outlook.com", "office.com", "slack.com", "discord.com", "telegram.org", "t.me", "cloudflare.com"]
)

_DOCUMENTATION_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".local", ".internal", ".lan")
_DOCUMENTATION_DOMAINS = frozenset([
    "example.com", "example.net", "example.org", "example.edu", "mydomain.com", "yourdomain.com", "yoursite.com",
    "domain.tld",
])
# First labels of reverse-DNS identifiers (com.apple.loginwindow, org.mozilla.firefox), which are not hosts.
REVERSE_DNS_HEADS = frozenset(["com", "org", "net", "io", "edu", "gov"])
# Windows and DOS programs whose file names end in .com.
_DOS_COMMANDS = frozenset(["net", "more", "format", "tree", "chcp", "mode", "edit", "command", "diskcopy", "keyb"])


def is_dos_command(labels: list[str]) -> bool:
    """Tell whether a dotted name is a DOS or Windows program such as net.com or more.com."""
    return len(labels) == 2 and labels[1].lower() == "com" and labels[0].lower() in _DOS_COMMANDS


def is_reference_host(host: str) -> bool:
    """Tell whether a host is a well-known source, social-media or knowledge-base site."""
    host = host.lower().removeprefix("www.")
    parts = host.split(".")
    return any(".".join(parts[i:]) in _REFERENCE_HOSTS for i in range(len(parts) - 1))


def is_documentation_host(host: str) -> bool:
    """Tell whether a host is reserved for documentation or private use (RFC 2606, 6761, 6762)."""
    host = host.lower().rstrip(".")
    if host.endswith(_DOCUMENTATION_SUFFIXES) or host in _DOCUMENTATION_SUFFIXES:
        return True
    parts = host.split(".")
    return any(".".join(parts[i:]) in _DOCUMENTATION_DOMAINS for i in range(len(parts) - 1))


def is_detection_name(labels: list[str], before: str) -> bool:
    """Tell whether dotted labels are an antivirus detection name such as Trojan.Win32.Agent.abc."""
    low = [label.lower() for label in labels]
    if low[0] in _DETECTION_CATEGORIES or any(label in _DETECTION_PLATFORMS for label in low[:-1]):
        return True
    return bool(_DETECTION_PREFIX.search(before))


def looks_like_file_name(labels: list[str], before: str) -> bool:
    """Tell whether a plain dotted name is a file name (invoice.exe, readme.md) rather than a host."""
    ext = labels[-1].lower()
    if ext in FILE_EXTENSIONS and (len(labels) == 2 or ext in _AMBIGUOUS_TLDS):
        return True
    return bool(re.search(r"(?:file ?name|fichier|archivo|datei|файл|ملف)\s*[:=]?\s*$", before, re.IGNORECASE))
