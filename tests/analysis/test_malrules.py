"""Precision rules for malware and tool names (made-up names; one test per rule)."""

from __future__ import annotations

import pytest

from pacte.analysis.families import find_stated_families
from pacte.analysis.knowledge import Knowledge
from pacte.analysis.malrules import in_detection_name, is_network_service, is_unlikely_statement


@pytest.mark.parametrize("text", [
    "| x.exe | Win64/Riskware.Quuxkatz.H | loader |", "Trojan:Win32/Quuxkatz.A!dha", "HEUR:Trojan.Win32.Quuxkatz.gen",
    "detected as Python/Agent.Quuxkatz.", "Backdoor.Win64.Quuxkatz.a",
])
def test_names_inside_detection_names(text: str) -> None:
    start = text.index("Quuxkatz")
    assert in_detection_name(text, start, start + 8)


@pytest.mark.parametrize("text", ["the Quuxkatz backdoor", "c:/tools/Quuxkatz.exe", "Quuxkatz.", "Quuxkatz/2.0 agent"])
def test_names_outside_detection_names(text: str) -> None:
    start = text.index("Quuxkatz")
    assert not in_detection_name(text, start, start + 8)


def test_known_tool_before_network_word_names_the_network() -> None:
    text = "servers that were part of the Zorro network and Zorro exit nodes; the Zorro implant"
    assert is_network_service(text, text.index("Zorro") + 5)
    assert is_network_service(text, text.index("Zorro exit") + 5)
    assert not is_network_service(text, text.index("Zorro implant") + 5)


@pytest.mark.parametrize(("phrase", "after"), [
    ("is a legitimate remote access tool", " that attackers abuse"),
    (", a benign tool", " by its vendor"),
    (", a whitehat malware", " research group, found it"),
    ("is a ransomware", " group that leaks data"),
    ("is a plugin", " of DarkHarp which loads"),
])
def test_unlikely_statements(phrase: str, after: str) -> None:
    assert is_unlikely_statement(phrase, after)


@pytest.mark.parametrize(("phrase", "after"), [
    ("is an open-source ransomware", " written in C#"),
    ("is a custom tool", " used by Grey Heron"),
    ("is a commercial malware", " sold on forums"),
    ("is a new backdoor", " that reads commands"),
])
def test_statements_of_families_stay(phrase: str, after: str) -> None:
    assert not is_unlikely_statement(phrase, after)


def test_stated_families_skip_legitimate_tools_and_groups() -> None:
    text = ("QuillDesk is a legitimate remote access tool. MossBear, a malware research group, wrote about it. "
            "PinkLotus is a ransomware group. DuskHarp is a new backdoor.")
    assert [f.name for f in find_stated_families(text)] == ["DuskHarp"]


def test_heading_over_hashes_or_repeated_in_detections_names_a_family() -> None:
    from pacte.analysis.families import find_heading_families

    text = ("= Indicators\n\n== Samples\n\n==== DuskHarp\n\n----\n" + "ab" * 20 + "\n----\n\n"
            "== Marblewort\n\n=== ESET detection names\n\n- MSIL/Marblewort.A\n\n"
            "== Network\n\n==== QuillDesk\n\nA legitimate tool.\n\n== Samples\n\n=== Summary\n\n----\n" + "cd" * 20 + "\n")
    assert [f.name for f in find_heading_families(text)] == ["DuskHarp", "Marblewort"]


def test_cell_names_its_family_after_a_dash() -> None:
    from pacte.analysis.families import find_table_families, is_dash_named

    assert is_dash_named("Grey Heron downloader - ", " v2.")
    assert not is_dash_named("Fake installer - ", "")
    assert not is_dash_named("Grey Heron downloader - ", " config file")
    text = ("|SHA-1 |Filename |Description\n"
            f"|`{'AB' * 20}` |`a.exe` |Grey Heron downloader - DuskHarp\n"
            f"|`{'CD' * 20}` |`b.exe` |MoonLark reverse tunnel.\n\n")
    assert [f.name for f in find_table_families(text)] == ["DuskHarp", "MoonLark"]


@pytest.mark.parametrize(("name", "coined"), [("QXDown", True), ("ZVAgent", True), ("HTTPServer", False),
                                              ("DNSQuery", False)])
def test_initialism_and_word_is_coined_unless_a_protocol(name: str, coined: bool) -> None:
    from pacte.analysis.families import is_coined_name

    assert is_coined_name(name) is coined


def _word_family_kb() -> Knowledge:
    return Knowledge.from_objects([
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000011", "name": "Garden"},
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000012", "name": "Window"},
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000013", "name": "QuillHarp"},
    ])


@pytest.mark.parametrize("text", [
    "The actor deployed the Garden backdoor after the attack.",
    "A macro dropping Garden was seen in this attack.",
    "Malware samples:\n| `a.exe` | Win32/X.A | Garden\n",
    "The group's attack used QuillHarp, Garden and other tools.",
    "The attack installed Garden, which the group's ransomware then used.",
])
def test_ordinary_word_family_named_beside_a_malware_noun_or_in_a_list(text: str) -> None:
    assert "Garden" in {m.surface for m in _word_family_kb().match(text)}


@pytest.mark.parametrize("text", [
    "The group behind the attack met in a Garden near the ministry.",
    "Threat actors attacked the Window manufacturer; the group was named after it.",
])
def test_ordinary_word_family_without_a_malware_noun_nearby_is_no_mention(text: str) -> None:
    assert not {m.surface for m in _word_family_kb().match(text)} & {"Garden", "Window"}


def test_weak_noun_statement_needs_a_second_cue() -> None:
    from pacte.analysis.malrules import needs_second_cue

    once = "QuillSync is a tool used to copy files to the cloud."
    assert needs_second_cue("is a tool", "QuillSync", once)
    assert not needs_second_cue("is a custom tool", "QuillSync", once)
    assert not needs_second_cue("is a hack tool", "QuillSync", once)
    assert not needs_second_cue("is a remote administration tool", "QuillSync", once, " (RAT) which")
    assert not needs_second_cue("is a tool", "QuillSync", once + " QuillSync ran twice.")
    assert not needs_second_cue("is a backdoor", "QuillSync", once)
    assert [f.name for f in find_stated_families(once)] == []


def test_operation_names_and_longer_names() -> None:
    from pacte.analysis.malrules import ends_a_longer_name, names_an_operation

    text = "During Operation Garden the group used tools. | Marble Heron backdoor. | Marble Heron wrote it."
    assert names_an_operation(text, text.index("Garden"))
    assert ends_a_longer_name(text, text.index("Heron"), "Heron")
    assert not ends_a_longer_name("| Decrypted Quill backdoor.", 12, "Quill")
