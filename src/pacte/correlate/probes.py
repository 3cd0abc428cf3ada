"""How one correlation key finds related keys: the probes it makes in the value index, and why each matches.

A :class:`Probe` is either one exact key or a key range ``[key, upper)`` (byte order, as the keys of
:mod:`pacte.stix.values` are ASCII: PostgreSQL must compare them with ``COLLATE "C"``). A range is a
candidate scan: every key it returns must be confirmed with :func:`reason_for`, which labels the
relation and returns None for keys the range covers without being related (a supernet that shares the
network address, a subdomain under another registrable domain). Exact probes need no confirmation.

The relation is symmetric: when a probe of A confirms B, a probe of B confirms A (with the inverse
reason, :data:`INVERSE`). The reasons, a closed set (``reason`` names what the matched key is to the source):

==================  ==============================================================================
same-value          the same address, network, domain, URL or e-mail address
same-hash           the same hash (algorithm and value)
inside-range        the matched network contains the source address or network (a supernet)
contains            the matched address or network lies inside the source network
subdomain           the matched domain is a subdomain of the source domain
parent-domain       the matched domain is a parent of the source domain (down to its registrable domain)
on-domain           a URL or e-mail address on the source domain
on-subdomain        a URL or e-mail address on a subdomain of the source domain
domain-of-url       the domain a source URL or e-mail address is on
url-parent-domain   a parent (down to the registrable domain) of the domain a source URL is on
on-address          a URL or e-mail address on the source address
on-range            a URL or e-mail address on an address inside the source network
address-of-url      the address a source URL or e-mail address is on
url-inside-range    a network containing the address a source URL or e-mail address is on
==================  ==============================================================================

Choices: an address looks up its supernets from /8 to /31 (IPv4) and /16 to /127 (IPv6); a network
shorter than those (IPv4 /0-/7, IPv6 /0-/15) is matched by its exact value only. A domain looks up its
parents down to its registrable domain under the public-suffix list (tldextract's bundled snapshot,
private domains included so ``x.github.io`` stops at itself; never fetched), and a host under no known
suffix is treated by the list's default rule (its last label is the suffix). A public suffix itself
(``co.uk``) is matched by its exact value only. A ``url:`` or ``email:`` key matches its exact value only;
the relations of its host are those of the ``on:`` key that comes with it. Benign keys
(:mod:`pacte.correlate.benign`) are never probed: :func:`probes` returns nothing for one and leaves out
exact probes of one; ranges may still return benign keys, which the caller drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tldextract

REASONS = frozenset({
    "same-value", "same-hash", "inside-range", "contains", "subdomain", "parent-domain", "on-domain",
    "on-subdomain", "domain-of-url", "url-parent-domain", "on-address", "on-range", "address-of-url",
    "url-inside-range",
})
INVERSE = {
    "same-value": "same-value", "same-hash": "same-hash", "inside-range": "contains", "contains": "inside-range",
    "subdomain": "parent-domain", "parent-domain": "subdomain", "on-domain": "domain-of-url",
    "domain-of-url": "on-domain", "on-subdomain": "url-parent-domain", "url-parent-domain": "on-subdomain",
    "on-address": "address-of-url", "address-of-url": "on-address", "on-range": "url-inside-range",
    "url-inside-range": "on-range",
}
_BITS = {"4": 32, "6": 128}
_WIDTH = {"4": 8, "6": 32}
_PREFIX_DIGITS = {"4": 2, "6": 3}
_SHORTEST = {"4": 8, "6": 16}  # the shortest supernet an address looks up


@dataclass(frozen=True, slots=True)
class Probe:
    """One look-up in the value index: ``key`` exactly (``upper`` None), or every key in ``[key, upper)``."""

    key: str
    reason: str
    upper: str | None = None

    @property
    def is_range(self) -> bool:
        """Tell whether the probe scans a key range (its hits need :func:`reason_for`)."""
        return self.upper is not None

    def covers(self, key: str) -> bool:
        """Tell whether a key is one this probe reads from the index (before confirmation)."""
        if self.upper is None:
            return key == self.key
        return self.key <= key < self.upper


# ---- domains -------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _psl() -> tldextract.TLDExtract:
    # The public-suffix snapshot bundled with tldextract, private domains included; never fetched.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True,
                                 include_psl_private_domains=True)


@lru_cache(maxsize=65536)
def registrable_labels(labels: str) -> int:
    """Return how many labels the registrable domain of a reversed name has (0 if it is a public suffix)."""
    parts = labels.split(".")
    ext = _psl()(".".join(reversed(parts)))
    suffix = ext.suffix.count(".") + 1 if ext.suffix else 1  # no known suffix: the default rule "*"
    return suffix + 1 if len(parts) > suffix else 0


def _chain(labels: str) -> list[str]:
    """The reversed name and its parents down to its registrable domain (empty for a public suffix)."""
    keep = registrable_labels(labels)
    if keep == 0:
        return []
    parts = labels.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), keep - 1, -1)]


def _next(prefix: str) -> str:
    """The least string above every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _domain_probes(labels: str) -> list[Probe]:
    chain = _chain(labels)
    out = [Probe("dom:" + labels, "same-value")]
    if not chain:
        return out
    out.extend(Probe("dom:" + parent, "parent-domain") for parent in chain[1:])
    out.append(Probe(f"dom:{labels}.", "subdomain", _next(f"dom:{labels}.")))
    out.append(Probe("on:dom:" + labels, "on-domain"))
    out.append(Probe(f"on:dom:{labels}.", "on-subdomain", _next(f"on:dom:{labels}.")))
    return out


# ---- addresses and networks ----------------------------------------------------------------------------


def _parse_ip(v: str, rest: str) -> tuple[int, int] | None:
    """(network as int, prefix length) of the hex part of an ip/net key, or None if malformed."""
    digits, slash, prefix = rest.partition("/")
    if len(digits) != _WIDTH[v]:
        return None
    try:
        value = int(digits, 16)
        length = int(prefix) if slash else _BITS[v]
    except ValueError:
        return None
    if not 0 <= length <= _BITS[v]:
        return None
    return value, length


def _net_key(v: str, value: int, length: int) -> str:
    bits = _BITS[v]
    network = value & ~((1 << (bits - length)) - 1) & ((1 << bits) - 1)
    return f"net{v}:{network:0{_WIDTH[v]}x}/{length:0{_PREFIX_DIGITS[v]}d}"


def _span(v: str, kind: str, value: int, length: int) -> tuple[str, str]:
    """The key range of ``kind`` keys (``ip4:``, ``net4:``, ``on:ip4:``) whose address lies in the network."""
    bits, width = _BITS[v], _WIDTH[v]
    lower = f"{kind}{value:0{width}x}"
    end = value + (1 << (bits - length))
    upper = f"{kind}{end:0{width}x}" if end < (1 << bits) else _next(kind)
    return lower, upper


def _address_probes(v: str, value: int) -> list[Probe]:
    bits = _BITS[v]
    out = [Probe(f"ip{v}:{value:0{_WIDTH[v]}x}", "same-value")]
    out.extend(Probe(_net_key(v, value, n), "inside-range") for n in range(_SHORTEST[v], bits))
    out.append(Probe(f"on:ip{v}:{value:0{_WIDTH[v]}x}", "on-address"))
    return out


def _network_probes(v: str, value: int, length: int) -> list[Probe]:
    out = [Probe(_net_key(v, value, length), "same-value")]
    if length < _SHORTEST[v]:
        return out
    out.extend(Probe(_net_key(v, value, n), "inside-range") for n in range(_SHORTEST[v], length))
    for kind, reason in ((f"ip{v}:", "contains"), (f"net{v}:", "contains"), (f"on:ip{v}:", "on-range")):
        lower, upper = _span(v, kind, value, length)
        out.append(Probe(lower, reason, upper))
    return out


def _url_host_probes(host: str) -> list[Probe]:
    kind, _, rest = host.partition(":")
    if kind == "dom":
        chain = _chain(rest)
        return [Probe("dom:" + d, "domain-of-url" if i == 0 else "url-parent-domain") for i, d in enumerate(chain)]
    if kind in ("ip4", "ip6"):
        v = kind[-1]
        parsed = _parse_ip(v, rest)
        if parsed is None or "/" in rest:
            return []
        value = parsed[0]
        out = [Probe(host, "address-of-url")]
        out.extend(Probe(_net_key(v, value, n), "url-inside-range") for n in range(_SHORTEST[v], _BITS[v]))
        return out
    return []


# ---- public --------------------------------------------------------------------------------------------


def _all_probes(key: str) -> list[Probe]:
    kind, _, rest = key.partition(":")
    if kind in ("ip4", "ip6"):
        parsed = _parse_ip(kind[-1], rest)
        if parsed is None or "/" in rest:
            return []
        return _address_probes(kind[-1], parsed[0])
    if kind in ("net4", "net6"):
        parsed = _parse_ip(kind[-1], rest)
        if parsed is None or "/" not in rest or _net_key(kind[-1], *parsed) != key:
            return []
        return _network_probes(kind[-1], *parsed)
    if kind == "dom":
        return _domain_probes(rest) if rest else []
    if kind == "on":
        return _url_host_probes(rest)
    if kind == "h":
        return [Probe(key, "same-hash")]
    if kind in ("url", "email"):
        return [Probe(key, "same-value")]
    return []


def probes(key: str) -> list[Probe]:
    """Return the probes one correlation key makes (none for a benign or unknown key)."""
    from pacte.correlate.benign import is_benign

    if is_benign(key):
        return []
    return [p for p in _all_probes(key) if p.upper is not None or not is_benign(p.key)]


def _ip_in(v: str, inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    """Tell whether network ``inner`` lies strictly inside network ``outer`` (outer shorter, both >= shortest)."""
    (iv, il), (ov, ol) = inner, outer
    if not _SHORTEST[v] <= ol < il:
        return False
    shift = _BITS[v] - ol
    return iv >> shift == ov >> shift


def _ip_of(key: str) -> tuple[str, tuple[int, int]] | None:
    """(version, (value, prefix)) of an ip/net key, or None."""
    kind, _, rest = key.partition(":")
    if kind in ("ip4", "ip6", "net4", "net6"):
        v = kind[-1]
        parsed = _parse_ip(v, rest)
        if parsed is not None and ("/" in rest) == kind.startswith("net"):
            return v, parsed
    return None


def _domain_reason(source: str, matched: str) -> str | None:
    """Reason between two reversed domain names, or None: the descendant's chain decides."""
    if matched.startswith(source + "."):
        return "subdomain" if source in _chain(matched)[1:] else None
    if source.startswith(matched + "."):
        return "parent-domain" if matched in _chain(source)[1:] else None
    return None


@lru_cache(maxsize=65536)
def reason_for(source: str, matched: str) -> str | None:
    """Return why ``matched`` is related to ``source`` (a reason of :data:`REASONS`), or None if it is not."""
    if source == matched:
        if source.startswith("on:"):
            return None  # two URLs on one host are related only through the host's own key
        if source.startswith("h:"):
            return "same-hash"
        return "same-value" if _all_probes(source) else None
    s_on, m_on = source.startswith("on:"), matched.startswith("on:")
    if s_on and m_on:
        return None
    if s_on or m_on:
        host, other = (source[3:], matched) if s_on else (matched[3:], source)
        reason = _host_reason(host, other)
        if reason is None:
            return None
        return reason if s_on else INVERSE[reason]
    if source.startswith("dom:") and matched.startswith("dom:"):
        return _domain_reason(source[4:], matched[4:])
    a, b = _ip_of(source), _ip_of(matched)
    if a is None or b is None or a[0] != b[0]:
        return None
    if _ip_in(a[0], a[1], b[1]):
        return "inside-range"
    if _ip_in(a[0], b[1], a[1]):
        return "contains"
    return None


def _host_reason(host: str, other: str) -> str | None:
    """Reason from a URL/e-mail host key (without ``on:``) to another key, from the URL's side."""
    if host.startswith("dom:") and other.startswith("dom:"):
        h, o = host[4:], other[4:]
        chain = _chain(h)
        if not chain:
            return None
        if o == h:
            return "domain-of-url"
        return "url-parent-domain" if o in chain[1:] else None
    a, b = _ip_of(host), _ip_of(other)
    if a is None or b is None or a[0] != b[0] or a[1][1] != _BITS[a[0]]:
        return None
    if a[1] == b[1]:
        return "address-of-url"
    return "url-inside-range" if _ip_in(a[0], a[1], b[1]) else None
