"""New malware family names stated in indicator tables and sentences (one test per rule)."""

from __future__ import annotations

import pytest

from pacte.analysis.entities import find_entities, in_file_name, is_descriptor, is_sentence_initial_word
from pacte.analysis.families import (
    find_families,
    find_stated_families,
    find_table_families,
    is_coined_name,
    is_technical_token,
)
from pacte.analysis.knowledge import Knowledge


@pytest.mark.parametrize("name", ["SilverHarp", "MoonCrawlerGo", "QX4410", "TRIX77"])
def test_coined_names(name: str) -> None:
    assert is_coined_name(name)


@pytest.mark.parametrize("name", ["PowerShell", "PyInstaller", "GitHub", "Win32", "SHA256", "Base64",
                                  "X25519", "CrowdStrike", "Golden", "Loader"])
def test_words_products_technical_tokens_and_listed_organisations_are_not_coined(name: str) -> None:
    assert not is_coined_name(name)


@pytest.mark.parametrize("token", ["RSA-PSS", "ESMTPS", "C2 IP", "AES-256", "IPv6", "TLS1.3"])
def test_technical_tokens(token: str) -> None:
    assert is_technical_token(token)


def test_table_description_column_names_families() -> None:
    text = (
        "[options=\"header\"]\n|===\n|SHA-1 |Filename |Detection |Description\n"
        "|`0123456789ABCDEF0123456789ABCDEF01234567` |`a.exe` |Win32/Agent.A |SilverHarp\n"
        "|`1123456789ABCDEF0123456789ABCDEF01234567` |`b.dll` |Win32/Agent.B |QX4410 reverse shell.\n"
        "|`2123456789ABCDEF0123456789ABCDEF01234567` |`c.exe` |Win32/Agent.C |PyInstaller MoonCrawler.\n"
        "|`3123456789ABCDEF0123456789ABCDEF01234567` |`d.exe` |Win32/Agent.D |SilverHarp DropZone variant.\n"
        "|`4123456789ABCDEF0123456789ABCDEF01234567` |`e.exe` |Win32/Agent.E |Decrypted backdoor.\n"
        "|`5123456789ABCDEF0123456789ABCDEF01234567` |`f.exe` |Win32/Agent.F |FooBar config for the loader\n"
        "|`6123456789ABCDEF0123456789ABCDEF01234567` |`g.exe` |- |Trojanized MobiTerm\n"
        "|`7123456789ABCDEF0123456789ABCDEF01234567` |`h.exe` |- |Signed by NorthLock\n"
        "|`8123456789ABCDEF0123456789ABCDEF01234567` |`i.exe` |- |QUILLDROP loader.\n"
        "|`9123456789ABCDEF0123456789ABCDEF01234567` |`j.exe` |- |LEGITIMATE BINARY\n"
        "|===\n"
    )
    names = [f.name for f in find_table_families(text)]
    assert names == ["SilverHarp", "QX4410", "MoonCrawler", "SilverHarp", "QUILLDROP"]
    first = find_table_families(text)[0]
    assert text[first.start : first.end] == "SilverHarp"


def test_markdown_table_and_tables_without_hashes() -> None:
    md = "| SHA256 | Name |\n|---|---|\n| " + "a" * 64 + " | NightOwlet |\n"
    assert [f.name for f in find_table_families(md)] == ["NightOwlet"]
    assert find_table_families("| Country | Description |\n| France | SilverHarp |\n") == []


@pytest.mark.parametrize("sentence, name", [
    ("SilverHarp is a backdoor written in Go.", "SilverHarp"),
    ("MoonCrawler, a new C++ downloader that fetches", "MoonCrawler"),
    ("We found a stealer that we named QX4410 on the host.", "QX4410"),
    ("The attackers used NightOwlet (a.k.a. Owl) as the custom exfiltration tool.", "NightOwlet"),
])
def test_stated_families(sentence: str, name: str) -> None:
    assert [f.name for f in find_stated_families(sentence)] == [name]


@pytest.mark.parametrize("sentence", [
    "PowerShell is a tool that administrators use.",
    "CrowdStrike, a security vendor, reported the backdoor.",
    "GhostTeam is a group that uses a custom backdoor.",
    "Tuesday is a day when the loader runs.",
])
def test_no_family_without_a_statement(sentence: str) -> None:
    assert find_stated_families(sentence) == []


def test_new_families_are_malware_with_low_confidence() -> None:
    found = find_entities("SilverHarp, a new backdoor.", lang="en", knowledge=None, ner=False)
    assert [(e.kind, e.name, e.source) for e in found] == [("malware", "SilverHarp", "family-stated")]
    assert found[0].confidence < 60


def test_known_names_win_over_new_family_rule() -> None:
    kb = Knowledge.from_objects([{"type": "malware", "id": "malware--22222222-2222-4222-8222-222222222222",
                                  "name": "SilverHarp", "is_family": True}])
    found = find_entities("SilverHarp is a backdoor.", lang="en", knowledge=kb, ner=False)
    assert [(e.name, e.source) for e in found] == [("SilverHarp", "knowledge")]
    assert find_families("no names here") == []


def test_sentence_initial_adjective_before_a_malware_noun_is_no_name() -> None:
    text = "|Win32/Agent.VKT |Decrypted backdoor.\nThey deployed the Prestige ransomware."
    assert is_sentence_initial_word(text, text.index("Decrypted"), "Decrypted")
    assert not is_sentence_initial_word(text, text.index("Prestige"), "Prestige")
    names = {e.name for e in find_entities(text, lang="en", knowledge=None, ner=False) if e.kind == "malware"}
    assert "Decrypted" not in names and "Prestige" in names


def test_known_name_inside_a_file_name() -> None:
    text = r"Location: C:\Users\x\Downloads\1675.ps1 and sUpdater.exe; SUpdater.exe is the family's own name."
    assert in_file_name(text, text.index("ps1"), text.index("ps1") + 3)
    start = text.index("sUpdater")
    assert in_file_name(text, start, start + 8)
    start = text.index("SUpdater.exe is")
    assert in_file_name(text, start, start + 8)
    start = text.index("Users")
    assert not in_file_name(text, start, start + 5)
    kb = Knowledge.from_objects([
        {"type": "malware", "id": "malware--22222222-2222-4222-8222-222222222222", "name": "PS1", "is_family": True},
    ])
    assert find_entities(text, lang="en", knowledge=kb, ner=False) == []


def test_anchored_matches_equal_finditer() -> None:
    from pacte.analysis.entities import (
        _CAMPAIGN,
        _CAMPAIGN_WORDS,
        _MALWARE_BEFORE,
        _MALWARE_BEFORE_PHRASES,
        anchored_matches,
    )
    text = ("They used the ransomware LockFox and el ransomware Zeta; Operation Dusk and Операция Север; "
            "der Trojaner Kobold, the backdoor SilverHarp.") * 3
    for rx, literals, lower in ((_MALWARE_BEFORE, _MALWARE_BEFORE_PHRASES, True), (_CAMPAIGN, _CAMPAIGN_WORDS, False)):
        assert [m.span() for m in anchored_matches(rx, text, literals, lower)] == [m.span() for m in rx.finditer(text)]
    assert anchored_matches(_CAMPAIGN, "İİ Operation Dusk", _CAMPAIGN_WORDS, lower=True)[0].group("name") == "Dusk"


@pytest.mark.parametrize("sentence", [
    "They used a Golang backdoor.", "A new Russian malware spreads.", "It drops an ISO dropper first.",
    "It is a .NET loader.", "They deploy the Cobalt Strike loader.", "It is a Discord stealer.",
    "They planted a FortiGate backdoor.",
])
def test_descriptors_before_a_malware_noun_are_no_names(sentence: str) -> None:
    assert [e for e in find_entities(sentence, lang="en", knowledge=None, ner=False) if e.kind == "malware"] == []


def test_a_name_after_a_determiner_or_opening_a_sentence_still_counts() -> None:
    for sentence in ("They deploy the Kaiten botnet.", "Kaiten botnet spreads.", "APT uses the Zebrocy downloader."):
        names = [e.name for e in find_entities(sentence, lang="en", knowledge=None, ner=False) if e.kind == "malware"]
        assert names and names[-1] in ("Kaiten", "Zebrocy")
    assert not is_descriptor("the Kaiten botnet", 4, "Kaiten")


def test_known_family_named_by_its_class_is_no_mention() -> None:
    kb = Knowledge.from_objects([{"type": "malware", "id": "malware--22222222-2222-4222-8222-222222222222",
                                  "name": "Wiper", "is_family": True}])
    assert find_entities("Der Wiper löschte Daten.", lang="de", knowledge=kb, ner=False) == []
