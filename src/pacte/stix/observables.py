"""Cyber-observable values checked for their type (STIX 2.1 section 6): an address is an address.

Each check returns ``(field path, reason)`` for the first problem, or None. Only the predefined
observable types are checked; custom observables (``new-sco`` extensions) are the producer's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

Problem = tuple[str, str] | None

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:3[0-2]|[12]?[0-9]))?\Z")
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}\Z")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+\Z")
_LABEL = re.compile(r"[^\W_](?:[\w\-]{0,61}[^\W_])?\Z|_[\w\-]{0,62}\Z")  # letters/digits (any script), inner hyphens
_HEX = re.compile(r"[0-9A-Fa-f]+\Z")
_SSDEEP = re.compile(r"[0-9]+:[A-Za-z0-9/+]+:[A-Za-z0-9/+]+(?:,.*)?\Z")
_TLSH = re.compile(r"(?:T1)?[0-9A-Fa-f]{70}\Z")
# Hash algorithms of the STIX 2.1 hash vocabulary (and common others), by name without case or hyphens.
_HASH_HEX_LENGTH = {"MD5": 32, "SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128,
                    "SHA3224": 56, "SHA3256": 64, "SHA3384": 96, "SHA3512": 128, "RIPEMD160": 40,
                    "WHIRLPOOL": 128}


def _ipv4(value: str) -> bool:
    return _IPV4.match(value) is not None


def _ipv6(value: str) -> bool:
    try:
        if "/" in value:
            ipaddress.IPv6Network(value, strict=False)
        else:
            ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def is_domain_name(value: str) -> bool:
    """Tell whether a string is a domain name (labels of letters, digits, hyphens; IDNs in any script)."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) is not None for label in name.split("."))


def _email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(value) > 320 or any(c.isspace() for c in local):
        return False
    if domain.startswith("[") and domain.endswith("]"):  # address literal: user@[192.0.2.1]
        inner = domain[1:-1]
        return (_ipv4(inner) and "/" not in inner) or (inner.lower().startswith("ipv6:") and _ipv6(inner[5:]))
    return is_domain_name(domain)


_VALUE_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "ipv4-addr": (_ipv4, "must be an IPv4 address or CIDR block such as 198.51.100.3 or 198.51.100.0/24"),
    "ipv6-addr": (_ipv6, "must be an IPv6 address or CIDR block such as 2001:db8::1 or 2001:db8::/32"),
    "domain-name": (is_domain_name, "must be a domain name such as example.com"),
    "email-addr": (_email, "must be an email address such as jdoe@example.com"),
    "url": (lambda v: _URL.match(v) is not None, "must be a URL such as https://example.com/a"),
    "mac-addr": (lambda v: _MAC.match(v) is not None,
                 "must be a MAC-48 address in lowercase, colon-delimited, with leading zeros (00:00:5e:00:53:af)"),
}


def hash_problem(algorithm: str, value: Any) -> str | None:
    """Return why a hash value is malformed for its algorithm, or None (unknown algorithms are not judged)."""
    if not isinstance(value, str):
        return "must be a string"
    name = algorithm.upper().replace("-", "").replace("_", "")
    length = _HASH_HEX_LENGTH.get(name)
    if length is not None:
        if len(value) != length or _HEX.match(value) is None:
            return f"must be {length} hexadecimal digits for {algorithm}"
    elif name == "SSDEEP":
        if _SSDEEP.match(value) is None:
            return "must be an ssdeep hash (blocksize:hash:hash)"
    elif name == "TLSH" and _TLSH.match(value) is None:
        return "must be a TLSH digest (70 hexadecimal digits, optionally after T1)"
    return None


def _hashes(field: str, hashes: Any) -> Problem:
    if not isinstance(hashes, dict):
        return field, "must be a dictionary of hash algorithm to hash value"
    for algorithm, value in hashes.items():
        reason = hash_problem(algorithm, value)
        if reason is not None:
            return f"{field}.{algorithm}", reason
    return None


def observable_problem(otype: str, obj: dict[str, Any]) -> Problem:
    """Return (field path, reason) if a predefined observable's values do not fit their types, else None."""
    check = _VALUE_CHECKS.get(otype)
    if check is not None:
        value = obj.get("value")
        if not isinstance(value, str):
            return "value", "must be a string"
        if not check[0](value):
            return "value", check[1]
    elif otype == "autonomous-system":
        number = obj.get("number")
        if type(number) is not int or not 0 <= number <= 4294967295:
            return "number", "must be an integer from 0 to 4294967295"
    elif otype in ("mutex", "software") and not isinstance(obj.get("name"), str):
        return "name", "must be a string"
    if "hashes" in obj:
        found = _hashes("hashes", obj["hashes"])
        if found is not None:
            return found
    if otype == "file":
        extensions = obj.get("extensions")
        if isinstance(extensions, dict):
            for name, ext in extensions.items():
                if isinstance(ext, dict) and "hashes" in ext:  # e.g. ntfs-ext alternate data streams
                    found = _hashes(f"extensions.{name}.hashes", ext["hashes"])
                    if found is not None:
                        return found
    return None
