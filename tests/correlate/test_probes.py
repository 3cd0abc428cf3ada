"""Probes of correlation keys (pacte.correlate.probes): what each key looks up, and that the relation is symmetric."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacte.correlate.benign import is_benign
from pacte.correlate.probes import (
    INVERSE,
    REASONS,
    Probe,
    _all_probes,
    probes,
    reason_for,
    registrable_labels,
)
from pacte.stix.values import keys_for_value


def key(value: str) -> str:
    (k,) = [k for k in keys_for_value(value) if not k.startswith("on:")]
    return k


def exact(found: list[Probe]) -> dict[str, str]:
    return {p.key: p.reason for p in found if p.upper is None}


def ranges(found: list[Probe]) -> dict[tuple[str, str | None], str]:
    return {(p.key, p.upper): p.reason for p in found if p.upper is not None}


def test_an_address_finds_itself_its_supernets_and_urls_on_it() -> None:
    found = probes(key("5.6.7.8"))
    nets = {k: r for k, r in exact(found).items() if k.startswith("net4:")}
    assert exact(found)["ip4:05060708"] == "same-value"
    assert exact(found)["on:ip4:05060708"] == "on-address"
    assert set(nets.values()) == {"inside-range"}
    assert sorted(nets) == sorted(key(f"5.6.7.8/{n}") for n in range(8, 32))
    assert ranges(found) == {}


def test_a_network_finds_supernets_and_what_lies_inside() -> None:
    found = probes(key("5.6.7.0/24"))
    assert exact(found)[key("5.6.7.0/24")] == "same-value"
    assert {k for k, r in exact(found).items() if r == "inside-range"} == {key(f"5.6.7.0/{n}") for n in range(8, 24)}
    assert ranges(found) == {("ip4:05060700", "ip4:05060800"): "contains",
                             ("net4:05060700", "net4:05060800"): "contains",
                             ("on:ip4:05060700", "on:ip4:05060800"): "on-range"}


def test_the_last_network_ends_its_ranges_past_every_key_of_its_kind() -> None:
    found = _all_probes(key("255.255.0.0/16"))  # benign (reserved): probes() would give nothing
    assert ranges(found)[("ip4:ffff0000", "ip4;")] == "contains"
    assert Probe("ip4:ffff0000", "contains", "ip4;").covers("ip4:ffffffff")


def test_a_short_network_is_matched_by_its_exact_value_only() -> None:
    assert probes(key("5.0.0.0/7")) == [Probe("net4:04000000/07", "same-value")]
    assert probes(key("2a00::/15")) == [Probe("net6:2a000000000000000000000000000000/015", "same-value")]
    assert reason_for(key("5.6.7.8"), key("5.0.0.0/7")) is None


def test_ipv6_supernets_run_from_16_to_127() -> None:
    found = exact(probes(key("2a00:1450::1")))
    nets = [k for k in found if k.startswith("net6:")]
    assert len(nets) == 112
    assert key("2a00:1450::/32") in nets and key("2a00::/16") in nets and key("2a00::/15") not in nets


def test_a_domain_finds_subdomains_parents_down_to_the_registrable_domain_and_urls() -> None:
    found = probes("dom:uk.co.evil.a.b")
    assert exact(found) == {"dom:uk.co.evil.a.b": "same-value", "dom:uk.co.evil.a": "parent-domain",
                            "dom:uk.co.evil": "parent-domain", "on:dom:uk.co.evil.a.b": "on-domain"}
    assert ranges(found) == {("dom:uk.co.evil.a.b.", "dom:uk.co.evil.a.b/"): "subdomain",
                             ("on:dom:uk.co.evil.a.b.", "on:dom:uk.co.evil.a.b/"): "on-subdomain"}


@pytest.mark.parametrize("suffix", ["dom:uk.co", "dom:uk", "dom:app.vercel", "dom:com", "dom:jp.kawasaki.a"])
def test_a_public_suffix_gets_its_exact_probe_only(suffix: str) -> None:
    assert probes(suffix) == [Probe(suffix, "same-value")]


def test_private_suffixes_bound_the_parents() -> None:
    assert exact(probes("dom:io.github.evil.www")) == {
        "dom:io.github.evil.www": "same-value", "dom:io.github.evil": "parent-domain",
        "on:dom:io.github.evil.www": "on-domain"}
    assert reason_for("dom:io.github", "dom:io.github.evil") is None


def test_a_name_under_no_known_suffix_uses_the_default_rule() -> None:
    assert registrable_labels("zzunknown.corp.host") == 2
    assert exact(probes("dom:zzunknown.corp.host")) == {
        "dom:zzunknown.corp.host": "same-value", "dom:zzunknown.corp": "parent-domain",
        "on:dom:zzunknown.corp.host": "on-domain"}


def test_a_url_is_its_exact_value_and_its_host_key_carries_the_relations() -> None:
    keys = keys_for_value("http://www.evil.example.co.uk/x")
    url = next(k for k in keys if k.startswith("url:"))
    on = next(k for k in keys if k.startswith("on:"))
    assert probes(url) == [Probe(url, "same-value")]
    assert exact(probes(on)) == {"dom:uk.co.example.evil.www": "domain-of-url",
                                 "dom:uk.co.example.evil": "url-parent-domain",
                                 "dom:uk.co.example": "url-parent-domain"}
    on_ip = exact(probes("on:ip4:05060708"))
    assert on_ip["ip4:05060708"] == "address-of-url"
    assert on_ip[key("5.6.7.0/24")] == "url-inside-range"
    assert len(on_ip) == 1 + 24


def test_hashes_emails_and_unknown_keys() -> None:
    assert probes("h:sha256:" + "ab" * 32) == [Probe("h:sha256:" + "ab" * 32, "same-hash")]
    assert probes("email:bob@evil.com") == [Probe("email:bob@evil.com", "same-value")]
    for junk in ["", "x", "zz:1", "ip4:123", "ip4:zzzzzzzz", "net4:05060700/99", "net4:05060708/24", "ip4:05060708/24",
                 "dom:", "on:", "on:url:http://x/"]:
        assert probes(junk) == []


def test_benign_keys_are_not_probed_and_benign_exact_probes_are_left_out() -> None:
    assert probes(key("10.1.2.3")) == []
    assert probes("dom:com.google.mail") == []
    assert probes("h:md5:d41d8cd98f00b204e9800998ecf8427e") == []
    found = exact(probes(key("8.8.8.0/24")))
    assert found and all(not is_benign(k) for k in found)
    assert "dom:com.google" not in exact(probes("on:dom:com.google.evil"))  # benign parent left out


def test_reason_inverse_is_a_closed_involution() -> None:
    assert set(INVERSE) == REASONS == set(INVERSE.values())
    assert all(INVERSE[INVERSE[r]] == r for r in REASONS)


# ---- the relation is symmetric, and the probes find every related key ---------------------------------

_BYTES = st.sampled_from([5, 6, 128, 255, 0])


@st.composite
def ip_keys(draw: st.DrawFn) -> str:
    v6 = draw(st.booleans())
    if v6:
        value = (0x2A00 << 112) | (draw(_BYTES) << 104) | (draw(_BYTES) << 64) | draw(_BYTES)
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(value)
        lengths = [8, 15, 16, 17, 24, 64, 100, 120, 127, 128]
    else:
        addr = ipaddress.IPv4Address(bytes([5, draw(_BYTES), draw(_BYTES), draw(_BYTES)]))
        lengths = [0, 7, 8, 9, 16, 23, 24, 25, 31, 32]
    net = ipaddress.ip_network((addr, draw(st.sampled_from(lengths))), strict=False)
    (k,) = keys_for_value(str(net))
    if draw(st.booleans()) and k.startswith("ip"):
        return "on:" + k
    return k


_SUFFIXES = ["com", "co.uk", "uk", "github.io", "io", "kawasaki.jp", "city.kawasaki.jp", "zzunknown"]


@st.composite
def domain_keys(draw: st.DrawFn) -> str:
    labels = draw(st.lists(st.sampled_from(["a", "b", "www"]), max_size=3))
    name = ".".join([*labels, draw(st.sampled_from(_SUFFIXES))])
    k = "dom:" + ".".join(reversed(name.split(".")))
    return "on:" + k if draw(st.booleans()) else k


def other_keys() -> st.SearchStrategy[str]:
    return st.sampled_from(["url:http://a.com/", "email:x@a.com", "h:md5:" + "a" * 32, "h:sha1:" + "a" * 32])


keys = st.one_of(ip_keys(), domain_keys(), other_keys())


def matches(a: str, b: str) -> str | None:
    """What the caller does: probe a, drop benign keys, confirm range hits with reason_for."""
    if is_benign(b):
        return None
    for p in probes(a):
        if p.covers(b):
            reason = p.reason if p.upper is None else reason_for(a, b)
            if reason is not None:
                return reason
    return None


@settings(max_examples=3000, deadline=None)
@given(keys, keys)
def test_the_relation_is_symmetric_and_complete(a: str, b: str) -> None:
    forward, backward = matches(a, b), matches(b, a)
    assert (forward is None) == (backward is None), (a, b, forward, backward)
    if forward is not None:
        assert backward == INVERSE[forward]
        assert reason_for(a, b) == forward  # exact probes carry the reason reason_for gives
    if not is_benign(a) and not is_benign(b):
        assert reason_for(a, b) == forward  # every related key is reached by some probe


def test_the_generated_keys_do_relate() -> None:
    # The property above is not vacuous: the generators produce each kind of relation.
    pairs = [("ip4:05060708", "net4:05060000/16"), ("net4:05060000/16", "net4:05060700/24"),
             ("on:ip4:05060708", "net4:05000000/08"), ("dom:com.a", "dom:com.a.b.www"), ("dom:com.a", "on:dom:com.a.b"),
             ("on:dom:jp.kawasaki.city.a.b", "dom:jp.kawasaki.city.a")]
    assert [matches(a, b) for a, b in pairs] == ["inside-range", "contains", "url-inside-range", "subdomain",
                                                 "on-subdomain", "url-parent-domain"]
