"""Correlation keys of STIX objects and of search strings (pacte.stix.values), and pattern comparisons."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacte.stix.patterns import PatternError, comparisons, pattern_problem
from pacte.stix.values import display, keys_for_value, keys_of
from stix.test_patterns import INVALID, VALID, pattern

MD5 = "D41D8CD98F00B204E9800998ECF8427E"
SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"


def ind(pattern_text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "pattern": pattern_text, **extra}


# ---- observables ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("obj", "keys"), [
    ({"type": "ipv4-addr", "value": "198.51.100.7"}, ("ip4:c6336407",)),
    ({"type": "ipv4-addr", "value": "198.51.100.7/32"}, ("ip4:c6336407",)),
    ({"type": "ipv4-addr", "value": "198.51.100.7/24"}, ("net4:c6336400/24",)),
    ({"type": "ipv4-addr", "value": "10.0.0.0/8"}, ("net4:0a000000/08",)),
    ({"type": "ipv4-addr", "value": "0.0.0.0/0"}, ("net4:00000000/00",)),
    ({"type": "ipv4-addr", "value": "2001:db8::1"}, ()),  # not an IPv4 address: no key, no error
    ({"type": "ipv4-addr", "value": "not an address"}, ()),
    ({"type": "ipv6-addr", "value": "2001:DB8::1"}, ("ip6:20010db8000000000000000000000001",)),
    ({"type": "ipv6-addr", "value": "2001:db8::/32"}, ("net6:20010db8000000000000000000000000/032",)),
    ({"type": "ipv6-addr", "value": "2001:db8::1/128"}, ("ip6:20010db8000000000000000000000001",)),
    ({"type": "domain-name", "value": "WWW.Example.COM."}, ("dom:com.example.www",)),
    ({"type": "domain-name", "value": "bücher.de"}, ("dom:de.xn--bcher-kva",)),
    ({"type": "domain-name", "value": "_dmarc.example.org"}, ("dom:org.example._dmarc",)),
    ({"type": "url", "value": "HTTPS://user:pw@WWW.Example.com:443/A/b?x=Y#frag"},
     ("on:dom:com.example.www", "url:https://www.example.com/A/b?x=Y")),
    ({"type": "url", "value": "http://Example.com"}, ("on:dom:com.example", "url:http://example.com/")),
    ({"type": "url", "value": "http://example.com:8080/p"}, ("on:dom:com.example", "url:http://example.com:8080/p")),
    ({"type": "url", "value": "http://[2001:DB8::1]:80/x"},
     ("on:ip6:20010db8000000000000000000000001", "url:http://[2001:db8::1]/x")),
    ({"type": "url", "value": "ftp://198.51.100.7:21/f"}, ("on:ip4:c6336407", "url:ftp://198.51.100.7/f")),
    ({"type": "url", "value": "http://münchen.de/Ä"}, ("on:dom:de.xn--mnchen-3ya", "url:http://xn--mnchen-3ya.de/Ä")),
    ({"type": "url", "value": "mailto:Bob@example.com"}, ("url:mailto:Bob@example.com",)),
    ({"type": "email-addr", "value": "Bob.Smith@Example.COM"}, ("email:bob.smith@example.com", "on:dom:com.example")),
    ({"type": "email-addr", "value": "x@[198.51.100.7]"}, ("email:x@198.51.100.7", "on:ip4:c6336407")),
    ({"type": "file", "hashes": {"MD5": MD5, "SHA-256": SHA256.upper(), "SSDEEP": "3:AbC:dEf"}},
     (f"h:md5:{MD5.lower()}", f"h:sha256:{SHA256}", "h:ssdeep:3:AbC:dEf")),
    ({"type": "file", "hashes": {"sha_256": SHA256, "SHA3-256": SHA256}}, (f"h:sha256:{SHA256}", f"h:sha3256:{SHA256}")),
    ({"type": "artifact", "hashes": {"SHA-1": "A" * 40}}, ("h:sha1:" + "a" * 40,)),
    ({"type": "x509-certificate", "hashes": {"SHA-256": SHA256}}, (f"h:sha256:{SHA256}",)),
    ({"type": "file", "name": "a.exe"}, ()),
    ({"type": "file", "hashes": "not a dict"}, ()),
    ({"type": "mac-addr", "value": "00:00:5e:00:53:af"}, ()),
    ({"type": "malware", "name": "x"}, ()),
    ({"value": "198.51.100.7"}, ()),
])
def test_observable_keys(obj: dict[str, Any], keys: tuple[str, ...]) -> None:
    assert keys_of(obj) == keys


def test_keys_are_sorted_and_distinct() -> None:
    keys = keys_of(ind("[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '198.51.100.7/32'"
                       " OR domain-name:value = 'b.example' OR domain-name:value = 'A.example']"))
    assert keys == ("dom:example.a", "dom:example.b", "ip4:c6336407")


# ---- indicators ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "keys"), [
    ("[ipv4-addr:value = '198.51.100.7']", ("ip4:c6336407",)),
    ("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", ("net4:c6336400/24",)),
    ("[ipv4-addr:value IN ('198.51.100.7', '198.51.100.8')]", ("ip4:c6336407", "ip4:c6336408")),
    ("[ipv4-addr:value NOT = '198.51.100.7']", ()),
    ("[ipv4-addr:value != '198.51.100.7' AND ipv4-addr:value <> '198.51.100.8']", ()),
    ("[ipv4-addr:value NOT IN ('198.51.100.7')]", ()),
    ("[domain-name:value LIKE '%.example.com' OR url:value MATCHES '^http']", ()),
    ("[domain-name:value ISSUPERSET 'example.com']", ()),
    ("[ipv4-addr:value = 'example.com']", ()),  # a value of the wrong kind for its type gives no key
    ("[domain-name:value = 'evil.example' AND domain-name:value NOT = 'good.example']", ("dom:example.evil",)),
    (f"[file:hashes.'SHA-256' = '{SHA256}'] AND [file:hashes.MD5 = '{MD5}'] WITHIN 60 SECONDS",
     (f"h:md5:{MD5.lower()}", f"h:sha256:{SHA256}")),
    (f"[file:hashes.SHA256 = '{SHA256}' OR artifact:hashes.'SHA3-256' = '{SHA256}']",
     (f"h:sha256:{SHA256}", f"h:sha3256:{SHA256}")),
    (f"[x509-certificate:hashes.'SHA-1' = '{'b' * 40}']", ("h:sha1:" + "b" * 40,)),
    ("[file:name = 'a.exe' AND file:size > 5]", ()),
    ("[url:value = 'HTTP://Evil.example/a']", ("on:dom:example.evil", "url:http://evil.example/a")),
    ("[email-addr:value = 'A@B.example']", ("email:a@b.example", "on:dom:example.b")),
    ("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
     ("ip4:cb007121",)),
    ("[network-traffic:src_ref.value = '2001:db8::5' OR network-traffic:dst_ref.value = 'c2.example']",
     ("dom:example.c2", "ip6:20010db8000000000000000000000005")),
    ("[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24']", ("net4:c6336400/24",)),
    ("[email-message:from_ref.value = 'Boss@Corp.example' AND email-message:to_refs[*].value = 'x@y.example']",
     ("email:boss@corp.example", "email:x@y.example", "on:dom:example.corp", "on:dom:example.y")),
    ("[domain-name:resolves_to_refs[*].value = '198.51.100.9']", ("ip4:c6336409",)),
    ("([ipv4-addr:value = '198.51.100.1'] OR [ipv6-addr:value = '2001:db8::/48']) FOLLOWEDBY "
     "[domain-name:value = 'x.example'] WITHIN 5 SECONDS",
     ("dom:example.x", "ip4:c6336401", "net6:20010db8000000000000000000000000/048")),
    ("[ipv4-addr:value = 5]", ()),
])
def test_indicator_keys(text: str, keys: tuple[str, ...]) -> None:
    assert pattern_problem(text) is None
    assert keys_of(ind(text)) == keys
    assert keys_of(ind(text, pattern_type="stix")) == keys


def test_other_pattern_languages_and_broken_indicators_give_no_keys() -> None:
    assert keys_of(ind("[ipv4-addr:value = '198.51.100.7']", pattern_type="snort")) == ()
    assert keys_of(ind("alert ip 198.51.100.7 any -> any any", pattern_type="snort")) == ()
    assert keys_of(ind("[ipv4-addr:value = '198.51.100.7'")) == ()  # invalid: no keys, no error
    assert keys_of(ind("(" * 5000 + "[a:b = 1]" + ")" * 5000)) == ()
    assert keys_of({"type": "indicator"}) == ()
    assert keys_of({"type": "indicator", "pattern": 5}) == ()


# ---- pattern comparisons -------------------------------------------------------------------------------

def test_comparisons_unquote_and_keep_positive_ones() -> None:
    found = comparisons("[a:'x y'.b[*].c = 'it\\'s' AND a:d NOT = 'n' AND a:e != 'n'] OR [b:f IN (1, 'two')]")
    assert [(c.object_type, c.path, c.operator, c.values) for c in found] == [
        ("a", ("x y", "b", None, "c"), "=", ("it's",)),
        ("b", ("f",), "IN", ("1", "two")),
    ]


@pytest.mark.parametrize("text", VALID)
def test_comparisons_of_every_valid_pattern(text: str) -> None:
    found = comparisons(text)
    assert all(c.operator != "!=" for c in found)


@pytest.mark.parametrize("text", INVALID)
def test_comparisons_refuse_what_the_recognizer_refuses(text: str) -> None:
    with pytest.raises(PatternError):
        comparisons(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pattern())
def test_comparisons_accept_exactly_the_valid_patterns(text: str) -> None:
    try:
        comparisons(text)
    except PatternError:
        assert pattern_problem(text) is not None
    else:
        assert pattern_problem(text) is None


# ---- search strings ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "keys"), [
    ("198.51.100.7", ("ip4:c6336407",)),
    (" 198.51.100.7\n", ("ip4:c6336407",)),
    ("198[.]51[.]100[.]7", ("ip4:c6336407",)),
    ("198.51.100.0/24", ("net4:c6336400/24",)),
    ("198.51.100.9/24", ("net4:c6336400/24",)),
    ("2001:db8::1", ("ip6:20010db8000000000000000000000001",)),
    ("[2001:db8::1]", ("ip6:20010db8000000000000000000000001",)),
    ("2001:db8::/32", ("net6:20010db8000000000000000000000000/032",)),
    ("hxxps://evil[.]example/a?b", ("on:dom:example.evil", "url:https://evil.example/a?b")),
    ("hXXp[://]evil(.)example", ("on:dom:example.evil", "url:http://evil.example/")),
    ("http://198.51.100.7:8080/x", ("on:ip4:c6336407", "url:http://198.51.100.7:8080/x")),
    ("Bob[at]Evil[.]example", ("email:bob@evil.example", "on:dom:example.evil")),
    ("mailto:bob@evil.example", ("email:bob@evil.example", "on:dom:example.evil")),
    (MD5, (f"h:md5:{MD5.lower()}",)),
    ("a" * 40, ("h:sha1:" + "a" * 40,)),
    (SHA256, (f"h:sha256:{SHA256}", f"h:sha3256:{SHA256}")),
    ("a" * 128, ("h:sha3512:" + "a" * 128, "h:sha512:" + "a" * 128)),
    ("96:AbCd/+:xYz", ("h:ssdeep:96:AbCd/+:xYz",)),
    ("Evil.Example", ("dom:example.evil",)),
    ("evil[.]example.", ("dom:example.evil",)),
    ("xn--bcher-kva.de", ("dom:de.xn--bcher-kva",)),
    ("bücher.de", ("dom:de.xn--bcher-kva",)),
    ("word", ()),
    ("1.2.3", ()),
    ("", ()),
    ("two words", ()),
    ("deadbeef", ()),
])
def test_search_strings(text: str, keys: tuple[str, ...]) -> None:
    assert keys_for_value(text) == keys


def test_a_search_string_finds_the_keys_of_the_object_it_names() -> None:
    for otype, value in [("ipv4-addr", "198.51.100.7"), ("ipv6-addr", "2001:db8::/64"),
                         ("domain-name", "www.example.org"), ("url", "https://Example.org:443/x#y"),
                         ("email-addr", "a@example.org")]:
        assert keys_for_value(value) == keys_of({"type": otype, "value": value})


# ---- display -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "shown"), [
    ("ip4:c6336407", "198.51.100.7"),
    ("ip6:20010db8000000000000000000000001", "2001:db8::1"),
    ("net4:c6336400/24", "198.51.100.0/24"),
    ("net6:20010db8000000000000000000000000/032", "2001:db8::/32"),
    ("dom:com.example.www", "www.example.com"),
    ("on:dom:com.example.www", "www.example.com"),
    ("on:ip4:c6336407", "198.51.100.7"),
    ("url:https://www.example.com/a", "https://www.example.com/a"),
    ("email:a@example.com", "a@example.com"),
    (f"h:sha256:{SHA256}", f"SHA-256 {SHA256}"),
    ("h:sha3256:ab", "SHA3-256 ab"),
    ("h:whirlpool:ab", "WHIRLPOOL ab"),
    ("ip4:zz", "ip4:zz"),
    ("nothing", "nothing"),
])
def test_display(key: str, shown: str) -> None:
    assert display(key) == shown


@given(st.ip_addresses(), st.integers(0, 128))
def test_display_inverts_network_keys(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, length: int) -> None:
    net = ipaddress.ip_network((addr, min(length, addr.max_prefixlen)), strict=False)
    (key,) = keys_for_value(str(net))
    assert ipaddress.ip_network(display(key)) == net


@given(st.text(max_size=60))
def test_search_strings_never_raise(text: str) -> None:
    for key in keys_for_value(text):
        assert display(key)


def test_keys_of_is_fast() -> None:
    import time
    objects = [{"type": "ipv4-addr", "value": "198.51.100.7"}, {"type": "url", "value": "https://a.example/x"},
               {"type": "relationship", "source_ref": "x"}, ind(f"[file:hashes.MD5 = '{MD5}']")]
    start = time.perf_counter()
    for _ in range(2000):
        for obj in objects:
            keys_of(obj)
    assert (time.perf_counter() - start) / 8000 < 100e-6  # generous: about 5 us a value, 50 us a pattern
