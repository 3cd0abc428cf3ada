"""Benign values (pacte.correlate.benign): shipped lists, the rule per key kind, and the operator's lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pacte.correlate import benign
from pacte.correlate.benign import DATA, FILES, is_benign
from pacte.stix.values import keys_for_value


@pytest.fixture(autouse=True)
def fresh_lists() -> Iterator[None]:
    benign.reset()
    yield
    benign.reset()


def keys(value: str) -> tuple[str, ...]:
    found = keys_for_value(value)
    assert found, value
    return found


@pytest.mark.parametrize("value", [
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.251",
    "239.255.255.250", "255.255.255.255", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1", "3fff::1",
    "10.0.0.0/8", "10.20.0.0/16", "192.168.0.0/16", "2001:db8::/48",
    "8.8.8.8", "1.1.1.1", "9.9.9.9", "2001:4860:4860::8888", "2606:4700:4700::1111",
])
def test_special_and_resolver_addresses_are_benign(value: str) -> None:
    assert all(is_benign(k) for k in keys(value))


@pytest.mark.parametrize("value", [
    "5.6.7.8", "8.8.8.9", "1.1.1.2", "45.33.32.156", "2a00:1450::1", "10.0.0.0/7", "172.0.0.0/8", "8.8.8.0/24",
    "11.0.0.1", "100.128.0.1", "192.169.0.1",
])
def test_ordinary_addresses_are_not(value: str) -> None:
    assert not any(is_benign(k) for k in keys(value))


def test_hosts_of_urls_follow_the_address_rule() -> None:
    assert is_benign("on:ip4:0a000001")
    assert not is_benign("on:ip4:05060708")
    assert is_benign("on:ip6:00000000000000000000000000000001")


@pytest.mark.parametrize("value", [
    "google.com", "mail.google.com", "www.microsoft.com", "a.b.c.wikipedia.org", "github.com", "github.io",
    "example.com", "www.example.org", "foo.test", "bar.localhost", "x.invalid", "printer.local",
    "router.home.arpa", "5.10.in-addr.arpa", "www.example",
])
def test_top_and_special_use_domains_are_benign(value: str) -> None:
    assert is_benign(keys(value)[0])
    assert is_benign("on:" + keys(value)[0])


@pytest.mark.parametrize("value", [
    "evil.com", "evil.github.io", "www.evil.github.io", "evil.duckdns.org", "evil.pages.dev", "google.evil.com",
    "googlecom.net", "evil.co.uk", "co.uk", "abcdefghijklmnop.onion",
])
def test_other_domains_are_not(value: str) -> None:
    assert not is_benign(keys(value)[0])


def test_special_use_top_level_names_are_benign_themselves() -> None:
    assert all(is_benign(f"dom:{name}") for name in ["localhost", "test", "invalid", "example", "local", "internal"])


def test_a_url_is_never_benign_even_on_a_benign_host() -> None:
    found = keys("https://www.google.com/search?q=x")
    assert [k for k in found if is_benign(k)] == ["on:dom:com.google.www"]
    assert not is_benign("url:http://10.0.0.1/")
    assert not is_benign("url:http://example.com/")


def test_email_is_benign_only_at_a_special_use_domain() -> None:
    assert is_benign(keys("bob@example.com")[0])
    assert is_benign(keys("root@localhost")[0])
    assert not is_benign(keys("bob@gmail.com")[0])
    assert not is_benign("email:x@[10.0.0.1]")


@pytest.mark.parametrize("k", [
    "h:md5:d41d8cd98f00b204e9800998ecf8427e", "h:sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "h:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "h:ssdeep:3::",
    "h:sha3256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # value rule, any algorithm
])
def test_empty_file_hashes_are_benign(k: str) -> None:
    assert is_benign(k)


def test_other_hashes_and_junk_are_not() -> None:
    for k in ["h:md5:" + "a" * 32, "h:sha256:" + "0" * 64, "", "x", "ip4:zz", "net4:0a000000/99", "dom:", "on:",
              "h:", "email:nobody"]:
        assert not is_benign(k), k


def test_the_shipped_lists_say_where_they_come_from() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme
    for name in FILES:
        text = (DATA / name).read_text(encoding="utf-8")
        assert text.startswith("#") and "MISP warninglists" in text, name
        assert name in readme
        assert len(text.encode()) < 100_000


def test_an_operator_extends_the_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not is_benign("dom:com.evil")
    (tmp_path / "top-domains.txt").write_text("# ours\nEvil.com  # a partner's site\n", encoding="utf-8")
    (tmp_path / "special-ip.txt").write_text("5.6.0.0/16\n", encoding="utf-8")
    (tmp_path / "empty-hashes.txt").write_text("A" * 32 + "\n", encoding="utf-8")
    monkeypatch.setenv("PACTE_BENIGN_DIR", str(tmp_path))
    benign.reset()
    assert is_benign("dom:com.evil.www")
    assert is_benign("ip4:05060708") and is_benign("net4:05060700/24") and not is_benign("net4:05000000/08")
    assert is_benign("h:md5:" + "a" * 32)
    assert is_benign("dom:com.google")  # the shipped lists still apply
    monkeypatch.delenv("PACTE_BENIGN_DIR")
    benign.reset()
    assert not is_benign("dom:com.evil.www")


def test_a_malformed_operator_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "public-dns.txt").write_text("not-an-address\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"public-dns\.txt"):
        benign.load(tmp_path)
