"""Observable extraction: every defang form refanged, and every exclusion rule with its own test."""

from __future__ import annotations

import pytest

from pacte.analysis.observables import extract_observables, registrable_domain
from pacte.stix.defang import is_defanged, refang


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hxxp://evil.com/a", "http://evil.com/a"),
        ("hXXps://evil.com/a", "https://evil.com/a"),
        ("evil[.]com", "evil.com"),
        ("evil(.)com", "evil.com"),
        ("evil[dot]com", "evil.com"),
        ("bad[at]evil.com", "bad@evil.com"),
        ("hxxps[:]//evil.com", "https://evil.com"),
        ("2001:db8[:]1", "2001:db8:1"),
    ],
)
def test_refang_undoes_each_defang_form(raw: str, expected: str) -> None:
    assert refang(raw) == expected
    assert is_defanged(raw)


def test_plain_value_is_not_defanged() -> None:
    assert not is_defanged("evil.com")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("C2 at hxxp://malicious-cdn[.]net/gate.php today", "url", "http://malicious-cdn.net/gate.php"),
        ("Payload at hxxps[:]//weoleycastletaxis[.]co[.]uk/chao/cow.html", "url",
         "https://weoleycastletaxis.co.uk/chao/cow.html"),
        ("The domain badsite(.)top was used", "domain", "badsite.top"),
        ("The domain badsite[dot]top was used", "domain", "badsite.top"),
        ("Contact: team.ops[at]protonmail[.]com", "email", "team.ops@protonmail.com"),
        ("Beacon to 45[.]77.160.195 port 443", "ipv4", "45.77.160.195"),
        ("Beacon to 216.245.184[.]86 port 443", "ipv4", "216.245.184.86"),
        ("Scanner 2605:6400:20:9d:2d8c:6f33:f4db[:]ab02 seen", "ipv6", "2605:6400:20:9d:2d8c:6f33:f4db:ab02"),
        ("Uppercase MDASIDY72[.]LOL domain", "domain", "mdasidy72.lol"),
        ("Exploits CVE-2023-48788 in EMS", "cve", "CVE-2023-48788"),
        ("Uses cve-2021-44228 too", "cve", "CVE-2021-44228"),
        ("Technique T1574.002 then T1140.", "attack_technique", "T1574.002"),
        ("Technique T1574.002 then T1140.", "attack_technique", "T1140"),
        ("MD5: F585732E25A73B4B7D3DFF51EDAE1B30", "md5", "f585732e25a73b4b7d3dff51edae1b30"),
        ("SHA-1 481f30675ef71b0cecea32b227f0f930573459a7", "sha1", "481f30675ef71b0cecea32b227f0f930573459a7"),
        ("SHA256 0f06f11ae1a611ff4a415aec1540aebe2d9ce3a27ef5acff426d97bea1c8202a", "sha256",
         "0f06f11ae1a611ff4a415aec1540aebe2d9ce3a27ef5acff426d97bea1c8202a"),
        ("Send BTC to bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy now", "crypto_wallet",
         "bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy"),
        ("ETH: 0xc54e1f4E1aD38D892b28Acfb56e83951b61671D9", "crypto_wallet",
         "0xc54e1f4E1aD38D892b28Acfb56e83951b61671D9"),
        ("DOGE: DGcvTB4e2jdHZCeybysPULmLcN9gXWMZ84", "crypto_wallet", "DGcvTB4e2jdHZCeybysPULmLcN9gXWMZ84"),
        ("XRP: rVX5nzmkJRxZxf7hmhNGshAdXJHhzs6Jq", "crypto_wallet", "rVX5nzmkJRxZxf7hmhNGshAdXJHhzs6Jq"),
        ("Leak site shnyhntww34phqoa6dcgnvps2yu7dlwzmy5lkvejwjdo6z7bmgshzayd[.]onion", "domain",
         "shnyhntww34phqoa6dcgnvps2yu7dlwzmy5lkvejwjdo6z7bmgshzayd.onion"),
    ],
)
def test_extracts_and_refangs(text: str, kind: str, value: str) -> None:
    assert value in extract_observables(text).values(kind)


def test_evidence_offsets_point_at_the_raw_text() -> None:
    text = "see evil[.]com here"
    (obs,) = extract_observables(text).observables
    assert text[obs.start : obs.end] == "evil[.]com"
    assert obs.defanged


def test_domains_are_checked_against_the_public_suffix_list() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("korplug.po") is None
    assert extract_observables("see notadomain.zzzzz now").values("domain") == []


# Exclusion rules ---------------------------------------------------------------------------------


def test_rule_publisher_links_are_not_indicators() -> None:
    text = "Read https://blog.vendor.com/post and hxxps://blog.vendor[.]com/x and evil[.]com"
    ex = extract_observables(text, publisher_domains=["vendor.com"])
    assert ex.values("url") == []
    assert "https://blog.vendor.com/post" in ex.rejected_by("publisher-link")
    assert ex.values("domain") == ["evil.com"]


def test_rule_reference_hosts_are_not_indicators() -> None:
    ex = extract_observables("Source: https://twitter.com/someone/status/1 and http://evil-c2.xyz/a")
    assert ex.values("url") == ["http://evil-c2.xyz/a"]
    assert "https://twitter.com/someone/status/1" in ex.rejected_by("reference-host")


def test_rule_plain_links_in_a_defanged_report_are_references() -> None:
    ex = extract_observables("REFERENCE:\nhttps://news.site.org/a\n\nIOC: hxxp://bad[.]xyz/p")
    assert ex.values("url") == ["http://bad.xyz/p"]
    assert "https://news.site.org/a" in ex.references


def test_rule_links_in_a_references_section_are_references() -> None:
    text = "The actor used http://evil-c2.xyz/a for C2.\n\nReferences\nhttp://some-blog.net/post\n"
    ex = extract_observables(text)
    assert ex.values("url") == ["http://evil-c2.xyz/a"]
    assert "http://some-blog.net/post" in ex.rejected_by("reference-section")


@pytest.mark.parametrize("ip", ["10.1.2.3", "192.168.0.5", "172.16.4.4", "127.0.0.1", "169.254.1.1",
                                "192.0.2.10", "198.51.100.7", "203.0.113.9", "100.64.0.1", "0.0.0.0",
                                "224.0.0.1", "255.255.255.255"])
def test_rule_private_documentation_and_reserved_ipv4_are_not_indicators(ip: str) -> None:
    ex = extract_observables(f"Traffic to {ip} observed, and to 45.77.55.145")
    assert ex.values("ipv4") == ["45.77.55.145"]
    assert ip in ex.rejected_by("non-public-address")


def test_rule_documentation_and_private_ipv6_are_not_indicators() -> None:
    ex = extract_observables("Seen 2001:db8::1 and fe80::1:2 and fd00::5 and 2605:6400:20:9d::1")
    assert ex.values("ipv6") == ["2605:6400:20:9d::1"]
    assert len(ex.rejected_by("non-public-address")) == 3


def test_rule_documentation_domains_are_not_indicators() -> None:
    ex = extract_observables("Beacon to c2.example[.]com and host.test and evil[.]top")
    assert ex.values("domain") == ["evil.top"]
    assert "c2.example.com" in ex.rejected_by("documentation-domain")


@pytest.mark.parametrize("name", ["invoice.exe", "update.js", "readme.md", "Schedule.zip", "payload.py",
                                  "movie.mov", "setup.msi", "report.docx"])
def test_rule_file_names_that_look_like_domains_are_not_domains(name: str) -> None:
    ex = extract_observables(f"The dropper {name} was launched; C2 evil[.]top")
    assert ex.values("domain") == ["evil.top"]


def test_rule_file_name_label_marks_a_file() -> None:
    ex = extract_observables("Filename: loader.app")
    assert ex.values("domain") == []
    assert "loader.app" in ex.rejected_by("file-name")


def test_rule_file_paths_are_not_domains() -> None:
    ex = extract_observables(r"Dropped C:\Windows\Temp\tasks.so then /tmp/x.sh")
    assert ex.values("domain") == []


@pytest.mark.parametrize("name", ["Trojan.Win32.Agent.abc", "Backdoor.Win32.Agent.bz", "Win32/Korplug.PO",
                                  "JS/Kryptik.BIK", "Trojan:Win32/Wacatac.B", "HEUR.Trojan.Script.gen"])
def test_rule_antivirus_detection_names_are_not_domains(name: str) -> None:
    ex = extract_observables(f"ESET detects it as {name}.")
    assert ex.values("domain") == []


def test_rule_detection_name_rule_records_its_reason() -> None:
    ex = extract_observables("Detected as Backdoor.Win32.Agent.bz by the engine")
    assert "backdoor.win32.agent.bz" in ex.rejected_by("detection-name")


def test_rule_imphash_beside_a_file_hash_is_not_a_file_hash() -> None:
    text = ("- MD5 hash: f585732e25a73b4b7d3dff51edae1b30\n"
            "- Imphash: 0ddb00c7632b2d443b6293d9cc810a9b\n")
    ex = extract_observables(text)
    assert ex.values("md5") == ["f585732e25a73b4b7d3dff51edae1b30"]
    assert "0ddb00c7632b2d443b6293d9cc810a9b" in ex.rejected_by("non-file-hash")


def test_rule_hash_under_a_non_file_heading_is_not_a_file_hash() -> None:
    text = "SSH KEY:\n\n- 78166e8cd026f6f7fc612244e587c2565487f2635fc3d704987972ede619aef9\n\nSHA256 HASHES:\n\n" \
           "- 9098906159e0e4c845eb918886fadc2723f2a321281b8003e471f09140321f91\n"
    ex = extract_observables(text)
    assert ex.values("sha256") == ["9098906159e0e4c845eb918886fadc2723f2a321281b8003e471f09140321f91"]


def test_rule_eth_wallet_is_not_a_sha1() -> None:
    ex = extract_observables("BNB: 0xc54e1f4E1aD38D892b28Acfb56e83951b61671D9")
    assert ex.values("sha1") == []
    assert ex.values("crypto_wallet") == ["0xc54e1f4E1aD38D892b28Acfb56e83951b61671D9"]


def test_rule_hex_label_inside_a_domain_is_not_a_hash() -> None:
    ex = extract_observables("owkky.c8030120000007210000000025000000.0.v6.isavscan[.]biz")
    assert ex.values("md5") == []
    assert ex.values("domain") == ["owkky.c8030120000007210000000025000000.0.v6.isavscan.biz"]


def test_rule_obfuscated_octal_address_is_not_an_ipv4() -> None:
    ex = extract_observables("hxxp[:]//055[.]14942165:20201/setup.msi and 055.14.94.216")
    assert ex.values("ipv4") == []
    assert ex.values("url") == []


def test_rule_version_numbers_are_not_addresses() -> None:
    ex = extract_observables("Installed version 10.2.14.3 of the agent")
    assert ex.values("ipv4") == []
    assert "10.2.14.3" in ex.rejected_by("version-number")


def test_rule_capitalised_product_names_are_not_domains() -> None:
    ex = extract_observables("Built with ASP.NET and Node.JS; C2 evil[.]top")
    assert ex.values("domain") == ["evil.top"]


def test_rule_attack_ids_inside_urls_are_not_techniques() -> None:
    text = "Ref hxxps://github[.]com/atomics/T1546/T1546.md and T1059 used"
    assert extract_observables(text).values("attack_technique") == ["T1059"]


def test_rule_email_domain_is_not_a_separate_domain() -> None:
    ex = extract_observables("Sender team.managment@outlook[.]com")
    assert ex.values("email") == ["team.managment@outlook.com"]
    assert ex.values("domain") == []


def test_rule_handles_are_not_emails() -> None:
    assert extract_observables("first tweeted by @felixaime").values("email") == []


def test_url_stops_at_asciidoc_link_text() -> None:
    ex = extract_observables("See hxxps://bad[.]top/ajax[link text] now")
    assert ex.values("url") == ["https://bad.top/ajax"]


def test_url_trailing_punctuation_is_not_part_of_the_url() -> None:
    ex = extract_observables("Payload (hxxp://bad[.]top/a.exe).")
    assert ex.values("url") == ["http://bad.top/a.exe"]


def test_email_local_part_keeps_its_case_and_domain_is_lowered() -> None:
    assert extract_observables("From P0tr4h4s7a@Post.CZ today").values("email") == ["P0tr4h4s7a@post.cz"]


def test_rule_urls_on_documentation_domains_are_not_indicators_even_defanged() -> None:
    ex = extract_observables("regsvr32 /i:https[:]//www[.]example[.]com/malicious.sct and hxxp://bad[.]top/a")
    assert ex.values("url") == ["http://bad.top/a"]
    assert "https://www.example.com/malicious.sct" in ex.rejected_by("documentation-domain")


def test_rule_urls_on_link_local_or_private_addresses_are_not_indicators() -> None:
    ex = extract_observables("queries http[:]//169.254.169.254/latest/meta-data and http://10.0.0.5/x")
    assert ex.values("url") == []
    assert len(ex.rejected_by("non-public-address")) == 2


def test_rule_reverse_dns_identifiers_are_not_domains() -> None:
    ex = extract_observables("It installs a launch agent com.apple.updates.plist in ~/Library and com.apple")
    assert ex.values("domain") == []


def test_rule_dos_programs_are_not_domains() -> None:
    ex = extract_observables("The batch file runs net.com and more.com; C2 at evil[.]top")
    assert ex.values("domain") == ["evil.top"]


def test_rule_capitalised_names_are_not_domains_unless_defanged() -> None:
    ex = extract_observables("Freedesktop.org and Amazon.com were named; the C2 was Evil-Cdn[.]com")
    assert ex.values("domain") == ["evil-cdn.com"]


def test_rule_malware_named_t9000_is_not_a_technique() -> None:
    ex = extract_observables("The T9000 backdoor used T1059.001 and T1105.")
    assert ex.values("attack_technique") == ["T1059.001", "T1105"]


def test_the_word_at_is_not_a_defanged_at_sign() -> None:
    ex = extract_observables("The C2 at evil[.]top answered; mail bad [at] evil[.]top")
    assert ex.values("email") == ["bad@evil.top"]
    assert ex.values("domain") == ["evil.top"]


def test_rule_well_known_services_named_plainly_are_not_indicators() -> None:
    ex = extract_observables("Payloads were staged on pastebin.com and dropbox.com, then ksproxy.ax was loaded.")
    assert ex.values("domain") == []
    assert ex.rejected_by("reference-host") == ["pastebin.com", "dropbox.com"]


def test_rule_method_calls_are_not_domains() -> None:
    ex = extract_observables('req.open("POST", "/index.html"); hashArray.map(b => b) and evil[.]top')
    assert ex.values("domain") == ["evil.top"]
    assert "req.open" in ex.rejected_by("code-expression")


def test_rule_a_cut_copy_of_a_longer_hex_value_is_not_a_hash() -> None:
    full = "93f21756aeeb5a9547cc62dea8d58581b0da4f2328"
    ex = extract_observables(f'old: "{full[:40]} |  new: "{full}')
    assert ex.values("sha1") == []
    assert full[:40] in ex.rejected_by("truncated-copy")


def test_real_domain_named_beside_a_look_alike_is_no_indicator() -> None:
    text = ("-- Malicious domain exarnple-charity[.]org - Imitates Example Charity\n"
            "-- Real domain: example-charity[.]org\n")
    extraction = extract_observables(text)
    assert extraction.values("domain") == ["exarnple-charity.org"]
    assert extraction.rejected_by("legitimate-counterpart") == ["example-charity.org"]


def test_tail_of_a_host_the_domain_pattern_cannot_read_is_no_domain() -> None:
    extraction = extract_observables("Legitimate domain dl_files.qq[.]com and evil-cdn[.]net")
    assert extraction.values("domain") == ["evil-cdn.net"]
    assert extraction.rejected_by("partial-host") == ["qq.com"]


def test_plain_link_listed_with_reference_links_is_a_reference() -> None:
    text = ("- The group uses a custom loader.\n"
            "  -- https://www.trendmicro.com/en_us/research/23/c/some-post.html\n"
            "  -- https://www.example-news.com/threat-intelligence/group-tool-update\n\n"
            "- Payload served from https://evil-cdn.net/a/b.bin\n")
    extraction = extract_observables(text)
    assert extraction.values("url") == ["https://evil-cdn.net/a/b.bin"]
    assert "https://www.example-news.com/threat-intelligence/group-tool-update" in extraction.references
    assert extraction.rejected_by("reference-list") == [
        "https://www.example-news.com/threat-intelligence/group-tool-update"]


def test_bare_links_without_a_known_source_stay_indicators() -> None:
    text = "- https://evil-cdn.net/a.bin\n- https://bad-host.org/b.bin\n"
    assert extract_observables(text).values("url") == ["https://evil-cdn.net/a.bin", "https://bad-host.org/b.bin"]


def test_host_alone_in_a_list_of_hosts_is_an_indicator_whatever_its_case_or_fanging() -> None:
    text = ("See https://www.example-vendor.com/blog for details.\n\n== Domains\n\n"
            "* `++quiet-lark[.]com++`\n* `++lark365update.com++`\n* `Marshfen.top`\n* `dusk.harp[.]net`\n\n"
            "Read more at Marshfen.top or on example-vendor.com.\n")
    found = {o.value for o in extract_observables(text).observables if o.kind == "domain"}
    assert {"quiet-lark.com", "lark365update.com", "marshfen.top", "dusk.harp.net"} <= found
    assert "example-vendor.com" not in found
