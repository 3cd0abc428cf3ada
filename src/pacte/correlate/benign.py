"""Benign values: correlation keys that are never probed and never matched (they would link everything).

The lists ship in ``pacte/correlate/data/`` (plain text, one value a line, ``#`` starts a comment; where
they come from and their licence: ``data/README.md``):

* ``special-ip.txt``: special-purpose ranges (private, loopback, link-local, shared, multicast,
  documentation, reserved): an address inside one, or a network wholly inside one, is benign;
* ``public-dns.txt``: the addresses of large public DNS resolvers;
* ``special-domains.txt``: special-use names (``example.com``, ``localhost``, ``test``, reverse zones of
  private ranges...): the name and every name under it are benign;
* ``top-domains.txt``: most used domains: a domain (or the host of a URL or e-mail address, the ``on:``
  key) is benign when it or one of its parents down to its registrable domain is listed. So
  ``mail.google.com`` is benign, while ``evil.duckdns.org`` is not (under the public-suffix list with
  private domains, ``duckdns.org`` is a suffix and ``evil.duckdns.org`` its own registrable domain);
* ``empty-hashes.txt``: hashes of the empty file, benign under any algorithm name.

A ``url:`` key is never benign (a URL on a popular site is still a precise indicator), and an ``email:``
key only when its domain is special-use. Keys that do not parse are not benign.

An operator extends the lists without changing the package: ``PACTE_BENIGN_DIR`` names a directory whose
files with the same names as the shipped ones (``top-domains.txt``...) are read after them, in the same
format. The lists are read once per process (:func:`reset` reads them again).
"""

from __future__ import annotations

import ipaddress
import os
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pacte.correlate.probes import registrable_labels
from pacte.stix.values import idna_host

DATA = Path(__file__).resolve().parent / "data"
ENV = "PACTE_BENIGN_DIR"
IP_FILES = ("special-ip.txt", "public-dns.txt")
SPECIAL_DOMAINS = "special-domains.txt"
TOP_DOMAINS = "top-domains.txt"
EMPTY_HASHES = "empty-hashes.txt"
FILES = (*IP_FILES, SPECIAL_DOMAINS, TOP_DOMAINS, EMPTY_HASHES)


@dataclass(frozen=True, slots=True)
class _Ranges:
    """Disjoint, sorted, merged integer ranges [start, end] of one IP version."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def holds(self, first: int, last: int) -> bool:
        """Tell whether [first, last] lies inside one range."""
        i = bisect_right(self.starts, first) - 1
        return i >= 0 and last <= self.ends[i]


@dataclass(frozen=True, slots=True)
class BenignLists:
    """The benign values, in the forms keys are checked against."""

    v4: _Ranges
    v6: _Ranges
    special_domains: frozenset[str]  # reversed labels, as in dom: keys
    top_domains: frozenset[str]  # reversed labels
    hashes: frozenset[str]


def _values(name: str, extra: Path | None) -> Iterator[str]:
    """The values of one list: the shipped file, then the operator's file of the same name if any."""
    paths = [DATA / name]
    if extra is not None and (extra / name).is_file():
        paths.append(extra / name)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            value = line.split("#", 1)[0].strip()
            if value:
                yield value


def _merge(nets: list[tuple[int, int]]) -> _Ranges:
    merged: list[list[int]] = []
    for first, last in sorted(nets):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return _Ranges(tuple(m[0] for m in merged), tuple(m[1] for m in merged))


def _reversed_name(value: str) -> str | None:
    host = idna_host(value)
    return None if host is None else ".".join(reversed(host.split(".")))


def load(extra: Path | None = None) -> BenignLists:
    """Read the shipped lists, extended by the files of directory ``extra`` (when given)."""
    nets: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for name in IP_FILES:
        for value in _values(name, extra):
            try:
                net = ipaddress.ip_network(value, strict=False)
            except ValueError as exc:
                raise ValueError(f"{name}: {value!r} is not an IP address or network") from exc
            nets[net.version].append((int(net.network_address), int(net.broadcast_address)))

    def names(name: str) -> frozenset[str]:
        found = {_reversed_name(v) for v in _values(name, extra)}
        return frozenset(n for n in found if n is not None)

    return BenignLists(_merge(nets[4]), _merge(nets[6]), names(SPECIAL_DOMAINS), names(TOP_DOMAINS),
                       frozenset(v.lower() for v in _values(EMPTY_HASHES, extra)))


@lru_cache(maxsize=1)
def lists() -> BenignLists:
    """Return the lists in force: the shipped ones extended by ``PACTE_BENIGN_DIR``'s (read once)."""
    extra = os.environ.get(ENV)
    return load(Path(extra) if extra else None)


def reset() -> None:
    """Forget the lists read and every answer cached (the next check reads them again)."""
    lists.cache_clear()
    is_benign.cache_clear()


def _special(labels: str, special: frozenset[str]) -> bool:
    """Tell whether a reversed name or one of its parents is in a set."""
    if labels in special:
        return True
    i = labels.find(".")
    while i >= 0:
        if labels[:i] in special:
            return True
        i = labels.find(".", i + 1)
    return False


def _domain(labels: str, found: BenignLists) -> bool:
    if not labels:
        return False
    if _special(labels, found.special_domains):
        return True
    if labels in found.top_domains:
        return True
    keep = registrable_labels(labels)
    if keep == 0:
        return False
    parts = labels.split(".")
    return any(".".join(parts[:n]) in found.top_domains for n in range(keep, len(parts)))


def _ip(kind: str, rest: str, found: BenignLists) -> bool:
    bits, width = (32, 8) if kind.endswith("4") else (128, 32)
    digits, slash, prefix = rest.partition("/")
    if len(digits) != width:
        return False
    try:
        first = int(digits, 16)
        length = int(prefix) if slash else bits
    except ValueError:
        return False
    if not 0 <= length <= bits:
        return False
    last = first | ((1 << (bits - length)) - 1)
    return (found.v4 if bits == 32 else found.v6).holds(first, last)


def _host(host: str, found: BenignLists) -> bool:
    kind, _, rest = host.partition(":")
    if kind == "dom":
        return _domain(rest, found)
    if kind in ("ip4", "ip6"):
        return _ip(kind, rest, found)
    return False


@lru_cache(maxsize=65536)
def is_benign(key: str) -> bool:
    """Tell whether a correlation key is benign (never probed, never matched)."""
    found = lists()
    kind, _, rest = key.partition(":")
    if kind in ("ip4", "ip6", "net4", "net6"):
        return _ip(kind, rest, found)
    if kind == "dom":
        return _domain(rest, found)
    if kind == "on":
        return _host(rest, found)
    if kind == "h":
        return rest.partition(":")[2].lower() in found.hashes
    if kind == "email":
        host = rest.rpartition("@")[2]
        if host.startswith("["):
            return False
        labels = _reversed_name(host)
        return labels is not None and _special(labels, found.special_domains)
    return False
