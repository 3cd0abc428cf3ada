"""Correlation keys: one normal string per observable value, from STIX objects and from typed search strings.

A key names one value in a form where equal values are equal strings and where related values sort next to
each other (so an index range finds an address inside a network, a subdomain under its domain):

* ``ip4:<8 hex>`` / ``ip6:<32 hex>``: an address (a /32 or /128 CIDR is an address);
* ``net4:<8 hex>/<2-digit prefix>`` / ``net6:<32 hex>/<3-digit prefix>``: a network, host bits zeroed;
* ``dom:<labels reversed>``: a domain name, lower-cased, IDNA (``xn--``) form, trailing dot dropped;
* ``url:<URL>``: scheme and host lower-cased (host in IDNA form), userinfo, default port and fragment dropped,
  an empty http(s) path written ``/``, the rest as sent;
* ``email:<address>``: lower-cased, its domain in IDNA form;
* ``on:<host key>``: the host a URL or e-mail address is on (``on:dom:...``, ``on:ip4:...``, ``on:ip6:...``),
  always emitted together with the ``url:``/``email:`` key;
* ``h:<alg>:<value>``: a hash; algorithm lower-cased without ``-``, ``_``, quotes and spaces; hex values lower-cased.

Indicators give the keys of every positive comparison (``=``, ``IN``, ``ISSUBSET``, not under ``NOT``, not
``!=``) of their STIX pattern, read with the grammar of ``pacte.stix.patterns``. Nothing here raises on a
validated object: a value that does not parse as its kind gives no key.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pacte.stix.defang import refang
from pacte.stix.observables import is_domain_name
from pacte.stix.patterns import STRING, PatternError, comparisons

_HASH_TYPES = frozenset({"file", "artifact", "x509-certificate"})
_VALUE_TYPES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr"})
_KEYED_TYPES = _HASH_TYPES | _VALUE_TYPES | {"indicator"}
_POSITIVE_OPS = frozenset({"=", "IN", "ISSUBSET"})
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HEX = re.compile(r"[0-9a-fA-F]+\Z")
_SSDEEP = re.compile(r"[0-9]+:[A-Za-z0-9/+]*:[A-Za-z0-9/+]*(?:,.*)?\Z")
_TLSH = re.compile(r"(?:T1)?[0-9A-Fa-f]{70}\Z")
# Hex lengths of the hash algorithms a bare hash may be (every candidate is searched: the lengths are ambiguous).
_HASHES_BY_LENGTH = {32: ("md5",), 40: ("sha1",), 56: ("sha224", "sha3224"), 64: ("sha256", "sha3256"),
                     96: ("sha384", "sha3384"), 128: ("sha512", "sha3512")}
_HASH_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384",
               "sha512": "SHA-512", "sha3224": "SHA3-224", "sha3256": "SHA3-256", "sha3384": "SHA3-384",
               "sha3512": "SHA3-512", "ssdeep": "SSDEEP", "tlsh": "TLSH", "ripemd160": "RIPEMD-160"}


# ---- single values -------------------------------------------------------------------------------------


def _ip_keys(text: str, version: int | None = None) -> list[str]:
    """Keys of an address or CIDR (``version`` 4 or 6 to insist on one); none if it is not one."""
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if version is not None and net.version != version:
                return []
            return [network_key(net)]
        addr = ipaddress.ip_address(text)
    except ValueError:
        return []
    if version is not None and addr.version != version:
        return []
    return [address_key(addr)]


def address_key(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Return the key of one IP address (``ip4:``/``ip6:`` and fixed-width lower-case hex)."""
    if addr.version == 4:
        return f"ip4:{int(addr):08x}"
    return f"ip6:{int(addr):032x}"


def network_key(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """Return the key of a network: an address key for a /32 or /128, else ``net4:``/``net6:`` with the prefix."""
    if net.prefixlen == net.max_prefixlen:
        return address_key(net.network_address)
    if net.version == 4:
        return f"net4:{int(net.network_address):08x}/{net.prefixlen:02d}"
    return f"net6:{int(net.network_address):032x}/{net.prefixlen:03d}"


def idna_host(name: str) -> str | None:
    """Return a domain name lower-cased in IDNA form without a trailing dot, or None if it is not one."""
    if name.endswith("."):
        name = name[:-1]
    if not name or not is_domain_name(name):
        return None
    if name.isascii():
        return name.lower()
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def domain_key(name: str) -> str | None:
    """Return the ``dom:`` key of a domain name (labels reversed), or None if it is not a domain name."""
    host = idna_host(name)
    if host is None:
        return None
    return "dom:" + ".".join(reversed(host.split(".")))


def _host_key(host: str) -> tuple[str, str] | None:
    """Return (host key, host as written in a normal URL) of a URL or e-mail host, or None."""
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        if inner[:5].lower() == "ipv6:":  # e-mail address literal
            inner = inner[5:]
        try:
            addr = ipaddress.ip_address(inner)
        except ValueError:
            return None
        shown = f"[{addr}]" if addr.version == 6 else str(addr)
        return address_key(addr), shown
    if host[:1].isdigit() and host.count(".") == 3:
        try:
            v4 = ipaddress.IPv4Address(host)
        except ValueError:
            pass
        else:
            return address_key(v4), str(v4)
    name = idna_host(host)
    if name is None:
        return None
    return "dom:" + ".".join(reversed(name.split("."))), name


def url_keys(url: str) -> list[str]:
    """Return the ``url:`` key of a URL and the ``on:`` key of its host (when it has one); none if no scheme."""
    m = _SCHEME.match(url)
    if m is None:
        return []
    scheme = m.group(1).lower()
    rest = url[m.end():]
    fragment = rest.find("#")
    if fragment >= 0:
        rest = rest[:fragment]
    if not rest.startswith("//"):
        return [f"url:{scheme}:{rest}"]  # no authority (mailto:, urn:): nothing to normalise
    end = len(rest)
    for sep in "/?":
        i = rest.find(sep, 2)
        if 0 <= i < end:
            end = i
    authority, tail = rest[2:end], rest[end:]
    authority = authority.rpartition("@")[2]  # userinfo dropped
    port = ""
    if authority.startswith("["):
        close = authority.find("]")
        host, after = (authority[:close + 1], authority[close + 1:]) if close >= 0 else (authority, "")
        if after.startswith(":"):
            port = after[1:]
    else:
        host, colon, port = authority.rpartition(":")
        if not colon:
            host, port = authority, ""
    if port:
        if not port.isdigit():
            return [f"url:{scheme}://{authority.lower()}{tail}"]
        port = str(int(port))
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    if not tail and scheme in ("http", "https"):
        tail = "/"
    found = _host_key(host) if host else None
    shown = found[1] if found is not None else host.lower()
    key = f"url:{scheme}://{shown}{':' + port if port else ''}{tail}"
    return [key, "on:" + found[0]] if found is not None else [key]


def email_keys(address: str) -> list[str]:
    """Return the ``email:`` key of an e-mail address and the ``on:`` key of its domain; none if not one."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return []
    found = _host_key(domain)
    if found is None:
        return []
    return [f"email:{local.lower()}@{found[1]}", "on:" + found[0]]


def hash_key(algorithm: str, value: str) -> str:
    """Return the ``h:`` key of one hash (algorithm normalised, hex values lower-cased)."""
    alg = algorithm.lower()
    for c in "-_' ":
        alg = alg.replace(c, "")
    if _HEX.match(value) or (alg == "tlsh" and _TLSH.match(value)):
        value = value.lower()
    return f"h:{alg}:{value}"


def _content_keys(value: str) -> list[str]:
    """Keys of a value whose kind is told by its content (addresses, URLs, e-mail, domains)."""
    found = _ip_keys(value)
    if found:
        return found
    if "@" in value:
        return email_keys(value)
    if "://" in value:
        return url_keys(value)
    key = domain_key(value)
    return [key] if key is not None else []


# ---- objects -------------------------------------------------------------------------------------------


def _typed_value_keys(otype: str, value: str) -> list[str]:
    if otype == "ipv4-addr":
        return _ip_keys(value, 4)
    if otype == "ipv6-addr":
        return _ip_keys(value, 6)
    if otype == "domain-name":
        key = domain_key(value)
        return [key] if key is not None else []
    if otype == "url":
        return url_keys(value)
    return email_keys(value)


def _hash_keys(hashes: Any, out: list[str]) -> None:
    if isinstance(hashes, dict):
        for alg, value in hashes.items():
            if isinstance(alg, str) and isinstance(value, str) and value:
                out.append(hash_key(alg, value))


def _is_ref_value(path: tuple[str | int | None, ...]) -> bool:
    """A path such as ``dst_ref.value`` or ``to_refs[*].value``: the value of a referenced observable."""
    if len(path) < 2 or path[-1] != "value":
        return False
    head = path[0]
    return isinstance(head, str) and (head.endswith("_ref") or head.endswith("_refs"))


def _pattern_keys(pattern: str, out: list[str]) -> None:
    try:
        found = comparisons(pattern)
    except (PatternError, RecursionError):
        return
    for c in found:
        if c.operator not in _POSITIVE_OPS:
            continue
        values = [v for v, kind in zip(c.values, c.kinds, strict=True) if kind == STRING]
        path = c.path
        if c.object_type in _VALUE_TYPES and path == ("value",):
            for v in values:
                out.extend(_typed_value_keys(c.object_type, v))
        elif c.object_type in _HASH_TYPES and len(path) == 2 and path[0] == "hashes":
            alg = path[1]
            if isinstance(alg, str):
                out.extend(hash_key(alg, v) for v in values if v)
        elif _is_ref_value(path):
            for v in values:
                out.extend(_content_keys(v))


def keys_of(obj: dict[str, Any]) -> tuple[str, ...]:
    """Return the sorted, distinct correlation keys of one validated STIX object (empty for other types)."""
    otype = obj.get("type")
    if otype not in _KEYED_TYPES:
        return ()
    out: list[str] = []
    if otype == "indicator":
        pattern = obj.get("pattern")
        if isinstance(pattern, str) and obj.get("pattern_type", "stix") == "stix":
            _pattern_keys(pattern, out)
    elif otype in _HASH_TYPES:
        _hash_keys(obj.get("hashes"), out)
    else:
        value = obj.get("value")
        if isinstance(value, str):
            out.extend(_typed_value_keys(otype, value))
    return tuple(sorted(set(out)))


# ---- search strings ------------------------------------------------------------------------------------


def keys_for_value(text: str) -> tuple[str, ...]:
    """Return the keys a typed search string stands for (address, CIDR, URL, e-mail, hash, domain); () if none."""
    value = refang(text.strip())
    if not value or any(c.isspace() for c in value):
        return ()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    found = _ip_keys(value)
    if not found and "://" in value:
        found = url_keys(value)
    if not found and "@" in value:
        found = email_keys(value[7:] if value[:7].lower() == "mailto:" else value)
    if not found and _HEX.match(value):
        found = [hash_key(alg, value) for alg in _HASHES_BY_LENGTH.get(len(value), ())]
        if not found and len(value) in (70, 72) and _TLSH.match(value):
            found = [hash_key("tlsh", value)]
    if not found and _SSDEEP.match(value):
        found = [hash_key("ssdeep", value)]
    if not found and "." in value.strip(".") and not value.rstrip(".").rpartition(".")[2].isdigit():
        key = domain_key(value)
        found = [key] if key is not None else []
    return tuple(sorted(set(found)))


# ---- display -------------------------------------------------------------------------------------------


def _hex_address(digits: str) -> str:
    n = int(digits, 16)
    return str(ipaddress.IPv4Address(n) if len(digits) == 8 else ipaddress.IPv6Address(n))


def display(key: str) -> str:
    """Return the human form of a key (``ip4:c6336407`` is 198.51.100.7); an unknown key is shown as is."""
    kind, _, rest = key.partition(":")
    try:
        if kind in ("ip4", "ip6"):
            return _hex_address(rest)
        if kind in ("net4", "net6"):
            digits, _, prefix = rest.partition("/")
            return f"{_hex_address(digits)}/{int(prefix)}"
        if kind == "dom":
            return ".".join(reversed(rest.split(".")))
        if kind in ("url", "email"):
            return rest
        if kind == "on":
            return display(rest)
        if kind == "h":
            alg, _, value = rest.partition(":")
            return f"{_HASH_NAMES.get(alg, alg.upper())} {value}"
    except ValueError:
        pass
    return key
